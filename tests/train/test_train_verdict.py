"""`edgerppg train` ends with a verdict: validation MAE against POS and the constant guess on the same windows."""

import json

import pytest

from edgerppg.cli.main import main
from edgerppg.models import load_checkpoint
from edgerppg.train.kinds import KINDS
from edgerppg.train.run import TrainSpec
from edgerppg.train.verdict import WORKING, verdict

BASE = {"method": "pos", "pos_mae": 8.5, "constant_mae": 28.7, "guess_bpm": 74.0, "windows": 30}


def spec(**kw):
    return TrainSpec(**{"kind": "rppgnet", "data": "d", "out": "m.safetensors", "variant": "tiny", "epochs": 10,
                        "lr": 1e-4, **kw})


def test_a_model_that_loses_to_pos_did_not_converge_and_is_told_what_to_change():
    v = verdict(43.0, BASE, spec())
    assert not v["converged"] and v["val_mae"] == 43.0 and v["pos_mae"] == 8.5 and v["constant_mae"] == 28.7
    assert v["message"].startswith("did not converge: val MAE 43.00 vs POS 8.50, constant guess 28.70 bpm "
                                   "(no better than the constant guess); try --lr 0.001, more --epochs (e.g. 20)")
    assert "--variant small" in v["message"]
    json.dumps(v)
    tuned = verdict(12.0, BASE, spec(lr=WORKING["lr"], epochs=15, variant="small"))
    assert "--lr" not in tuned["message"] and "constant guess)" not in tuned["message"]
    assert "more --epochs (e.g. 30)" in tuned["message"] and "--variant" not in tuned["message"]
    assert "--init rPPGNet that beats POS" in verdict(12.0, BASE, spec(kind="joint"))["message"]


def test_a_model_that_beats_pos_converged_and_no_baseline_gives_no_verdict():
    v = verdict(3.2, BASE, spec())
    assert v["converged"] and v["message"] == ("converged: val MAE 3.20 vs POS 8.50, constant guess 28.70 bpm "
                                               "(30 validation windows)")
    assert verdict(3.2, None, spec()) is None and verdict(None, BASE, spec()) is None


def test_default_learning_rate_is_the_one_that_trains_for_each_kind():
    assert KINDS.get("rppgnet").default_lr == WORKING["lr"] == 1e-3  # from scratch
    assert KINDS.get("joint").default_lr == KINDS.get("stven").default_lr == 1e-4  # the paper's


def _train_one_epoch(tmp_path, capsys, kind: str, out, **synth) -> dict:
    """`edgerppg train KIND --json` for one epoch on 3 tiny synthetic subjects (1 validates): its summary."""
    from edgerppg.data.synth import synthesize

    data = tmp_path / "d"
    synthesize(data, subjects=3, seconds=2.2, size=64, seed=3, **synth)
    with pytest.raises(SystemExit) as exc:
        main(["train", kind, "--data", str(data), "--out", str(out), "--epochs", "1", "--val-fraction", "0.34",
              "--json"])
    captured = capsys.readouterr()
    assert exc.value.code in (0, None), captured.err
    return json.loads(captured.out)


def test_train_records_the_verdict_in_the_summary_and_the_manifest(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    res = _train_one_epoch(tmp_path, capsys, "rppgnet", out, codecs=["raw"])
    v = res["verdict"]
    assert v["val_mae"] == pytest.approx(res["best"]["value"]) and v["converged"] == (v["val_mae"] < v["pos_mae"])
    assert v["windows"] >= 1 and v["constant_mae"] >= 0 and v["message"].split(":")[0] in ("converged",
                                                                                          "did not converge")
    manifest = load_checkpoint(out, expect="rppgnet")[1]
    assert manifest["training"]["verdict"] == v and manifest["training"]["lr"] == 1e-3  # the kind's default


def _pairs(n=6):
    import torch

    g = torch.Generator().manual_seed(0)
    return [{"video": 0.5 + 0.1 * torch.randn(3, 4, 8, 8, generator=g), "target": torch.full((3, 4, 8, 8), 0.5),
             "label": torch.tensor(1), "group": ("x264-250k", "x265-250k")[i % 2]} for i in range(n)]


def test_stven_enhancement_is_the_share_of_squared_error_removed():
    from edgerppg.train.verdict import enhancement

    halfway = enhancement(lambda video, label: 0.5 + 0.5 * (video - 0.5), _pairs(), batch=4)
    assert halfway["removed"] == pytest.approx(0.75) and halfway["converged"] and halfway["clips"] == 6
    assert halfway["groups"] == pytest.approx({"x264-250k": 0.75, "x265-250k": 0.75})
    assert halfway["message"].startswith("enhances: removes 75.0% of the compressed validation clips' squared error")
    same = enhancement(lambda video, label: video, _pairs(), batch=4)
    assert same["removed"] == pytest.approx(0.0) and not same["converged"]
    assert same["message"].startswith("learned about the identity: removes 0.0%") and "train joint" in same["message"]
    json.dumps(same)
    assert enhancement(lambda v, l: v, None) is None and enhancement(lambda v, l: v, []) is None


def test_train_stven_ends_with_its_enhancement_verdict(tmp_path, capsys):
    v = _train_one_epoch(tmp_path, capsys, "stven", tmp_path / "s.safetensors", codecs=["raw", "x264"],
                         bitrates=["250k"])["verdict"]
    assert v["clips"] >= 1 and set(v["groups"]) == {"x264-250k"} and v["mse_compressed"] > 0
    assert v["converged"] == (v["removed"] >= 0.01) and v["message"].split(":")[0] in ("enhances",
                                                                                      "learned about the identity")
