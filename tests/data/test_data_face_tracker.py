"""FaceTracker: streamed boxes equal the whole-video ones (detections every `every` frames, linear
interpolation, held at the ends, a centred moving average), the look-ahead is bounded, and ROI detection finds
the face the full-frame search finds."""

import numpy as np
import pytest

from edgerppg.data import face
from edgerppg.data.face import FaceTracker, HaarDetector
from edgerppg.errors import EdgeRPPGError


class FakeDetector:
    """Boxes at known key frames (None elsewhere), so the expected boxes can be computed independently."""

    def __init__(self, boxes: dict):
        self.boxes, self.calls = boxes, []

    def __call__(self, frame, prior=None):
        i = int(frame[0, 0, 0])
        self.calls.append(i)
        return None if self.boxes.get(i) is None else np.array(self.boxes[i], dtype=float)


def _frames(n):
    f = np.zeros((n, 60, 80, 3), np.uint8)
    f[:, 0, 0, 0] = np.arange(n)  # the frame's index, for the fake detector
    return f


def _expected(n, keys: dict, smooth=15):
    k = np.array(sorted(keys))
    b = np.stack([keys[i] for i in k]).astype(float)
    raw = np.stack([np.interp(np.arange(n), k, b[:, j]) for j in range(4)], axis=1)
    half = smooth // 2
    padded = np.pad(raw, ((half, smooth - 1 - half), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, j], np.ones(smooth) / smooth, mode="valid") for j in range(4)], axis=1)


@pytest.fixture
def boxes_seen(monkeypatch):
    seen = []
    monkeypatch.setattr(face, "crop_box", lambda frame, box, size, enlarge=1.2: seen.append(np.array(box)) or
                        np.zeros((size, size, 3), np.uint8))
    return seen


@pytest.mark.parametrize("background", [False, True])
def test_streamed_boxes_equal_the_whole_video_interpolation(boxes_seen, background):
    n = 95
    keys = {i: [10 + i / 3, 5 + (i % 20), 30 + i / 10, 30 + i / 10] for i in range(0, n, 10) if i not in (30, 40)}
    tracker = FaceTracker(16, "haar", every=10, background=background)
    tracker.detect = FakeDetector(keys)
    out = [c for f in _frames(n) for c in tracker.push(f)] + tracker.finish()
    assert len(out) == n and tracker.detections == len(keys)
    np.testing.assert_allclose(np.stack(boxes_seen), _expected(n, keys), atol=1e-9)


class SlowPriorDetector(FakeDetector):
    """Slow, and records the prior each call gets: what a background detection sees must not depend on timing."""

    def __call__(self, frame, prior=None):
        import time

        time.sleep(0.01)
        self.priors = getattr(self, "priors", []) + [None if prior is None else tuple(prior)]
        return super().__call__(frame, prior)


def test_background_detection_sees_the_priors_and_gives_the_boxes_of_a_synchronous_run(monkeypatch):
    """A slow background detector with a bounded look-ahead (a file streamed by `hr`) gives exactly the boxes,
    and passes exactly the priors, of a synchronous tracker: every detection is searched around the previous
    face found, and frames wait for a running detection instead of being pushed out with an old box."""
    n = 150
    keys = {i: [10 + i / 3, 5 + (i % 20), 30 + i / 10, 30 + i / 10] for i in range(0, n, 10) if i not in (30, 40)}
    runs = {}
    for background in (False, True):
        seen = []
        monkeypatch.setattr(face, "crop_box", lambda frame, box, size, enlarge=1.2: seen.append(np.array(box)) or
                            np.zeros((size, size, 3), np.uint8))
        tracker = FaceTracker(16, "haar", every=10, max_lookahead=18, background=background)
        tracker.detect = SlowPriorDetector(keys)
        for f in _frames(n):
            tracker.push(f)
        tracker.finish()
        runs[background] = (np.stack(seen), tracker.detect.priors, tracker.unseen)
    np.testing.assert_array_equal(runs[True][0], runs[False][0])
    assert runs[True][1] == runs[False][1] and runs[True][2] == runs[False][2] == 0
    assert runs[False][1][0] is None and runs[False][1][4] == tuple(keys[20])  # frame 40 searches around frame 20's


def test_lookahead_is_bounded_and_a_lost_face_holds_its_box(boxes_seen):
    n = 120
    keys = {0: [10, 10, 20, 20], 10: [12, 10, 20, 20]}  # the face is lost after frame 10
    tracker = FaceTracker(16, "haar", every=10, max_lookahead=25)
    tracker.detect = FakeDetector(keys)
    held = []
    for f in _frames(n):
        tracker.push(f)
        held.append(len(tracker.frames))
    tracker.finish()
    assert max(held) <= 25 and len(boxes_seen) == n
    np.testing.assert_allclose(boxes_seen[-1], [12, 10, 20, 20])


def test_frames_before_any_face_are_counted_and_no_face_at_all_is_an_error(boxes_seen):
    tracker = FaceTracker(16, "haar", every=10, max_lookahead=20)
    tracker.detect = FakeDetector({50: [10, 10, 20, 20]})
    out = [c for f in _frames(80) for c in tracker.push(f)] + tracker.finish()
    assert len(out) == 80 and 0 < tracker.unseen <= 50
    blind = FaceTracker(16, "haar", every=10, source="blank.mp4")
    blind.detect = FakeDetector({})
    for f in _frames(30):
        blind.push(f)
    with pytest.raises(EdgeRPPGError, match="blank.mp4: no face found.*--crop center"):
        blind.finish()


def test_roi_detection_finds_the_full_frame_face():
    cv2 = pytest.importorskip("cv2")
    img = np.full((480, 640, 3), 90, np.uint8)
    cx, cy, s = 300, 230, 110
    cv2.ellipse(img, (cx, cy), (int(0.8 * s), s), 0, 0, 360, (200, 150, 120), -1)
    for dx in (-0.35, 0.35):
        cv2.ellipse(img, (cx + int(dx * s), cy - int(0.25 * s)), (int(0.16 * s), int(0.07 * s)), 0, 0, 360, (40, 30, 30), -1)
    cv2.ellipse(img, (cx, cy + int(0.5 * s)), (int(0.28 * s), int(0.08 * s)), 0, 0, 360, (150, 60, 60), -1)
    img = cv2.GaussianBlur(img, (5, 5), 0)
    detect = HaarDetector()
    full = detect(img)
    assert full is not None
    roi = detect(img, prior=full + np.array([8, -6, 0, 0]))  # the previous box, a little off
    assert roi is not None and np.abs(roi - full).max() <= 0.1 * full[2]


def test_two_step_shrink_stays_an_area_average():
    """A non-integer shrink of 2x or more (bilinear to a multiple of the size, then an integer area average) stays
    within a few grey levels of OpenCV's one-step area average; integer factors are exactly the one-step result."""
    import cv2

    rng = np.random.default_rng(0)
    smooth = cv2.GaussianBlur(rng.integers(0, 256, (300, 300, 3), dtype=np.uint8), (0, 0), 3)
    for side, size in ((300, 128), (257, 64), (200, 72)):
        img = np.ascontiguousarray(smooth[:side, :side])
        want = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA).astype(int)
        got = face._resize(img, size).astype(int)
        assert got.shape == (size, size, 3)
        assert np.abs(got - want).mean() < 1.0 and np.abs(got - want).max() <= 8, (side, size)
    img = np.ascontiguousarray(smooth[:256, :256])
    np.testing.assert_array_equal(face._resize(img, 64), cv2.resize(img, (64, 64), interpolation=cv2.INTER_AREA))
    small = np.ascontiguousarray(smooth[:90, :90])   # under 2x and growing: one step, as before
    np.testing.assert_array_equal(face._resize(small, 64), cv2.resize(small, (64, 64), interpolation=cv2.INTER_AREA))
    grown = cv2.resize(small, (128, 128), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(face._resize(small, 128), grown)
