"""Core helpers: registry errors, atomic writes, clip spec, compression labels, CLI error handling."""

import json

import pytest

from edgerppg.atomic import atomic_dir, atomic_path, write_json
from edgerppg.errors import EdgeRPPGError, require
from edgerppg.registry import Registry
from edgerppg.spec import ClipSpec, compression_label


def test_registry_lists_choices_on_unknown_name():
    reg = Registry("widget")
    reg.register("a")(1)
    assert reg.get("a") == 1 and reg.names() == ["a"]
    with pytest.raises(EdgeRPPGError, match="unknown widget 'b'; choose one of: a"):
        reg.get("b")


def test_atomic_path_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_atomic_dir_replaces_whole(tmp_path):
    target = tmp_path / "art"
    with atomic_dir(target) as d:
        (d / "a").write_text("1")
    with pytest.raises(ValueError):
        with atomic_dir(target) as d:
            (d / "b").write_text("2")
            raise ValueError
    assert [p.name for p in target.iterdir()] == ["a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art"]


def test_write_json_numpy(tmp_path):
    import numpy as np

    write_json(tmp_path / "m.json", {"x": np.float32(1.5), "y": np.arange(2)})
    assert json.loads((tmp_path / "m.json").read_text()) == {"x": 1.5, "y": [0, 1]}


def test_clip_spec_roundtrip_and_unknown_key():
    spec = ClipSpec(frames=32, height=64, width=64)
    assert ClipSpec.from_dict(spec.to_dict()) == spec
    assert spec.shape(2) == (2, 3, 32, 64, 64)
    with pytest.raises(EdgeRPPGError, match="unknown keys"):
        ClipSpec.from_dict({"frames": 3, "depth": 1})


@pytest.mark.parametrize("group,label", [("raw", 0), ("x264-1000k", 1), ("x265-500k", 2), ("mpeg4-250k", 3), ("x264-300k", 3)])
def test_compression_label(group, label):
    assert compression_label(group) == label


def test_require_names_extra():
    with pytest.raises(EdgeRPPGError, match=r"pip install 'edgerppg\[trt\]'"):
        require("definitely_not_a_module_xyz", "trt")


def test_cli_user_error_is_one_line(capsys):
    from edgerppg.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["env", "--no-such-flag"])
    assert exc.value.code == 2
