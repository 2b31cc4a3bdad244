"""`edgerppg train` end to end on a tiny synthetic dataset: rPPGNet, then joint STVEN through it (cascade)."""

import json

import pytest
import torch

from edgerppg.cli.main import main
from edgerppg.models import load_checkpoint


@pytest.fixture(scope="module")
def synth_data(tmp_path_factory):
    from edgerppg.data.synth import synthesize

    out = tmp_path_factory.mktemp("train-e2e") / "data"
    synthesize(out, subjects=3, seconds=2.2, size=64, codecs=["raw", "x264"], bitrates=["250k"], seed=3)
    return out


def _train(capsys, *argv):
    with pytest.raises(SystemExit) as exc:
        main(["train", *map(str, argv), "--json"])
    captured = capsys.readouterr()
    assert exc.value.code in (0, None), captured.err
    return json.loads(captured.out)


@pytest.mark.slow
def test_rppgnet_then_joint(synth_data, tmp_path, capsys):
    rppg = tmp_path / "rppgnet.safetensors"
    res = _train(capsys, "rppgnet", "--data", synth_data, "--out", rppg, "--epochs", "1", "--val-fraction", "0.34")
    assert res["model"] == "rppgnet" and len(res["history"]) == 1 and len(res["val_subjects"]) == 1
    assert res["best"]["metric"] == "val_mae_bpm" and res["best"]["value"] >= 0
    model, manifest = load_checkpoint(rppg, expect="rppgnet")
    assert manifest["training"]["groups"] == ["raw"]  # rPPGNet learns from the original videos
    assert manifest["metrics"]["val_mae_bpm"] == pytest.approx(res["best"]["value"])
    assert not set(manifest["training"]["val_subjects"]) & set(manifest["training"]["train_subjects"])
    again = _train(capsys, "rppgnet", "--data", synth_data, "--out", rppg, "--epochs", "1", "--val-fraction", "0.34")
    assert again["history"] == res["history"]  # resumed from the finished state: nothing re-trained

    joint = tmp_path / "cascade.safetensors"
    res = _train(capsys, "joint", "--data", synth_data, "--init", rppg, "--out", joint, "--epochs", "1",
                 "--val-fraction", "0.34")
    cascade, manifest = load_checkpoint(joint, expect="cascade")
    assert manifest["training"]["groups"] == ["x264-250k"]
    for key, value in model.state_dict().items():  # rPPGNet was frozen: its weights are unchanged
        assert torch.equal(cascade.rppgnet.state_dict()[key], value), key
    # --groups: the originals are read as pair partners either way, but are inputs only when named
    for groups, learned in (("x264-250k", ["x264-250k"]), ("raw,x264-250k", ["raw", "x264-250k"])):
        out = tmp_path / f"cascade-{len(learned)}.safetensors"
        _train(capsys, "joint", "--data", synth_data, "--init", rppg, "--out", out, "--epochs", "1",
               "--val-fraction", "0.34", "--groups", groups)
        assert load_checkpoint(out, expect="cascade")[1]["training"]["groups"] == learned, groups


def test_cosine_schedule_from_the_command_line(synth_data, tmp_path, capsys):
    out = tmp_path / "rppgnet.safetensors"
    _train(capsys, "rppgnet", "--data", synth_data, "--out", out, "--epochs", "1", "--val-fraction", "0.34",
           "--schedule", "cosine")
    assert load_checkpoint(out, expect="rppgnet")[1]["training"]["schedule"] == "cosine"
    with pytest.raises(SystemExit) as exc:
        main(["train", "rppgnet", "--data", str(synth_data), "--out", str(tmp_path / "x.safetensors"),
              "--schedule", "step"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "unknown learning-rate schedule 'step'; choose one of constant, cosine" in err
    assert not (tmp_path / "x.safetensors").exists()
