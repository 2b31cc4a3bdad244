"""Face crop: Viola-Jones (OpenCV's bundled Haar cascade, as Yu et al. did), box smoothed over time.

Methods: "haar" detects every few frames, interpolates and smooths the box, enlarges it to take in the
forehead; "full" uses the whole (square-cropped) frame, for clips that are already a face crop (our
synthetic data); "center" is the documented fallback for videos where no face is found: a fixed central
square. A video with no face at all is an error, never a silent result.

`FaceTracker` does this for a stream of frames, one frame at a time, and `crop_faces` runs it over a whole
video: a file, a camera and a training recording get the same crops. A box is known once the next detection
and half the smoothing window have arrived, so frames wait in a short look-ahead queue (`every + smooth // 2`
frames); `max_lookahead` bounds that queue for live sources, where a face lost for longer holds its last box.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from edgerppg.errors import EdgeRPPGError, require

CROP_METHODS = ("haar", "full", "center")
#: detection runs on a frame about this many pixels high (downscaled; the box is scaled back)
DETECT_HEIGHT = 240
#: around the previous box: a patch ROI_MARGIN times the face's size, scaled so that the face is ROI_FACE px wide
ROI_MARGIN = 2.0
ROI_FACE = 64.0


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    """A square crop to `size` x `size`: an area average when it shrinks, bilinear when it grows.

    OpenCV's INTER_AREA is a fast box filter for integer factors and a slow general one otherwise, so a shrink
    by a non-integer factor of 2 or more goes in two steps: bilinear down to the nearest lower multiple of
    `size` (a shrink by under 2x, so bilinear loses little), then the integer area average. Integer factors and
    shrinks under 2x take one step, as before.
    """
    cv2 = require("cv2")
    side = img.shape[0]
    if side <= size:
        return cv2.resize(img, (size, size), interpolation=cv2.INTER_LINEAR)
    k = side // size
    if k >= 2 and side % size:
        img = cv2.resize(img, (k * size, k * size), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)


def _square(shape: tuple, frac: float = 1.0) -> tuple[int, int, int]:
    h, w = shape[:2]
    side = int(min(h, w) * frac)
    return (w - side) // 2, (h - side) // 2, side


class HaarDetector:
    """The largest face in a frame, (x, y, w, h) in frame pixels, or None. Detection runs on a frame about
    DETECT_HEIGHT pixels high; given the previous box (`prior`), it first looks only around it, on a patch
    scaled so that the face is about ROI_FACE pixels wide (several times cheaper), and searches the whole
    frame when the face is not there."""

    def __init__(self, bgr: bool = False):
        cv2 = require("cv2")
        self._cv2 = cv2
        self._gray = cv2.COLOR_BGR2GRAY if bgr else cv2.COLOR_RGB2GRAY
        self._cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")

    def __call__(self, frame: np.ndarray, prior: np.ndarray | None = None) -> np.ndarray | None:
        if prior is not None:
            box = self._around(frame, prior)
            if box is not None:
                return box
        scale = max(1.0, frame.shape[0] / DETECT_HEIGHT)
        return self._detect(frame, 0, 0, frame.shape[1], frame.shape[0], scale, (24, 24))

    def _around(self, frame: np.ndarray, prior: np.ndarray) -> np.ndarray | None:
        x, y, w, h = prior
        side = ROI_MARGIN * max(w, h)
        cx, cy = x + w / 2, y + h / 2
        x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
        x1, y1 = int(min(frame.shape[1], cx + side / 2)), int(min(frame.shape[0], cy + side / 2))
        scale = max(1.0, max(w, h) / ROI_FACE)
        face = max(w, h) / scale
        if x1 - x0 < 24 * scale or y1 - y0 < 24 * scale:
            return None
        return self._detect(frame, x0, y0, x1, y1, scale, (max(24, int(0.6 * face)),) * 2, (int(1.6 * face),) * 2)

    def _detect(self, frame, x0, y0, x1, y1, scale, least, most=None) -> np.ndarray | None:
        cv2 = self._cv2
        gray = cv2.cvtColor(np.ascontiguousarray(frame[y0:y1, x0:x1]), self._gray)
        if scale > 1:
            gray = cv2.resize(gray, None, fx=1 / scale, fy=1 / scale, interpolation=cv2.INTER_AREA)
        found = self._cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=4, minSize=least,
                                               maxSize=most or (0, 0))
        if not len(found):
            return None
        bx, by, bw, bh = max(found, key=lambda b: b[2] * b[3])
        return np.array([bx * scale + x0, by * scale + y0, bw * scale, bh * scale], dtype=np.float64)


def crop_box(frame: np.ndarray, box: np.ndarray, size: int, enlarge: float = 1.2) -> np.ndarray:
    """The square crop around a face box (x, y, w, h), enlarged and shifted up to keep the forehead, resized to
    `size`; parts outside the frame repeat its edge pixels."""
    bx, by, bw, bh = box
    h, w = frame.shape[:2]
    side = max(bw, bh) * enlarge
    cx, cy = bx + bw / 2, by + bh / 2 - 0.05 * bh
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    s = int(round(side))
    if x0 >= 0 and y0 >= 0 and x0 + s <= w and y0 + s <= h:
        return _resize(frame[y0:y0 + s, x0:x0 + s], size)
    rows = np.clip(np.arange(y0, y0 + s), 0, h - 1)
    cols = np.clip(np.arange(x0, x0 + s), 0, w - 1)
    return _resize(np.ascontiguousarray(frame[rows][:, cols]), size)


class FaceTracker:
    """Face crops of a stream of frames: `push(frame)` returns the crops that became ready (in order), `finish()`
    the rest. `size`: the crops' side in pixels (None with "full": the square frame as it is). "haar": a detection every `every` frames, boxes interpolated linearly between detections (held
    before the first and after the last), then averaged over `smooth` frames (edges repeated), exactly as for
    a whole video. "full" / "center": a fixed square, no delay.

    `bgr`: frames are OpenCV's BGR (crops come out in the same channel order). `max_lookahead` (frames, None:
    unbounded) bounds the frames held back waiting for a detection; a frame pushed out early takes the last
    box found, or the central square before any face was seen (counted in `unseen`).
    """

    def __init__(self, size: int | None, method: str = "haar", enlarge: float = 1.2, every: int = 10, smooth: int = 15,
                 max_lookahead: int | None = None, bgr: bool = False, source: str = "video", background: bool = False):
        if method not in CROP_METHODS:
            raise EdgeRPPGError(f"unknown crop {method!r}; choose one of: {', '.join(CROP_METHODS)}")
        if size is None and method != "full":
            raise EdgeRPPGError(f"crop {method!r} needs a crop size")
        self.size, self.method, self.enlarge, self.every, self.smooth = size, method, enlarge, every, smooth
        self.max_lookahead, self.source = max_lookahead, source
        self.detect = HaarDetector(bgr=bgr) if method == "haar" else None
        self.frames: deque = deque()  # (index, frame) waiting for their box
        self.raw: dict[int, np.ndarray] = {}  # interpolated boxes not yet averaged
        self.last_key: tuple[int, np.ndarray] | None = None  # the latest detection (frame index, box)
        self._prior: np.ndarray | None = None  # the box the latest finished detection found (the next one's ROI)
        self.first_box: np.ndarray | None = None
        self.count = 0  # frames pushed
        self.emitted = 0
        self.unseen = 0  # frames cropped before any face was found (max_lookahead forced them out)
        self.detections = 0
        self.detect_cpu_s = 0.0  # CPU seconds spent detecting (on whichever thread)
        # `background`: detections run on a worker thread while frames keep coming (OpenCV releases the GIL)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="edgerppg-detect") if background and self.detect else None
        self._pending: deque = deque()  # (frame index, detection future), oldest first

    def push(self, frame: np.ndarray) -> list[np.ndarray]:
        i, self.count = self.count, self.count + 1
        if self.detect is None:
            x, y, side = _square(frame.shape, 1.0 if self.method == "full" else 0.6)
            self.emitted += 1
            square = frame[y:y + side, x:x + side]
            return [square.copy() if self.size is None else _resize(square, self.size)]
        self.frames.append((i, frame))
        if i % self.every == 0:
            if self._pool is None:
                self._found(i, self._detect(frame))
            else:
                self._pending.append((i, self._pool.submit(self._detect, frame)))
        self._poll(block=len(self._pending) > 2)
        out = self._ready(final=False)
        if self.max_lookahead is not None and len(self.frames) > self.max_lookahead and self._pending:
            self._poll(block=True)  # a detection still running is not a lost face: wait for it first
            out += self._ready(final=False)
        while self.max_lookahead is not None and len(self.frames) > self.max_lookahead:
            out += self._force()
        return out

    def _detect(self, frame: np.ndarray) -> np.ndarray | None:
        """Detect around the previous detection's box. Detections run one at a time in frame order (here or on
        the single worker thread), so each sees the same prior whether it runs in the background or not, and a
        streamed video gets exactly the crops of the whole-video path."""
        cpu = time.thread_time()
        box = self.detect(frame, self._prior)
        if box is not None:
            self._prior = box
        self.detect_cpu_s += time.thread_time() - cpu
        return box

    def _found(self, i: int, box: np.ndarray | None) -> None:
        if box is not None:
            self.detections += 1
            self._key(i, box)

    def _poll(self, block: bool) -> None:
        """Take in the finished detections, in order (all of them when `block`)."""
        while self._pending and (block or self._pending[0][1].done()):
            i, future = self._pending.popleft()
            self._found(i, future.result())

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def finish(self) -> list[np.ndarray]:
        """Crops of the frames still held back, now that the stream has ended."""
        if self.detect is None:
            return []
        self._poll(block=True)
        self.close()
        if self.first_box is None:
            raise EdgeRPPGError(f"{self.source}: no face found by the Haar detector in {self.count} frames; "
                                "use --crop center (fixed central crop) or --crop full if the video is already a face crop")
        if self.last_key is not None:  # after the last detection the box is held
            j, box = self.last_key
            for k in range(j + 1, self.count):
                self.raw.setdefault(k, box)
        return self._ready(final=True)

    def _key(self, i: int, box: np.ndarray) -> None:
        """A new detection at frame i: interpolate the boxes since the previous one (or hold it before it)."""
        if self.last_key is None:
            self.first_box = box
            for k in range(max(0, self.emitted - self.smooth), i):  # smoothing reads back half a window
                self.raw[k] = box
        else:
            j, prev = self.last_key
            for k in range(j + 1, i):
                self.raw[k] = prev + (box - prev) * (k - j) / (i - j)
        self.raw[i] = box
        self.last_key = (i, box)

    def _box(self, i: int, final: bool) -> np.ndarray | None:
        """The averaged box of frame i, when every raw box it needs is known."""
        half = self.smooth // 2
        lo, hi = i - half, i + self.smooth - 1 - half
        if not final and hi not in self.raw:
            return None
        last = self.count - 1
        boxes = [self.raw[min(max(k, 0), last)] for k in range(lo, hi + 1)]
        return np.mean(boxes, axis=0)

    def _ready(self, final: bool) -> list[np.ndarray]:
        out = []
        while self.frames:
            i, frame = self.frames[0]
            box = self._box(i, final)
            if box is None:
                break
            out.append(self._emit(i, frame, box))
        return out

    def _emit(self, i: int, frame: np.ndarray, box: np.ndarray) -> np.ndarray:
        self.frames.popleft()
        self.emitted += 1
        for k in [k for k in self.raw if k < i - self.smooth]:
            del self.raw[k]
        return crop_box(frame, box, self.size, self.enlarge)

    def _force(self) -> list[np.ndarray]:
        """Push the oldest frame out before its box is known: hold the last detection's box (or the centre)."""
        i, frame = self.frames[0]
        if self.last_key is None:
            self.frames.popleft()
            self.emitted += 1
            self.unseen += 1
            x, y, side = _square(frame.shape, 0.6)
            return [_resize(frame[y:y + side, x:x + side], self.size)]
        j, box = self.last_key
        for k in range(j + 1, i + self.smooth):
            self.raw.setdefault(k, box)
        return self._ready(final=False)


def crop_faces(frames: np.ndarray, size: int = 128, method: str = "haar", enlarge: float = 1.2,
               every: int = 10, source: str = "video") -> np.ndarray:
    """Face crops (N, size, size, 3) uint8 from RGB frames (N, H, W, 3)."""
    tracker = FaceTracker(size, method, enlarge, every, source=source)
    out = [crop for frame in np.asarray(frames) for crop in tracker.push(frame)]
    out += tracker.finish()
    return np.stack(out)
