"""Encode frames with real codecs through the ffmpeg that ships inside the imageio-ffmpeg wheel.

Codecs as in Yu et al. (ICCV 2019): H.264 (libx264), H.265 (libx265) and MPEG-4 part 2 at given bitrates;
`raw` keeps every frame losslessly (FFV1 in AVI, which OpenCV reads back bit-exactly).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np

from edgerppg.errors import EdgeRPPGError, require

# codec name -> (ffmpeg encoder arguments, file extension); raw ignores the bitrate
CODECS: dict[str, tuple[list[str], str]] = {
    "raw": (["-c:v", "ffv1", "-level", "3", "-pix_fmt", "bgr0"], ".avi"),
    # one encoder thread: libx264's frame threads make rate control (and so the bits, and the HR error measured
    # on them) differ from run to run; measured: 3 encodes of the same frames at 250k gave 3 different files
    "x264": (["-c:v", "libx264", "-preset", "medium", "-pix_fmt", "yuv420p", "-threads", "1"], ".mp4"),
    "x265": (["-c:v", "libx265", "-preset", "medium", "-pix_fmt", "yuv420p", "-x265-params", "log-level=error"], ".mp4"),
    "mpeg4": (["-c:v", "mpeg4", "-pix_fmt", "yuv420p"], ".avi"),
}
_BITRATE = re.compile(r"^(\d+(?:\.\d+)?)([kM])$")


def parse_bitrate(text: str) -> str:
    """Validate a bitrate like '250k' or '1M' and return it normalised to kb/s ('1000k')."""
    m = _BITRATE.match(text.strip())
    if not m:
        raise EdgeRPPGError(f"bitrate {text!r} is not like '250k' or '1M'; give kb/s with a 'k' suffix")
    kbps = float(m.group(1)) * (1000 if m.group(2) == "M" else 1)
    if kbps <= 0:
        raise EdgeRPPGError(f"bitrate {text!r} must be positive")
    return f"{kbps:g}k"


def check_codec(codec: str) -> str:
    if codec not in CODECS:
        raise EdgeRPPGError(f"unknown codec {codec!r}; choose one of: {', '.join(CODECS)}")
    return codec


def encode(frames: np.ndarray, fps: float, path: Path, codec: str, bitrate: str | None) -> Path:
    """Write uint8 RGB frames (N, H, W, 3) to `path` (extension added for the codec); returns the file."""
    ffmpeg = require("imageio_ffmpeg").get_ffmpeg_exe()
    args, ext = CODECS[check_codec(codec)]
    path = Path(path).with_suffix(ext)
    n, h, w, _ = frames.shape
    cmd = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
           "-r", f"{fps:g}", "-i", "-", *args]
    if codec != "raw":
        kbps = parse_bitrate(bitrate or "1000k")
        cmd += ["-b:v", kbps, "-maxrate", kbps, "-bufsize", f"{2 * float(kbps[:-1]):g}k"]
    cmd += ["-r", f"{fps:g}", "-an", str(path)]
    proc = subprocess.run(cmd, input=np.ascontiguousarray(frames).tobytes(), capture_output=True)
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise EdgeRPPGError(f"{path}: ffmpeg failed to encode with {codec}: {msg[-1] if msg else proc.returncode}")
    return path
