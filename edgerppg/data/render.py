"""Render a subject's frames: the static scene of `scene.py` under head motion, light changes and a sensor.

Per frame t, with I(t) the illumination (slow drift + small flicker) and p(t) the pulse of `pulse.py`:
    skin      = diffuse * (1 + pulse_map * p(t))            # pulsatile change along the PBV direction
    specular  = specular_map * (1 + motion-dependent glint)  # does not pulse, varies with head pose
    pixel     = I(t) * light * (alpha * (skin + specular) + (1 - alpha) * background)
then Gaussian sensor noise and 8-bit quantisation. Head motion is an affine warp (translation, small
rotation, scale) of the face layers over the static background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgerppg.data.scene import Scene


@dataclass(frozen=True)
class Motion:
    """Per-frame head pose: translation (pixels), rotation (degrees), scale (relative)."""

    dx: np.ndarray
    dy: np.ndarray
    angle: np.ndarray
    scale: np.ndarray


def _slow(rng: np.random.Generator, n: int, fps: float, amp: float, max_hz: float) -> np.ndarray:
    """A smooth random trajectory: a sum of a few low-frequency sinusoids (below the HR band's lower edge)."""
    t = np.arange(n) / fps
    out = np.zeros(n)
    for _ in range(3):
        out += np.sin(2 * np.pi * rng.uniform(0.02, max_hz) * t + rng.uniform(0, 2 * np.pi))
    return amp * out / 3


def make_motion(rng: np.random.Generator, n: int, fps: float, size: int, strength: float = 1.0) -> Motion:
    return Motion(
        dx=_slow(rng, n, fps, strength * 0.04 * size, 0.4),
        dy=_slow(rng, n, fps, strength * 0.03 * size, 0.4),
        angle=_slow(rng, n, fps, strength * 4.0, 0.3),
        scale=1 + _slow(rng, n, fps, strength * 0.04, 0.2),
    )


def make_illumination(rng: np.random.Generator, n: int, fps: float) -> np.ndarray:
    """Relative light intensity: slow drift (about +-4 %) plus a faint flicker."""
    t = np.arange(n) / fps
    drift = _slow(rng, n, fps, rng.uniform(0.01, 0.04), 0.1)
    flicker = rng.uniform(0.0, 0.002) * np.sin(2 * np.pi * rng.uniform(4.0, 8.0) * t)
    return (1.0 + drift + flicker).astype(np.float32)


def render(scene: Scene, bvp: np.ndarray, motion: Motion, light: np.ndarray, rng: np.random.Generator,
           noise_sigma: float = 1.5) -> np.ndarray:
    """All frames of one subject as uint8 RGB (N, H, W, 3)."""
    import cv2

    size = scene.face.shape[0]
    layers = np.concatenate([scene.face, scene.pulse_map, scene.specular[..., None]], axis=-1)  # (H,W,8)
    out = np.empty((len(bvp), size, size, 3), dtype=np.uint8)
    centre = (size / 2, size / 2)
    for i in range(len(bvp)):
        m = cv2.getRotationMatrix2D(centre, float(motion.angle[i]), float(motion.scale[i]))
        m[:, 2] += (motion.dx[i], motion.dy[i])
        warped = np.stack([cv2.warpAffine(layers[..., k], m, (size, size), flags=cv2.INTER_LINEAR,
                                          borderMode=cv2.BORDER_CONSTANT) for k in range(layers.shape[-1])], -1)
        rgb, alpha, pulse_map, spec = warped[..., :3], warped[..., 3:4], warped[..., 4:7], warped[..., 7:8]
        glint = 1.0 + 0.3 * np.sin(np.deg2rad(motion.angle[i]) * 6)
        skin = rgb * (1.0 + pulse_map * bvp[i]) + spec * glint
        frame = light[i] * scene.light_colour * (alpha * skin + (1 - alpha) * scene.background)
        frame = frame * 255.0 + rng.normal(0.0, noise_sigma, frame.shape)
        out[i] = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
    return out
