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


def test_train_records_the_verdict_in_the_summary_and_the_manifest(tmp_path, capsys):
    from edgerppg.data.synth import synthesize

    data = tmp_path / "d"
    synthesize(data, subjects=3, seconds=2.2, size=64, codecs=["raw"], seed=3)
    out = tmp_path / "m.safetensors"
    with pytest.raises(SystemExit) as exc:
        main(["train", "rppgnet", "--data", str(data), "--out", str(out), "--epochs", "1", "--val-fraction", "0.34",
              "--json"])
    captured = capsys.readouterr()
    assert exc.value.code in (0, None), captured.err
    res = json.loads(captured.out)
    v = res["verdict"]
    assert v["val_mae"] == pytest.approx(res["best"]["value"]) and v["converged"] == (v["val_mae"] < v["pos_mae"])
    assert v["windows"] >= 1 and v["constant_mae"] >= 0 and v["message"].split(":")[0] in ("converged",
                                                                                          "did not converge")
    manifest = load_checkpoint(out, expect="rppgnet")[1]
    assert manifest["training"]["verdict"] == v and manifest["training"]["lr"] == 1e-3  # the kind's default
