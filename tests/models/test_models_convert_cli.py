"""`edgerppg convert` on reference-layout files: wrappers, prefixes, the report, and one-line refusals of bad files
(no output file left behind); every command that takes a checkpoint points a .pth at `edgerppg convert`."""

import hashlib
import json
import os

import pytest
import torch
from cli_runner import cli
from reflayout import SEED, randomise, rppgnet_layout, stven_layout

from edgerppg.models import load_checkpoint

SMALL = ["--frames", "4", "--size", "16"]


@pytest.fixture(scope="module")
def stven_sd():
    return randomise(stven_layout(2, 5, 2), SEED)


class Evil:
    """Unpickling this runs a shell command that creates a file (it must never run)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("wrap", ["plain", "state_dict", "model_state_dict", "model", "net", "generator", "G",
                                  "nested"])
def test_convert_unwraps_and_strips_module_prefixes(tmp_path, stven_sd, capsys, wrap):
    sd = {f"module.{k}": v for k, v in stven_sd.items()}
    obj = sd if wrap == "plain" else {"checkpoint": {"state_dict": sd}, "epoch": 4} if wrap == "nested" \
        else {wrap: sd, "optimizer": {"lr": 1e-3}, "epoch": 4}
    torch.save(obj, tmp_path / "g.pth")
    out = tmp_path / "s.safetensors"
    assert cli(["convert", tmp_path / "g.pth", "--model", "stven", "--out", out, *SMALL, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["report"]
    assert report["counts"] == {"loaded": len(sd), "kept": 0, "dropped": 0, "unused": 0}
    src = report["files"][0]
    assert src["prefix_stripped"] == 1 and src["wrapper"] == {"plain": None, "nested": "checkpoint.state_dict"}.get(wrap, wrap)
    model, manifest = load_checkpoint(out, expect="stven")
    assert manifest["converted"]["files"][0]["sha256"] == hashlib.sha256((tmp_path / "g.pth").read_bytes()).hexdigest()
    assert manifest["arch"]["blocks"] == [[36, 16]] * 2 and manifest["clip"]["frames"] == 4
    assert torch.equal(model.state_dict()["blocks.1.spatial.norm.running_var"], stven_sd["down3Dmain.10.bn.running_var"])


def test_convert_cascade_and_report(tmp_path, stven_sd, capsys):
    torch.save(stven_sd, tmp_path / "s.pth")
    r_sd = randomise(rppgnet_layout(), SEED)
    torch.save(r_sd, tmp_path / "r.pkl")
    out = tmp_path / "c.safetensors"
    argv = ["convert", "--model", "cascade", "--stven", tmp_path / "s.pth", "--rppgnet", tmp_path / "r.pkl",
            "--out", out, "--frames", "4", "--size", "32", "--input", "bgr255", "--best-label", "3"]
    assert cli(argv) == 0
    assert "exact" in capsys.readouterr().out
    model, manifest = load_checkpoint(out, expect="cascade")
    conv = manifest["converted"]
    assert conv["exact"] and conv["labels"] == [3, 0, 1, 2, 4] and [f["network"] for f in conv["files"]] == ["stven", "rppgnet"]
    assert conv["input"] == {"order": "bgr", "scale": 1.0, "offset": 0.0, "preset": "bgr255"}
    assert manifest["clip"]["order"] == "bgr" and model.clip.scale == 1.0
    # ConvSpa and ConvPart1 (weight, bias) are unused by the reference; ConvSpa11 also fills part_heads.0
    assert conv["counts"] == {"loaded": len(stven_sd) + len(r_sd) - 4 + 2, "kept": 0, "dropped": 4, "unused": 4}


def test_differences_refused_unless_accepted_and_then_recorded(tmp_path, stven_sd, capsys):
    sd = {k: v for k, v in stven_sd.items() if k != "down3Dmain.1.running_var"}
    sd["extra.weight"] = torch.zeros(2)
    torch.save(sd, tmp_path / "g.pth")
    out = tmp_path / "s.safetensors"
    assert cli(["convert", tmp_path / "g.pth", "--model", "stven", "--out", out, *SMALL]) == 2
    err = capsys.readouterr().err
    assert "would differ from the reference" in err and "--accept-differences" in err and not out.exists()
    assert cli(["convert", tmp_path / "g.pth", "--model", "stven", "--out", out, *SMALL, "--accept-differences"]) == 0
    conv = load_checkpoint(out)[1]["converted"]
    assert not conv["exact"] and len(conv["differences"]) == 2
    assert any("enc1.norm.running_var" in d for d in conv["differences"])
    assert any("extra.weight" in d for d in conv["differences"])


def _bad_files(tmp_path, stven_sd):
    marker = tmp_path / "pwned"
    torch.save({"state_dict": {"a": Evil(marker)}}, tmp_path / "evil.pth")
    torch.save(torch.nn.Conv3d(2, 2, 1), tmp_path / "whole.pth")
    torch.save(stven_sd, tmp_path / "ok.pth")
    data = (tmp_path / "ok.pth").read_bytes()
    (tmp_path / "trunc.pth").write_bytes(data[: len(data) // 2])
    torch.save({"weights_v2": stven_sd}, tmp_path / "wrapped.tar")
    return marker, {
        "evil.pth": ("stven", "would run code"),
        "whole.pth": ("stven", "pickled Python object"),
        "ok.pth": ("rppgnet", "pass --model stven"),
        "trunc.pth": ("stven", "truncated"),
        "wrapped.tar": ("stven", "pass --key NAME"),
    }


def test_bad_files_are_one_line_exit_2_and_leave_nothing(tmp_path, stven_sd, capsys):
    marker, cases = _bad_files(tmp_path, stven_sd)
    for name, (model, text) in cases.items():
        before = set(os.listdir(tmp_path))
        assert cli(["convert", tmp_path / name, "--model", model, "--out", tmp_path / "o.safetensors", *SMALL]) == 2
        err = capsys.readouterr().err.strip()
        assert text in err and len(err.splitlines()) == 1 and "Traceback" not in err, (name, err)
        assert set(os.listdir(tmp_path)) == before, name
    assert not marker.exists()  # the code-executing pickle never ran


def test_every_checkpoint_command_names_the_converter(tmp_path, stven_sd, capsys):
    torch.save(stven_sd, tmp_path / "g.pth")
    assert cli(["synth", tmp_path / "data", "--subjects", "1", "--seconds", "3", "--size", "32"]) == 0
    video = next((tmp_path / "data").rglob("*.avi"), None) or next((tmp_path / "data").rglob("*.mp4"))
    ckpt, data = tmp_path / "g.pth", tmp_path / "data"
    commands = [
        ["export", ckpt, "--out", tmp_path / "x"],
        ["hr", video, "--model", ckpt],
        ["train", "rppgnet", "--data", data, "--out", tmp_path / "t.safetensors", "--init", ckpt, "--epochs", "1"],
        ["prune", ckpt, "--recipe", "recipes/magnitude-10x.yaml", "--data", data, "--out", tmp_path / "p.safetensors"],
        ["bench", ckpt],
        ["eval", "--data", data, "--model", ckpt],
    ]
    capsys.readouterr()
    for argv in commands:
        assert cli(argv) == 2, argv[0]
        err = capsys.readouterr().err.strip()
        assert f"edgerppg convert {ckpt} --model stven --out g.safetensors" in err.replace("\n", ""), (argv[0], err)


def test_convert_never_replaces_what_edgerppg_did_not_write(tmp_path, stven_sd, capsys):
    torch.save(stven_sd, tmp_path / "g.pth")
    notes = tmp_path / "notes.safetensors"
    notes.write_text("someone's file")
    args = ["convert", tmp_path / "g.pth", "--model", "stven", *SMALL]
    assert cli([*args, "--out", notes]) == 2
    assert "--overwrite" in capsys.readouterr().err and notes.read_text() == "someone's file"
    assert cli([*args, "--out", tmp_path / "g.pth", "--overwrite"]) == 2  # its own input, even with --overwrite
    assert "is an input of this command" in capsys.readouterr().err
    assert cli([*args, "--out", notes, "--overwrite"]) == 0
    assert cli([*args, "--out", notes]) == 0  # now an edgerppg checkpoint: replacing it is allowed
    assert cli([*args, "--fps", "nan", "--out", tmp_path / "x.safetensors"]) == 2
    assert "--fps nan" in capsys.readouterr().err and not (tmp_path / "x.safetensors").exists()
