"""Objectives for every registered model (rPPGNet, STVEN, cascade) on tiny clips: finite loss, right gradients."""

import pytest
import torch

from edgerppg.errors import EdgeRPPGError
from edgerppg.models import MODELS, create_model
from edgerppg.spec import ClipSpec
from edgerppg.train.objectives import OBJECTIVES, objective
from edgerppg.train.objectives import feature_layers, tap_features

CLIP = ClipSpec(frames=8, height=32, width=32).to_dict()


def _batch(b=2):
    g = torch.Generator().manual_seed(0)
    t = torch.arange(CLIP["frames"], dtype=torch.float32)
    bvp = torch.sin(2 * torch.pi * t / 4.0).repeat(b, 1)
    video = torch.rand(b, 3, CLIP["frames"], 32, 32, generator=g)
    return {"video": video, "target": (video + 0.05).clamp(0, 1), "bvp": bvp,
            "skin": (torch.rand(b, CLIP["frames"], 64, 64, generator=g) > 0.5).float(),
            "label": torch.tensor([3, 2]), "subject": ["s1", "s2"]}


def test_every_model_has_an_objective():
    assert set(MODELS.names()) <= set(OBJECTIVES.names())


@pytest.mark.parametrize("name", MODELS.names())
def test_objective_loss_is_finite_and_trains_the_right_parameters(name):
    model = create_model(name, "tiny", clip=CLIP)
    obj = objective(model)
    trainable = obj.prepare(model)
    obj.train_mode(model)
    loss = obj(model, _batch())
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert trainable and all(p.grad is not None for p in trainable)
    frozen = [p for p in model.parameters() if not any(p is q for q in trainable)]
    assert all(p.grad is None for p in frozen)
    if name == "cascade":  # joint: rPPGNet frozen in eval mode, STVEN trained
        assert frozen and not model.rppgnet.training and model.stven.training
        assert len(frozen) == len(list(model.rppgnet.parameters()))
    if obj.has_signal:
        model.eval()
        with torch.no_grad():
            assert obj.signal(model, _batch()["video"]).shape == (2, CLIP["frames"])


def test_rppgnet_objective_learns_a_fixed_batch():
    model = create_model("rppgnet", "tiny", clip=CLIP)
    obj = objective(model)
    opt = torch.optim.Adam(obj.prepare(model), lr=1e-2)
    batch = _batch()
    losses = []
    for _ in range(8):
        loss = obj(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_feature_taps_capture_rppgnet_stages():
    model = create_model("rppgnet", "tiny", clip=CLIP)
    names = feature_layers(model)
    with tap_features(model, names) as feats:
        model(_batch()["video"])
    assert len(feats) == len(names) >= 3 and all(f.ndim == 5 for f in feats)
    model(_batch()["video"])
    assert len(feats) == len(names)  # hooks are removed on exit


def test_pairs_are_required_and_unknown_models_refused():
    model = create_model("stven", "tiny", clip=CLIP)
    batch = _batch()
    del batch["target"]
    with pytest.raises(EdgeRPPGError, match="pairs"):
        objective(model)(model, batch)
    with pytest.raises(EdgeRPPGError, match="no .spec.name"):
        objective(torch.nn.Linear(2, 2))


def test_cascade_all_trains_both_halves_for_pruned_cascades():
    model = create_model("cascade", "tiny", clip=CLIP)
    obj = OBJECTIVES.get("cascade-all")()
    trainable = obj.prepare(model)
    obj.train_mode(model)
    assert model.rppgnet.training and model.stven.training
    assert len(trainable) == len(list(model.parameters()))
    batch = _batch()
    seen = []
    hook = model.stven.register_forward_pre_hook(lambda m, args: seen.append(args))
    obj(model, batch).backward()
    hook.remove()
    assert all(p.grad is not None for p in model.rppgnet.parameters())
    video = seen[0][0]  # every second clip of the batch is the original one
    assert torch.equal(video[1], batch["target"][1]) and torch.equal(video[0], batch["video"][0])


def test_with_spectral_copies_the_objective_with_the_term_weighted():
    from edgerppg.errors import EdgeRPPGError
    from edgerppg.train.objectives import OBJECTIVES

    base = OBJECTIVES.get("rppgnet")()
    spec = base.with_spectral(0.5)
    assert spec.weights.freq == 0.5 and base.weights.freq == 0.0 and spec.with_spectral(0).weights.freq == 0.0
    cascade = OBJECTIVES.get("cascade-all")().with_spectral(1.0)
    assert cascade.rppgnet_weights.freq == 1.0 and cascade.name == "cascade-all"
    with pytest.raises(EdgeRPPGError, match="no rPPG signal loss"):
        OBJECTIVES.get("stven")().with_spectral(1.0)


def test_distillation_adds_the_teacher_term_on_the_students_own_inputs():
    import copy

    from edgerppg.train.losses import neg_pearson
    from edgerppg.train.objectives import DistilledObjective

    torch.manual_seed(0)
    student = create_model("cascade", "tiny", clip=CLIP)
    teacher = create_model("cascade", "tiny", clip=CLIP)
    frozen = copy.deepcopy(teacher.state_dict())
    fed = []
    teacher.register_forward_pre_hook(lambda m, args: fed.append(args[0]))
    base = OBJECTIVES.get("cascade-all")()
    kd = DistilledObjective(base, teacher, 0.5)
    assert kd.name == "cascade-all" and len(kd.prepare(student)) == len(list(student.parameters()))
    kd.train_mode(student)
    assert student.training and not teacher.training
    batch = _batch()
    loss = kd(student, batch)
    # the teacher read exactly what the student read: every second clip swapped for the original
    assert torch.equal(fed[0][1], batch["target"][1]) and torch.equal(fed[0][0], batch["video"][0])
    torch.manual_seed(1)
    plain = base(student, batch)
    swapped = batch["video"].clone()
    swapped[1::2] = batch["target"][1::2]
    zeros = torch.zeros(2, dtype=torch.long)
    with torch.no_grad():
        term = neg_pearson(student(swapped, zeros)["rppg"], teacher(swapped, zeros)["rppg"])
    assert float(term) > 0.01 and loss.item() == pytest.approx(plain.item() + 0.5 * term.item(), rel=1e-5)
    loss.backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert all(torch.equal(v, frozen[k]) for k, v in teacher.state_dict().items())
    with pytest.raises(EdgeRPPGError, match="distillation weight must be > 0"):
        DistilledObjective(base, teacher, 0.0)
    with pytest.raises(EdgeRPPGError, match="drop the finetune key 'distill'"):
        DistilledObjective(OBJECTIVES.get("stven")(), create_model("stven", "tiny", clip=CLIP), 1.0)(
            create_model("stven", "tiny", clip=CLIP), batch)
