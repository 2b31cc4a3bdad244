"""Per-frame preprocessing: Viola-Jones face crop + resize, skin masks, skin-masked mean RGB (one second of
640x480 video at 30 fps per call; divide the time by 30 for the per-frame cost)."""

import numpy as np
import pytest

FRAMES = 30


@pytest.fixture(scope="module")
def frames():
    """A synthetic face-like scene (skin ellipse with eyes on a background) in VGA frames."""
    import cv2

    img = np.full((480, 640, 3), (40, 60, 90), np.uint8)
    cv2.ellipse(img, (320, 240), (110, 145), 0, 0, 360, (205, 160, 130), -1)
    for x in (280, 360):
        cv2.ellipse(img, (x, 210), (18, 9), 0, 0, 360, (60, 40, 30), -1)
    cv2.ellipse(img, (320, 310), (35, 10), 0, 0, 360, (150, 80, 80), -1)
    return np.repeat(img[None], FRAMES, axis=0)


def test_face_crop_center(benchmark, frames):
    from edgerppg.data.face import crop_faces

    out = benchmark(crop_faces, frames, size=128, method="center")
    assert out.shape == (FRAMES, 128, 128, 3)


def test_face_crop_haar(benchmark, frames):
    """Haar detection on every frame; a drawn face may not be detected, so the documented fallback error is allowed."""
    from edgerppg.data.face import crop_faces
    from edgerppg.errors import EdgeRPPGError

    def run():
        try:
            return crop_faces(frames, size=128, method="haar")
        except EdgeRPPGError:
            return None

    benchmark(run)


def test_skin_masks_and_mean_rgb(benchmark, frames):
    from edgerppg.data.skin import skin_masks
    from edgerppg.signal.rgb import mean_rgb

    crops = np.ascontiguousarray(frames[:, 96:384, 176:464])

    def run():
        return mean_rgb(crops, skin_masks(crops))

    assert benchmark(run).shape == (FRAMES, 3)
