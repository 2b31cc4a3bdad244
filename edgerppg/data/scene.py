"""A face-like scene whose skin carries a blood-volume pulse, rendered with vectorised numpy at the target size.

The optics follow the skin reflection model behind CHROM (de Haan & Jeanne 2013) and POS (Wang et al. 2017):
each skin pixel is I(t) * (diffuse skin colour * (1 + pulse along a fixed blood-volume direction)) + I(t) *
specular(t), with the pulsatile direction the PBV signature of de Haan & van Leest 2014 (strongest in green).
Head motion is an affine warp of the face layer over a static, non-skin background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Relative pulsatile strength per channel (R, G, B): the blood-volume signature, normalised so green = 1.
PBV = np.array([0.33, 1.0, 0.67], dtype=np.float32)
# Diffuse skin colours (linear RGB, 0-1) from light to dark tones; subjects interpolate between them.
SKIN_TONES = np.array(
    [[0.93, 0.74, 0.63], [0.84, 0.62, 0.49], [0.71, 0.49, 0.36], [0.53, 0.35, 0.25], [0.36, 0.23, 0.16]],
    dtype=np.float32,
)
HAIR_COLOURS = np.array(
    [[0.06, 0.05, 0.04], [0.22, 0.14, 0.08], [0.45, 0.33, 0.18], [0.5, 0.5, 0.5]], dtype=np.float32
)
BACKGROUNDS = np.array(
    [[0.25, 0.35, 0.55], [0.3, 0.5, 0.35], [0.55, 0.55, 0.6], [0.35, 0.3, 0.45], [0.2, 0.3, 0.3]], dtype=np.float32
)


@dataclass
class Scene:
    """Static layers of one subject, in the face's own (unwarped) coordinates."""

    face: np.ndarray  # (H, W, 4) float32: diffuse RGB of head/face + alpha (head coverage)
    pulse_map: np.ndarray  # (H, W, 3) float32: relative pulsatile amplitude per pixel and channel
    specular: np.ndarray  # (H, W) float32: specular highlight strength
    background: np.ndarray  # (H, W, 3) float32
    light_colour: np.ndarray  # (3,) float32


def _blob(u, v, cu, cv, su, sv):
    return np.exp(-0.5 * (((u - cu) / su) ** 2 + ((v - cv) / sv) ** 2))


def _smooth_noise(rng, size: int, cells: int) -> np.ndarray:
    """Low-frequency noise in [-1, 1] (bilinear upsampling of a coarse random grid)."""
    import cv2

    coarse = rng.uniform(-1, 1, (cells, cells)).astype(np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)


def make_scene(rng: np.random.Generator, size: int, amplitude: float) -> Scene:
    """Draw one subject: skin tone, hair, eyes, brows, nose, mouth, background; `amplitude` = green pulse depth."""
    tone = rng.uniform(0, len(SKIN_TONES) - 1)
    i = int(min(tone, len(SKIN_TONES) - 2))
    skin = SKIN_TONES[i] * (1 - (tone - i)) + SKIN_TONES[i + 1] * (tone - i)
    skin = skin * rng.uniform(0.95, 1.05, 3).astype(np.float32)
    hair = HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))] * rng.uniform(0.8, 1.2)

    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    cx, cy = 0.5, 0.53
    ax, ay = rng.uniform(0.22, 0.25), rng.uniform(0.29, 0.32)
    u, v = (x - cx) / ax, (y - cy) / ay
    r2 = u**2 + v**2
    face_a = np.clip((1.0 - r2) * 12, 0, 1)  # soft-edged oval
    shade = np.sqrt(np.clip(1.0 - 0.85 * r2, 0.05, 1)) * (1 + 0.08 * (u * 0.4 - v * 0.3))

    rgb = skin * shade[..., None] * (1 + 0.04 * _smooth_noise(rng, size, 12))[..., None]
    # hair: a cap over the top of the head and down the sides, behind the face
    hair_a = np.clip((1.15 - ((x - cx) / (ax * 1.18)) ** 2 - ((y - cy + 0.04) / (ay * 1.12)) ** 2) * 10, 0, 1)
    hair_a *= np.clip((-v - 0.35) * 4 + (np.abs(u) - 0.92) * 6, 0, 1)
    hairline = np.clip((-v - 0.62) * 6, 0, 1) * face_a
    features = np.zeros_like(u)
    for side in (-1.0, 1.0):
        eye = _blob(u, v, side * 0.42, -0.2, 0.16, 0.07)
        iris = _blob(u, v, side * 0.42, -0.2, 0.06, 0.06)
        brow = _blob(u, v, side * 0.42, -0.38, 0.2, 0.045)
        socket = _blob(u, v, side * 0.42, -0.24, 0.22, 0.14)
        rgb = rgb * (1 - 0.3 * socket[..., None])
        rgb = rgb * (1 - eye[..., None]) + eye[..., None] * np.float32([0.8, 0.78, 0.75])
        rgb = rgb * (1 - 0.9 * iris[..., None]) + 0.9 * iris[..., None] * np.float32([0.12, 0.08, 0.06])
        rgb = rgb * (1 - 0.85 * brow[..., None]) + 0.85 * brow[..., None] * hair
        features = np.maximum(features, np.maximum(eye, brow))
    mouth = _blob(u, v, 0, 0.5, 0.3, 0.06)
    rgb = rgb * (1 - 0.7 * mouth[..., None]) + 0.7 * mouth[..., None] * np.float32([0.55, 0.2, 0.2]) * skin[0]
    nose_shadow = _blob(u, v, 0.1, 0.22, 0.07, 0.08)
    rgb = rgb * (1 - 0.25 * nose_shadow[..., None])
    features = np.maximum(features, mouth)
    rgb = rgb * (1 - hairline[..., None]) + hairline[..., None] * hair

    alpha = np.maximum(face_a, hair_a)
    face_rgb = (rgb * face_a[..., None] + hair * (hair_a * (1 - face_a))[..., None]) / np.maximum(alpha, 1e-3)[..., None]
    skin_w = face_a * (1 - features) * (1 - hairline)
    # pulsatile amplitude: strongest on forehead and cheeks, weaker on nose and chin, none off the skin
    regional = (0.45 + 0.55 * _blob(u, v, 0, -0.55, 0.5, 0.2)
                + 0.45 * (_blob(u, v, -0.5, 0.15, 0.22, 0.22) + _blob(u, v, 0.5, 0.15, 0.22, 0.22)))
    pulse_w = amplitude * skin_w * regional * (1 + 0.15 * _smooth_noise(rng, size, 8))
    specular = (_blob(u, v, 0.0, 0.05, 0.08, 0.2) + 0.6 * _blob(u, v, -0.15, -0.6, 0.3, 0.12)) * face_a
    specular *= rng.uniform(0.03, 0.1)

    bg = BACKGROUNDS[rng.integers(len(BACKGROUNDS))] * rng.uniform(0.7, 1.1)
    grad = 1 + 0.25 * (x - 0.5) * rng.uniform(-1, 1) + 0.25 * (y - 0.5) * rng.uniform(-1, 1)
    background = bg * (grad * (1 + 0.06 * _smooth_noise(rng, size, 6)))[..., None]
    face = np.concatenate([face_rgb, alpha[..., None]], axis=-1)
    light = np.float32([1.0, 1.0, 1.0]) * rng.uniform(0.96, 1.04, 3)
    return Scene(
        face=face.astype(np.float32),
        pulse_map=(pulse_w[..., None] * PBV).astype(np.float32),
        specular=specular.astype(np.float32),
        background=background.astype(np.float32),
        light_colour=light.astype(np.float32),
    )
