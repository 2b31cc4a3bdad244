"""Live sources for `edgerppg hr`: a loopback UDP stream gives HR updates with latency and drop counts; a URL
that never answers, a missing camera and a stream that stops end in one line with exit code 2 within the
timeout. The sender is FFmpeg (the imageio-ffmpeg binary) streaming MPEG-TS over loopback UDP."""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "signal"))
from test_signal_cli import BPM, face_video  # noqa: E402,F401  (the module-scoped fixture)


def _ffmpeg() -> str:
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    return imageio_ffmpeg.get_ffmpeg_exe()


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _send(video, port, loops=-1, seconds=None):
    """FFmpeg streaming `video` in real time to udp://127.0.0.1:port (H.264, a key frame every second)."""
    cmd = [_ffmpeg(), "-loglevel", "error", "-re", "-stream_loop", str(loops), "-i", str(video)]
    cmd += ["-t", str(seconds)] if seconds else []
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-f", "mpegts", f"udp://127.0.0.1:{port}?pkt_size=1316"]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL)


def test_udp_stream_gives_updates_with_latency_and_drops(capsys, face_video):
    port = _free_udp_port()
    sender = _send(face_video, port)
    try:
        code, out, err = run(capsys, "hr", f"udp://127.0.0.1:{port}", "--duration", "14", "--window", "5", "--json",
                             "--timeout", "10")
    finally:
        sender.kill()
    updates = [json.loads(line) for line in out.splitlines()]
    assert code == 0, err
    assert len(updates) >= 3
    assert all({"latency_ms", "frames_dropped", "frames_without_face", "fps_processing"} <= set(u) for u in updates)
    assert all(u["latency_ms"] is None or 0 <= u["latency_ms"] < 10_000 for u in updates)
    assert abs(np.median([u["hr_bpm"] for u in updates]) - BPM) < 5.0


def test_url_that_never_answers_is_one_line_within_the_timeout(capsys):
    start = time.monotonic()
    code, _, err = run(capsys, "hr", f"udp://127.0.0.1:{_free_udp_port()}", "--timeout", "2", "--json")
    assert code == 2 and err.strip().startswith("error:") and len(err.strip().splitlines()) == 1
    assert "did not open within 2 s" in err and time.monotonic() - start < 15


def test_missing_camera_is_one_line(capsys):
    code, _, err = run(capsys, "hr", "--camera", "97", "--timeout", "2")
    assert code == 2 and "camera 97" in err and len(err.strip().splitlines()) == 1


def test_stream_that_stops_ends_with_exit_2(capsys, face_video):
    port = _free_udp_port()
    sender = _send(face_video, port, loops=0, seconds=6)
    try:
        code, out, err = run(capsys, "hr", f"udp://127.0.0.1:{port}", "--timeout", "3", "--window", "3", "--json")
    finally:
        sender.kill()
    assert code == 2 and "stopped delivering frames" in err and len(err.strip().splitlines()) == 1
