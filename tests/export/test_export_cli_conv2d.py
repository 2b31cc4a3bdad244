"""`edgerppg export --no-conv2d` keeps the 3D graph; the default records the 2D rewrite in the manifest."""

import json

import pytest

from edgerppg.cli.main import main
from edgerppg.models import create_model, save_checkpoint
from edgerppg.spec import ClipSpec


@pytest.mark.parametrize("flag", [[], ["--no-conv2d"]])
def test_export_cli_conv2d_flag(tmp_path, capsys, flag):
    ckpt = tmp_path / "r.safetensors"
    save_checkpoint(ckpt, create_model("rppgnet", "tiny", clip=ClipSpec(frames=48, height=32, width=32).to_dict()))
    with pytest.raises(SystemExit) as code:
        main(["export", str(ckpt), "--out", str(tmp_path / "out"), "--json", *flag])
    assert code.value.code == 0
    manifest = json.loads(capsys.readouterr().out)
    rewrite = manifest.get("rewrite")
    assert (rewrite["type"] == "none") if flag else (rewrite["type"] == "conv2d" and rewrite["frame_convs"] > 0)
