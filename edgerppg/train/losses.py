"""Training losses of STVEN and rPPGNet (Yu et al., "Remote Heart Rate Measurement from Highly Compressed
Facial Videos: an End-to-end Deep Learning Solution with Video Enhancement", ICCV 2019).

- `neg_pearson`: L_np = 1 - Pearson r between predicted and ground-truth pulse, per sample, mean over batch.
- `rppgnet_loss` (Eq. 6, 8): alpha*L_np(rppg) + beta*L_np(rppg_mid) + gamma*BCE(skin) + delta*mean_i L_np(parts_i).
- `stven_loss` (Eq. 3-4): reconstruction (MSE to the original when enhancing to label 0, L1 to the compressed
  clip when compressing the original to label k) plus the cycle loss (compress -> enhance returns the
  original, enhance -> compress returns the compressed clip).
- `perceptual_loss`: mean squared distance between rPPGNet feature maps of the enhanced and original clips.
- `joint_loss` (Eq. 9-10): L_rPPGNet + eps*L_p + rho*L_STVEN.
- `spectral_loss` (not in the paper; off unless `RPPGNetWeights.freq` > 0): -log of the share of the pulse's
  in-band power that lies at the clip's true heart rate, the frequency-domain term of PhysFormer (Yu et al.,
  CVPR 2022) in its band-power-ratio form. Negative Pearson alone lets a model whose output over-weights the
  pulse's harmonics score well (a near-derivative of the colour signal correlates with the peaky waveform);
  at low heart rates the second or third harmonic then out-powers the fundamental and the HR estimator reads
  2-3x the true rate (measured: a 10x-pruned tiny cascade read a 53 bpm subject as 109 and 160 bpm).

Everything here is a pure function of tensors (and of the STVEN module for its own loss); the objectives that
run models and pick batch keys live in `edgerppg.train.objectives`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

_EPS = 1e-8


@dataclass(frozen=True)
class RPPGNetWeights:
    """Eq. 8 weights: the final signal, the mid-level signal, the skin map and the partition signals."""

    alpha: float = 1.0
    beta: float = 0.5
    gamma: float = 0.1
    delta: float = 0.5
    #: weight of `spectral_loss` on the final signal (0: the paper's Eq. 8 exactly)
    freq: float = 0.0


@dataclass(frozen=True)
class JointWeights:
    """Eq. 10 weights: perceptual loss (eps) and STVEN's own loss (rho)."""

    eps: float = 1.0
    rho: float = 1e-4


def neg_pearson(pred: Tensor, target: Tensor) -> Tensor:
    """1 - Pearson correlation along the last axis, averaged over every other axis (the batch).

    Scale- and offset-free, so the network learns the pulse shape and phase, not its amplitude.
    """
    if pred.shape != target.shape:
        raise ValueError(f"neg_pearson: shapes differ {tuple(pred.shape)} vs {tuple(target.shape)}")
    p = pred - pred.mean(dim=-1, keepdim=True)
    t = target - target.mean(dim=-1, keepdim=True)
    r = (p * t).sum(-1) / (p.norm(dim=-1) * t.norm(dim=-1) + _EPS)
    return (1.0 - r).mean()


def skin_bce(pred: Tensor, label: Tensor) -> Tensor:
    """Binary cross-entropy between the predicted skin map (B, T, h, w) of probabilities and the skin label.

    The label (B, T, H, W) is area-resized to the prediction's spatial size (the map follows the variant's
    clip: H/2), so data prepared at 64x64 trains variants with smaller clips too.
    """
    if label.shape[-2:] != pred.shape[-2:]:
        label = F.interpolate(label.float(), size=tuple(pred.shape[-2:]), mode="area")
    if label.shape != pred.shape:
        raise ValueError(f"skin_bce: prediction {tuple(pred.shape)} vs label {tuple(label.shape)}")
    pred = pred.float().clamp(1e-6, 1.0 - 1e-6)
    return F.binary_cross_entropy(pred, label.float().clamp(0.0, 1.0))


def rppgnet_terms(out: dict[str, Tensor], bvp: Tensor, skin: Tensor | None) -> dict[str, Tensor]:
    """The four unweighted terms of Eq. 8 for rPPGNet outputs `out` against pulse `bvp` (B, T)."""
    parts = out["parts"]  # (B, N, T)
    terms = {
        "np": neg_pearson(out["rppg"], bvp),
        "np_mid": neg_pearson(out["rppg_mid"], bvp),
        "parts": neg_pearson(parts, bvp.unsqueeze(1).expand_as(parts)),
    }
    terms["skin"] = skin_bce(out["skin"], skin) if skin is not None else bvp.new_zeros(())
    return terms


def rppgnet_loss(
    out: dict[str, Tensor], bvp: Tensor, skin: Tensor | None, weights: RPPGNetWeights = RPPGNetWeights(),
    hr_bpm: Tensor | None = None, fps: float | None = None,
) -> Tensor:
    """Eq. 6, 8: alpha*L_np + beta*L_np_mid + gamma*L_skin + delta*L_parts (parts averaged over the N parts),
    plus freq * spectral_loss(rppg) when weights.freq > 0 (needs the clip's `fps`; `hr_bpm` optional)."""
    t = rppgnet_terms(out, bvp, skin)
    loss = weights.alpha * t["np"] + weights.beta * t["np_mid"] + weights.gamma * t["skin"] + weights.delta * t["parts"]
    if weights.freq > 0:
        if fps is None:
            raise ValueError("rppgnet_loss: the spectral term needs the clip's fps")
        loss = loss + weights.freq * spectral_loss(out["rppg"], bvp, fps, hr_bpm)
    return loss


#: the HR band (Hz) the spectral loss looks at: the default band of the HR estimators (signal.hr)
SPECTRAL_BAND = (0.7, 3.0)


def _band_power(x: Tensor, fps: float, freqs: Tensor) -> Tensor:
    """Hann-windowed power of x (B, T) at `freqs` (F,) Hz, by a direct DFT (F x T matmuls): (B, F)."""
    n = x.shape[-1]
    t = torch.arange(n, device=x.device, dtype=x.dtype) / fps
    x = (x - x.mean(-1, keepdim=True)) * torch.hann_window(n, periodic=False, device=x.device, dtype=x.dtype)
    phase = 2 * torch.pi * freqs.to(x.dtype)[:, None] * t[None, :]
    return (x @ torch.cos(phase).T) ** 2 + (x @ torch.sin(phase).T) ** 2


def spectral_loss(pred: Tensor, bvp: Tensor, fps: float, hr_bpm: Tensor | None = None,
                  band: tuple[float, float] = SPECTRAL_BAND) -> Tensor:
    """-log(power within +-half a DFT bin of the true HR / power in `band`), mean over the batch.

    The true HR is `hr_bpm` (B,) where finite, else the peak of the ground-truth pulse's own spectrum. Power
    is evaluated on a 1 bpm grid; the window's main lobe is 2 DFT bins (2 fps / T Hz) wide, so +-half a bin
    (fps / 2T: +-0.23 Hz for 64 frames at 30 fps) is the peak itself, and a harmonic (>= 0.7 Hz away) is not.
    """
    if pred.shape != bvp.shape or pred.dim() != 2:
        raise ValueError(f"spectral_loss: pred {tuple(pred.shape)} and bvp {tuple(bvp.shape)} must both be (B, T)")
    freqs = torch.arange(band[0], band[1] + 1e-9, 1.0 / 60.0, device=pred.device)
    power = _band_power(pred.float(), fps, freqs)
    with torch.no_grad():
        f0 = freqs[_band_power(bvp.float(), fps, freqs).argmax(-1)]
        if hr_bpm is not None:
            hr = hr_bpm.to(pred.device).float() / 60.0
            f0 = torch.where(torch.isfinite(hr), hr, f0)
        near = (freqs[None, :] - f0[:, None]).abs() <= fps / (2.0 * pred.shape[-1])
    ratio = (power * near).sum(-1) / (power.sum(-1) + _EPS)
    return -torch.log(ratio + 1e-6).mean()


def stven_loss(
    stven: Callable[[Tensor, Tensor], Tensor],
    compressed: Tensor,
    original: Tensor,
    label: Tensor,
    enhanced: Tensor | None = None,
) -> Tensor:
    """Eq. 3-4: reconstruction + cycle loss on (compressed clip with label k, original clip with label 0).

    Enhancing (label 0) is measured with MSE to the original, compressing the original to label k with L1 to
    the compressed clip; the cycle terms require compress->enhance to give back the original and
    enhance->compress to give back the compressed clip. `enhanced` = stven(compressed, 0) may be passed in
    when the caller already has it (joint training).
    """
    zeros = torch.zeros_like(label)
    if enhanced is None:
        enhanced = stven(compressed, zeros)
    recompressed = stven(original, label)
    rec = F.mse_loss(enhanced, original) + F.l1_loss(recompressed, compressed)
    cyc = F.l1_loss(stven(recompressed, zeros), original) + F.l1_loss(stven(enhanced, label), compressed)
    return rec + cyc


def perceptual_loss(feats: Sequence[Tensor], target_feats: Sequence[Tensor]) -> Tensor:
    """Mean over layers of the MSE between feature maps (targets are constants: no gradient flows to them)."""
    if len(feats) != len(target_feats) or not feats:
        raise ValueError(f"perceptual_loss: {len(feats)} feature maps vs {len(target_feats)} targets")
    losses = [F.mse_loss(f, t.detach()) for f, t in zip(feats, target_feats)]
    return torch.stack(losses).mean()


def joint_loss(l_rppgnet: Tensor, l_perceptual: Tensor, l_stven: Tensor, weights: JointWeights = JointWeights()) -> Tensor:
    """Eq. 9-10: L_rPPGNet + eps*L_p + rho*L_STVEN."""
    return l_rppgnet + weights.eps * l_perceptual + weights.rho * l_stven
