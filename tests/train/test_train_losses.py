"""Losses of Yu et al. (ICCV 2019): negative Pearson, rPPGNet Eq. 8, STVEN Eq. 3-4, joint Eq. 9-10."""

import math

import pytest
import torch
import torch.nn.functional as F

from edgerppg.train import losses


def _pulse(b=2, t=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, t, generator=g)


def test_neg_pearson_perfect_anti_and_invariance():
    y = _pulse()
    assert losses.neg_pearson(y, y).item() == pytest.approx(0.0, abs=1e-6)
    assert losses.neg_pearson(-y, y).item() == pytest.approx(2.0, abs=1e-6)
    assert losses.neg_pearson(3.0 * y + 7.0, y).item() == pytest.approx(0.0, abs=1e-5)


def test_neg_pearson_is_per_sample_mean_over_batch():
    y = _pulse(b=2)
    pred = torch.stack([y[0], -y[1]])
    assert losses.neg_pearson(pred, y).item() == pytest.approx(1.0, abs=1e-6)


def test_neg_pearson_rejects_shape_mismatch():
    with pytest.raises(ValueError):
        losses.neg_pearson(torch.zeros(2, 8), torch.zeros(2, 9))


def _outputs(bvp, rppg_sign=1.0, mid_sign=1.0, parts_sign=1.0, skin_p=0.5, hw=8):
    b, t = bvp.shape
    return {
        "rppg": rppg_sign * bvp,
        "rppg_mid": mid_sign * bvp,
        "parts": parts_sign * bvp.unsqueeze(1).repeat(1, 4, 1),
        "skin": torch.full((b, t, hw, hw), skin_p),
    }


def test_rppgnet_loss_weights_each_term_as_eq8():
    bvp = _pulse()
    skin = torch.ones(2, 32, 16, 16)  # label at twice the map size: area-resized to the prediction
    bce = -math.log(0.5)
    w = losses.RPPGNetWeights()
    assert (w.alpha, w.beta, w.gamma, w.delta) == (1.0, 0.5, 0.1, 0.5)
    perfect = losses.rppgnet_loss(_outputs(bvp), bvp, skin).item()
    assert perfect == pytest.approx(w.gamma * bce, abs=1e-5)
    anti_final = losses.rppgnet_loss(_outputs(bvp, rppg_sign=-1), bvp, skin).item()
    assert anti_final - perfect == pytest.approx(2.0 * w.alpha, abs=1e-5)
    anti_mid = losses.rppgnet_loss(_outputs(bvp, mid_sign=-1), bvp, skin).item()
    assert anti_mid - perfect == pytest.approx(2.0 * w.beta, abs=1e-5)
    anti_parts = losses.rppgnet_loss(_outputs(bvp, parts_sign=-1), bvp, skin).item()
    assert anti_parts - perfect == pytest.approx(2.0 * w.delta, abs=1e-5)


def test_rppgnet_parts_loss_averages_over_parts():
    bvp = _pulse()
    out = _outputs(bvp)
    out["parts"][:, 0] = -bvp  # one of four parts anti-correlated: mean L_np over parts = 2/4
    terms = losses.rppgnet_terms(out, bvp, None)
    assert terms["parts"].item() == pytest.approx(0.5, abs=1e-5)
    assert terms["skin"].item() == 0.0


def test_skin_bce_matches_torch_and_gets_gradient():
    pred = torch.rand(1, 4, 8, 8, requires_grad=True)
    label = (torch.rand(1, 4, 8, 8) > 0.5).float()
    loss = losses.skin_bce(pred, label)
    assert loss.item() == pytest.approx(F.binary_cross_entropy(pred.clamp(1e-6, 1 - 1e-6), label).item(), rel=1e-5)
    loss.backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0


class _PerfectSTVEN:
    """Maps to the original for label 0 and to the compressed clip otherwise: zero reconstruction and cycle loss."""

    def __init__(self, compressed, original):
        self.c, self.o = compressed, original

    def __call__(self, video, label):
        return self.o.clone() if int(label[0]) == 0 else self.c.clone()


def test_stven_loss_zero_for_a_perfect_model_and_terms_for_identity():
    g = torch.Generator().manual_seed(1)
    original = torch.rand(2, 3, 4, 8, 8, generator=g)
    compressed = original + 0.1 * torch.randn(2, 3, 4, 8, 8, generator=g)
    label = torch.tensor([3, 3])
    assert losses.stven_loss(_PerfectSTVEN(compressed, original), compressed, original, label).item() == 0.0
    identity = lambda video, lab: video  # noqa: E731
    got = losses.stven_loss(identity, compressed, original, label).item()
    # enhance: MSE(c, o); compress: L1(o, c); cycle: L1(o, o) = 0 and L1(c, c) = 0
    want = F.mse_loss(compressed, original).item() + F.l1_loss(original, compressed).item()
    assert got == pytest.approx(want, rel=1e-5)


def test_stven_loss_uses_given_enhanced_clip():
    original = torch.rand(1, 3, 2, 4, 4)
    compressed = original * 0.5
    identity = lambda video, lab: video  # noqa: E731
    got = losses.stven_loss(identity, compressed, original, torch.tensor([1]), enhanced=original).item()
    # enhance term MSE(o, o) = 0; compress L1(o, c); cycles L1(o, o) = 0 and L1(identity(o), c) = L1(o, c)
    assert got == pytest.approx(2 * F.l1_loss(original, compressed).item(), rel=1e-5)


def test_perceptual_and_joint_loss():
    f = [torch.ones(1, 2, 2, 2, 2), torch.zeros(1, 3)]
    t = [torch.zeros(1, 2, 2, 2, 2), torch.zeros(1, 3)]
    assert losses.perceptual_loss(f, t).item() == pytest.approx(0.5)
    with pytest.raises(ValueError):
        losses.perceptual_loss(f, t[:1])
    w = losses.JointWeights()
    assert (w.eps, w.rho) == (1.0, 1e-4)
    j = losses.joint_loss(torch.tensor(1.0), torch.tensor(2.0), torch.tensor(3.0))
    assert j.item() == pytest.approx(1.0 + 2.0 + 3e-4)


def _tone(hz, fps=30.0, t=64):
    return torch.sin(2 * math.pi * hz * torch.arange(t) / fps)[None]


def test_spectral_loss_rewards_power_at_the_true_hr_not_at_its_harmonics():
    f0 = 53 / 60
    truth = _tone(f0) + 0.7 * _tone(2 * f0)  # a peaky pulse: strong second harmonic
    clean = losses.spectral_loss(_tone(f0), truth, 30.0, torch.tensor([53.0])).item()
    harmonic = losses.spectral_loss(_tone(2 * f0), truth, 30.0, torch.tensor([53.0])).item()
    mixed = losses.spectral_loss(_tone(f0) + _tone(2 * f0) + _tone(3 * f0), truth, 30.0, torch.tensor([53.0])).item()
    assert clean < 0.5 < mixed < harmonic
    # without a known HR (NaN) the ground truth's own spectral peak is the target
    assert losses.spectral_loss(_tone(f0), truth, 30.0, torch.tensor([float("nan")])).item() == pytest.approx(clean, abs=0.1)
    assert losses.spectral_loss(_tone(2 * f0), truth, 30.0).item() > 3.0  # the harmonic is still far off
    x = (_tone(f0) + _tone(2 * f0)).requires_grad_()
    losses.spectral_loss(x, truth, 30.0, torch.tensor([53.0])).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_rppgnet_loss_adds_the_spectral_term_only_when_weighted():
    bvp = _tone(1.5, t=32).repeat(2, 1)
    out = _outputs(bvp)
    plain = losses.rppgnet_loss(out, bvp, None).item()
    w = losses.RPPGNetWeights(freq=0.5)
    with pytest.raises(ValueError, match="needs the clip's fps"):
        losses.rppgnet_loss(out, bvp, None, w)
    spectral = losses.spectral_loss(out["rppg"], bvp, 30.0).item()
    assert losses.rppgnet_loss(out, bvp, None, w, fps=30.0).item() == pytest.approx(plain + 0.5 * spectral, abs=1e-5)
