"""The training loop on a toy model: learning, determinism, best-on-validation, after_step, resume."""

import pytest
import torch

from edgerppg.errors import EdgeRPPGError
from edgerppg.train.loop import SCHEDULES, FitOptions, fit
from edgerppg.train.state import state_path
from train_toy import ToyModel, ToyObjective, ToySet, toy_save


def _fit(tmp_path, epochs=3, seed=0, **kw):
    torch.manual_seed(seed)
    model = ToyModel()
    kw.setdefault("out", tmp_path / "toy.ckpt")
    options = FitOptions(epochs=epochs, lr=0.01, batch=4, seed=seed,
                         **{k: kw.pop(k) for k in list(kw) if k in FitOptions.__dataclass_fields__})
    result = fit(model, ToySet(), ToySet(n=8, seed=1), options, objective=ToyObjective(), save=toy_save, **kw)
    return model, result


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_fit_learns_and_writes_best_checkpoint_and_state(tmp_path):
    model, result = _fit(tmp_path, epochs=4)
    losses = [h["loss"] for h in result["history"]]
    assert len(losses) == 4 and losses[-1] < losses[0]
    assert result["best"]["metric"] == "val_loss"
    saved = torch.load(tmp_path / "toy.ckpt", weights_only=True)
    assert saved["meta"]["training"]["best_epoch"] == result["best"]["epoch"]
    assert saved["meta"]["metrics"]["val_loss"] == pytest.approx(result["best"]["value"])
    assert state_path(tmp_path / "toy.ckpt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy.ckpt", "toy.ckpt.state.pt"]  # no temp files


def test_fit_is_deterministic_for_a_seed(tmp_path):
    a, _ = _fit(tmp_path / "a")
    b, _ = _fit(tmp_path / "b")
    c, _ = _fit(tmp_path / "c", seed=1)
    assert _same(a, b) and not _same(a, c)


def test_best_on_validation_is_kept(tmp_path):
    values = iter([3.0, 1.0, 2.0])
    model, result = _fit(tmp_path, metric=lambda m: ("score", next(values)))
    assert result["best"] == {"metric": "score", "value": 1.0, "epoch": 2}
    assert torch.load(tmp_path / "toy.ckpt", weights_only=True)["meta"]["training"]["best_epoch"] == 2


def test_after_step_runs_after_every_optimiser_step(tmp_path):
    calls = []

    def clamp(model):  # a pruning-like hook: its effect must survive in the trained weights
        calls.append(1)
        with torch.no_grad():
            model.lin.weight[0].zero_()

    model, _ = _fit(tmp_path, epochs=2, after_step=clamp, out=None)
    assert len(calls) == 2 * 6  # 24 samples / batch 4, two epochs
    assert model.lin.weight[0].abs().sum() == 0


def test_killed_run_resumes_from_last_finished_epoch(tmp_path):
    full, full_result = _fit(tmp_path / "full", epochs=3)
    steps = []

    def kill(model):
        steps.append(1)
        if len(steps) == 6 * 2 + 3:  # in the middle of epoch 3
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path / "killed", epochs=3, after_step=kill)
    state = torch.load(state_path(tmp_path / "killed" / "toy.ckpt"), weights_only=True)
    assert state["epoch"] == 2
    resumed, result = _fit(tmp_path / "killed", epochs=3, seed=0)
    assert _same(full, resumed)
    assert [h["loss"] for h in result["history"]] == pytest.approx([h["loss"] for h in full_result["history"]])


def test_resume_off_starts_over_and_mismatched_state_is_refused(tmp_path):
    _fit(tmp_path, epochs=1)
    _, result = _fit(tmp_path, epochs=1, resume=False)
    assert len(result["history"]) == 1
    with pytest.raises(EdgeRPPGError, match="different lr"):
        fit(ToyModel(), ToySet(), None, FitOptions(epochs=2, lr=0.5, batch=4), objective=ToyObjective(),
            out=tmp_path / "toy.ckpt", save=toy_save)
    with pytest.raises(EdgeRPPGError, match="another architecture"):
        fit(ToyModel(dim=5), ToySet(dim=5), None, FitOptions(epochs=2, lr=0.01, batch=4), objective=ToyObjective(),
            out=tmp_path / "toy.ckpt", save=toy_save)


def test_bad_arguments_and_empty_data_are_one_line_errors(tmp_path):
    with pytest.raises(EdgeRPPGError, match="epochs >= 1"):
        fit(ToyModel(), ToySet(), None, FitOptions(epochs=0), objective=ToyObjective())
    with pytest.raises(EdgeRPPGError, match="training set is empty"):
        fit(ToyModel(), ToySet(n=0), None, FitOptions(epochs=1), objective=ToyObjective())


def test_divergence_is_reported(tmp_path):
    class NaNObjective(ToyObjective):
        def __call__(self, model, batch):
            return super().__call__(model, batch) * float("nan")

    with pytest.raises(EdgeRPPGError, match="diverged"):
        fit(ToyModel(), ToySet(), None, FitOptions(epochs=1), objective=NaNObjective())


def test_cosine_schedule_sets_every_step_and_resumes_on_the_same_curve(tmp_path, monkeypatch):
    seen = []
    step = torch.optim.Adam.step

    def spy(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    full, _ = _fit(tmp_path / "full", epochs=2, schedule="cosine")
    total = 2 * 6  # 24 samples / batch 4, two epochs
    assert seen == pytest.approx([0.01 * SCHEDULES["cosine"](i, total) for i in range(total)])
    assert seen[0] == 0.01 and seen[-1] < 0.001 and all(a > b for a, b in zip(seen, seen[1:]))
    seen.clear()
    constant, _ = _fit(tmp_path / "constant", epochs=2)
    assert set(seen) == {0.01} and not _same(full, constant)
    with pytest.raises(KeyboardInterrupt):  # killed in epoch 2; the resumed run continues on the curve
        _fit(tmp_path / "killed", epochs=2, schedule="cosine",
             after_step=lambda m: (_ for _ in ()).throw(KeyboardInterrupt) if len(seen) == 6 + 12 + 3 else None)
    with pytest.raises(EdgeRPPGError, match="different schedule"):
        _fit(tmp_path / "killed", epochs=2)
    resumed, _ = _fit(tmp_path / "killed", epochs=2, schedule="cosine")
    assert _same(full, resumed)
    with pytest.raises(EdgeRPPGError, match="unknown learning-rate schedule 'step'; choose one of constant"):
        _fit(tmp_path, schedule="step")
