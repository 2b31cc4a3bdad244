"""A predictor's pulse built up frame by frame, in bounded memory: what `predict(recording)` computes on a whole
video, computed as the frames arrive.

`predictor.stream(fps)` returns one of these; `push(crops)` takes face crops (RGB, the predictor's crop size)
at the video's frame rate, `pulse()` gives the pulse so far (a live window reads `pulse(last=seconds)`), and
`finish()` the whole pulse once the video has ended.

- `ModelStream`: crops resampled to the model's frame rate (nearest frame, as `data.clips.prepare_frames`), a
  ring of the last T frames, one T-frame clip every T/2 new frames through `infer`, each clip z-scored and
  overlap-added with a Hann window: the same pulse as `ModelPredictor.pulse` on the whole array (the last clip
  ends at the last frame, so it is known only at the end).
- `FeatureStream`: the classical methods' per-frame sample (skin-masked mean RGB), taken in chunks of about a
  second (the skin colour is estimated per chunk), then GREEN/CHROM/POS over the samples.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np

from edgerppg.errors import EdgeRPPGError

#: clips per `infer` call when a whole file is streamed (live updates run each clip as soon as it is complete)
BATCH = 4


class ModelStream:
    """Overlap-add of a model's pulse over T-frame clips with half overlap, fed one frame at a time."""

    def __init__(self, infer: Callable[[np.ndarray], np.ndarray], spec, fps: float, batch: int = BATCH,
                 keep: float | None = None, source: str = "video", background: bool = False):
        self.infer, self.spec, self.fps_in, self.batch, self.source = infer, spec, float(fps), batch, source
        self.fps = float(spec.fps)
        self.t = int(spec.frames)
        self.step = max(1, self.t // 2)
        self.hann = np.hanning(self.t + 2)[1:-1]
        self.ring: deque = deque(maxlen=self.t)  # the last T frames at the model's rate
        self.n_in = 0  # source frames pushed
        self.n_out = 0  # frames at the model's rate
        self.recent: deque = deque(maxlen=int(np.ceil(self.fps_in / self.fps)) + 2)  # the newest source frames
        self.pending: list[tuple[int, np.ndarray]] = []  # (start, clip) waiting for a batch
        self.out = np.zeros(0)
        self.weight = np.zeros(0)
        self.offset = 0  # sample index of out[0] (the history before it was dropped: `keep` seconds)
        self.keep = None if keep is None else int(np.ceil(keep * self.fps)) + self.t
        self.inferred = 0  # clips through the model
        self.infer_s = 0.0  # CPU seconds of the calling thread inside `infer` (a runtime's own threads not counted)
        # `background`: the model runs on a worker thread while frames keep coming (runtimes release the GIL)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="edgerppg-infer") if background else None
        self._futures: deque = deque()

    def push(self, crops) -> None:
        for crop in crops:
            self.recent.append(crop)
            self.n_in += 1
            self._resample(final=False)

    def _resample(self, final: bool) -> None:
        """Emit the frames at the model's rate that the source frames so far determine: output k takes source
        frame round(k * fps_in / fps), and floor(n * fps / fps_in) outputs exist for n source frames."""
        count = int(np.floor(self.n_in * self.fps / self.fps_in))
        while self.n_out < count:
            j = int(np.round(self.n_out * self.fps_in / self.fps))
            if j >= self.n_in:
                if not final:
                    return
                j = self.n_in - 1
            self._add(self.recent[j - self.n_in])

    def _add(self, frame: np.ndarray) -> None:
        self.ring.append(frame)
        self.n_out += 1
        start = self.n_out - self.t
        if start >= 0 and start % self.step == 0:
            self.pending.append((start, np.stack(self.ring)))
            if len(self.pending) >= self.batch:
                self._run()

    def _grow(self, end: int) -> None:
        need = end - self.offset - len(self.out)
        if need > 0:
            self.out = np.concatenate([self.out, np.zeros(need)])
            self.weight = np.concatenate([self.weight, np.zeros(need)])

    def _run(self) -> None:
        """Send the pending clips to the model as one batch (on the worker thread when there is one)."""
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        if self._pool is None:
            self._accumulate(*self._infer(batch))
            return
        self._futures.append(self._pool.submit(self._infer, batch))
        self._collect(block=len(self._futures) > 2)  # at most two batches in flight: memory stays bounded

    def _infer(self, batch: list) -> tuple[list, np.ndarray, float]:
        starts = [s for s, _ in batch]
        clips = np.stack([c for _, c in batch]).astype(np.float32) / 255.0
        t0 = time.thread_time()
        pred = np.asarray(self.infer(np.ascontiguousarray(clips.transpose(0, 4, 1, 2, 3))), dtype=np.float64)
        return starts, pred, time.thread_time() - t0

    def _collect(self, block: bool) -> None:
        """Overlap-add the finished batches, in order (all of them when `block`)."""
        while self._futures and (block or self._futures[0].done()):
            self._accumulate(*self._futures.popleft().result())

    def _accumulate(self, starts: list, pred: np.ndarray, seconds: float) -> None:
        self.infer_s += seconds
        if pred.shape != (len(starts), self.t):
            raise EdgeRPPGError(f"{self.source}: the model returned shape {pred.shape}, expected "
                                f"{(len(starts), self.t)}")
        pred = (pred - pred.mean(axis=1, keepdims=True)) / (pred.std(axis=1, keepdims=True) + 1e-8)
        self._grow(max(starts) + self.t)
        for a, p in zip(starts, pred):
            lo = a - self.offset
            self.out[lo:lo + self.t] += self.hann * p
            self.weight[lo:lo + self.t] += self.hann
        self.inferred += len(starts)
        if self.keep is not None and len(self.out) > 2 * self.keep:  # live: forget what no window needs
            cut = len(self.out) - self.keep
            self.out, self.weight, self.offset = self.out[cut:], self.weight[cut:], self.offset + cut

    @property
    def background(self) -> bool:
        """Whether the model runs on a worker thread."""
        return self._pool is not None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def pulse(self, last: float | None = None) -> tuple[np.ndarray, float]:
        """The pulse over the samples some clip has covered so far (the last `last` seconds of them)."""
        self._run()
        self._collect(block=True)
        covered = int(np.count_nonzero(self.weight > 0))
        out = self.out[:covered] / np.maximum(self.weight[:covered], 1e-8)
        if last is not None:
            out = out[-max(1, int(round(last * self.fps))):]
        return out, self.fps

    def finish(self) -> tuple[np.ndarray, float]:
        """The whole pulse: the resampling's tail and the last clip (ending at the last frame) included."""
        self._resample(final=True)  # output frames whose nearest source frame is past the end take the last one
        n = self.n_out
        if n < self.t:
            raise EdgeRPPGError(f"{self.source}: {n} frames at {self.spec.fps} fps is shorter than one {self.t}-frame "
                                f"model clip; use a longer video")
        if (n - self.t) % self.step:
            self.pending.append((n - self.t, np.stack(self.ring)))
        self._run()
        self._collect(block=True)
        self.close()
        out = self.out[:n - self.offset] / np.maximum(self.weight[:n - self.offset], 1e-8)
        return out, self.fps


class FeatureStream:
    """The classical methods' per-frame samples, computed in chunks of about a second."""

    def __init__(self, predictor, fps: float, chunk: float = 1.0, keep: float | None = None):
        self.predictor, self.fps = predictor, float(fps)
        self.chunk = max(1, int(round(chunk * self.fps)))
        self.waiting: list[np.ndarray] = []
        self.samples: deque | list = [] if keep is None else deque(maxlen=int(np.ceil(keep * self.fps)))
        self.features_s = 0.0

    def push(self, crops) -> None:
        self.waiting.extend(crops)
        if len(self.waiting) >= self.chunk:
            self._flush()

    def _flush(self) -> None:
        if self.waiting:
            t0 = time.thread_time()
            self.samples.extend(self.predictor.features(np.stack(self.waiting)))
            self.features_s += time.thread_time() - t0
            self.waiting = []

    def pulse(self, last: float | None = None) -> tuple[np.ndarray, float]:
        self._flush()
        rgb = np.asarray(self.samples)
        if last is not None:
            rgb = rgb[-max(1, int(round(last * self.fps))):]
        return self.predictor.pulse(rgb, self.fps)

    def finish(self) -> tuple[np.ndarray, float]:
        return self.pulse()

    background = False  # the features are computed on the pushing thread

    def close(self) -> None:
        pass
