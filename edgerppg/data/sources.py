"""Frame sources for streaming heart rate: a video file, a file still being written, a camera, a network stream.

Each source decodes in a background thread into a bounded queue, so decoding overlaps with face tracking and
inference. A file is read completely (the reader waits when the queue is full: nothing is dropped); a camera
or a network stream runs at its own pace, so when the consumer falls behind the oldest queued frame is
dropped, and every drop is counted (`stats["dropped"]`), never absorbed silently. Frames are OpenCV's BGR
arrays with the monotonic time they were captured. Network streams (rtsp://, rtmp://, udp://, tcp://,
http(s)://, srt://) go through OpenCV's FFmpeg backend with open and read timeouts; a source that cannot be
opened, stops delivering or never answers ends in one EdgeRPPGError line naming it.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgerppg.errors import EdgeRPPGError, require

URL_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "udp://", "tcp://", "http://", "https://", "srt://")
#: seconds to wait for a source to open, and for the next frame of a live source, before giving up
OPEN_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 10.0
_END = object()


@dataclass
class Frame:
    image: np.ndarray  # BGR uint8 (H, W, 3)
    index: int  # position in the source (dropped frames included)
    captured: float  # time.monotonic() when the reader got it


@dataclass
class SourceSpec:
    """Where frames come from: exactly one of `path`, `follow`, `camera`, `url`."""

    path: str | None = None
    follow: str | None = None
    camera: int | None = None
    url: str | None = None
    duration: float | None = None  # wall-clock seconds, then the source ends
    queue_size: int = 64
    open_timeout: float = OPEN_TIMEOUT_S
    read_timeout: float = READ_TIMEOUT_S
    poll: float = 0.2  # follow: seconds between looks at a growing file

    @property
    def name(self) -> str:
        return self.path or self.follow or self.url or f"camera {self.camera}"

    @property
    def live(self) -> bool:
        """A source that runs at its own pace (frames are dropped, not waited for)."""
        return self.camera is not None or self.url is not None


def _is_mac() -> bool:
    import sys

    return sys.platform == "darwin"


def is_url(text: str) -> bool:
    return str(text).lower().startswith(URL_SCHEMES)


class FrameSource:
    """Iterate over `Frame`s of a `SourceSpec`; `fps`, `width`, `height` are known once it is open.

    Use as a context manager (or call `close()`): the reader thread stops and the capture is released.
    """

    def __init__(self, spec: SourceSpec):
        if sum(x is not None for x in (spec.path, spec.follow, spec.camera, spec.url)) != 1:
            raise EdgeRPPGError("give exactly one video source: a file, --follow FILE, --camera N or a stream URL")
        self.spec = spec
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # libav's decoder warnings are not ours to print
        self.cv2 = require("cv2")
        self.cv2.utils.logging.setLogLevel(self.cv2.utils.logging.LOG_LEVEL_SILENT)  # nor OpenCV's: ours say it
        self.stats = {"read": 0, "dropped": 0, "decode_s": 0.0, "cpu_s": 0.0}
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, spec.queue_size))
        self._stop = threading.Event()
        self._error: EdgeRPPGError | None = None
        self._began = time.monotonic()
        self.cap = self._open()
        fps = float(self.cap.get(self.cv2.CAP_PROP_FPS) or 0.0)
        if spec.path is not None and not fps > 0:
            self.cap.release()
            raise EdgeRPPGError(f"{spec.path}: the container gives no frame rate; re-mux it with ffmpeg -r <fps>")
        self.fps = fps if 1.0 <= fps <= 240.0 else 30.0
        self.width = int(self.cap.get(self.cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self.cap.get(self.cv2.CAP_PROP_FRAME_HEIGHT))
        self.frames_declared = int(self.cap.get(self.cv2.CAP_PROP_FRAME_COUNT)) if spec.path else 0
        self._thread = threading.Thread(target=self._run, name="edgerppg-reader", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------------------------------------ opening
    def _open(self):
        spec, cv2 = self.spec, self.cv2
        if spec.path is not None:
            path = Path(spec.path)
            if not path.is_file():
                raise EdgeRPPGError(f"{path}: no such video file; check the path")
            if path.stat().st_size == 0:
                raise EdgeRPPGError(f"{path}: the file is empty; re-copy or re-record it")
            cap = cv2.VideoCapture(str(path))
            if not cap.isOpened():
                raise EdgeRPPGError(f"{path}: not a readable video (unknown format or truncated); re-encode it, e.g. "
                                    "with ffmpeg")
            return cap
        if spec.follow is not None:
            return self._open_growing()
        if spec.camera is not None:
            device = Path(f"/dev/video{int(spec.camera)}")
            if Path("/dev").is_dir() and not device.exists() and os.name == "posix" and not _is_mac():
                raise EdgeRPPGError(f"camera {spec.camera}: no such device ({device}); check the camera index "
                                    "(ls /dev/video*)")
            cap = self._open_within(lambda: cv2.VideoCapture(int(spec.camera)))
            if cap is None or not cap.isOpened():
                raise EdgeRPPGError(f"camera {spec.camera}: cannot be opened; check the camera index (ls /dev/video*) "
                                    "and that no other program holds it")
            return cap
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(spec.open_timeout * 1000),
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(spec.read_timeout * 1000)]
        cap = self._open_within(lambda: cv2.VideoCapture(spec.url, cv2.CAP_FFMPEG, params), spec.open_timeout + 2)
        if cap is None or not cap.isOpened():
            raise EdgeRPPGError(f"{spec.url}: the stream did not open within {spec.open_timeout:g} s; check the URL, "
                                "that the sender is running and that the network lets it through")
        return cap

    def _open_within(self, opener, timeout: float | None = None):
        """Run a blocking open in a helper thread; None when it takes longer than the open timeout."""
        box: list = []
        worker = threading.Thread(target=lambda: box.append(opener()), daemon=True)
        worker.start()
        worker.join(self.spec.open_timeout if timeout is None else timeout)
        return box[0] if box else None

    def _open_growing(self):
        """A file that may not exist or have a readable header yet: retry until it opens or the timeout."""
        path, cv2 = Path(self.spec.follow), self.cv2
        limit = self.spec.open_timeout if self.spec.duration is None else max(self.spec.open_timeout,
                                                                               self.spec.duration)
        while True:
            if path.is_file() and path.stat().st_size > 0:
                cap = cv2.VideoCapture(str(path))
                if cap.isOpened():
                    return cap
                cap.release()
            if time.monotonic() - self._began > limit:
                raise EdgeRPPGError(f"{path}: no readable video appeared within {limit:g} s; check the path and that "
                                    "the recorder is writing it")
            time.sleep(self.spec.poll)

    # ------------------------------------------------------------------------------------------------ reading
    def _expired(self) -> bool:
        return self.spec.duration is not None and time.monotonic() - self._began >= self.spec.duration

    def _put(self, item) -> None:
        """Queue a frame: a live source drops the oldest queued frame when full, a file waits."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                if self.spec.live and item is not _END:
                    try:
                        self._queue.get_nowait()
                        self.stats["dropped"] += 1
                    except queue.Empty:
                        pass

    def _run(self) -> None:
        cpu = time.thread_time()
        try:
            if self.spec.follow is not None:
                self._read_growing()
            else:
                self._read()
        except EdgeRPPGError as exc:
            self._error = exc
        finally:
            self.cap.release()
            self.stats["cpu_s"] = time.thread_time() - cpu
            self._put(_END)

    def _grab(self):
        t0 = time.perf_counter()
        ok, image = self.cap.read()
        self.stats["decode_s"] += time.perf_counter() - t0
        return ok, image

    def _read(self) -> None:
        last = time.monotonic()
        while not self._stop.is_set() and not self._expired():
            ok, image = self._grab()
            if not ok:
                if self.spec.path is not None:
                    return  # end of the file
                if time.monotonic() - last > self.spec.read_timeout:  # a stream may start between key frames
                    raise EdgeRPPGError(f"{self.spec.name}: stopped delivering frames after {self.stats['read']} "
                                        f"frames; check the {'connection' if self.spec.url else 'camera'}")
                time.sleep(0.01)
                continue
            last = time.monotonic()
            self._put(Frame(image, self.stats["read"] + self.stats["dropped"], last))
            self.stats["read"] += 1

    def _read_growing(self) -> None:
        """At the end of a growing file, wait, reopen and skip what was already read."""
        read, cv2 = 0, self.cv2
        while not self._stop.is_set() and not self._expired():
            ok, image = self._grab()
            if ok:
                self._put(Frame(image, read, time.monotonic()))
                read += 1
                self.stats["read"] = read
                continue
            time.sleep(self.spec.poll)
            self.cap.release()
            self.cap = cv2.VideoCapture(str(self.spec.follow))
            for _ in range(read):
                if not self.cap.grab():
                    break

    def __iter__(self):
        while True:
            item = self._queue.get()
            if item is _END:
                if self._error is not None:
                    raise self._error
                return
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def source_spec(target: str | None = None, camera: int | None = None, follow: str | None = None,
                duration: float | None = None, **options) -> SourceSpec:
    """A SourceSpec from the `hr` command's arguments: TARGET is a file path or a stream URL."""
    url = str(target) if target is not None and is_url(str(target)) else None
    path = None if target is None or url else str(target)
    return SourceSpec(path=path, follow=str(follow) if follow is not None else None, camera=camera, url=url,
                      duration=duration, **options)


__all__ = ["Frame", "FrameSource", "SourceSpec", "is_url", "source_spec"]
