"""Soak benchmark for live `edgerppg hr`: a synthetic face stream over loopback UDP for about 10 minutes.

FFmpeg (the imageio-ffmpeg binary) streams a looped 640x480 synthetic face video (benchmarks/face_video.py, a known
pulse) in real time as MPEG-TS over udp://127.0.0.1; `edgerppg hr udp://... --json --duration S` reads it. This script
samples the reader's resident memory (its process and children) every few seconds and parses its JSON updates, then
reports memory after warm-up against the end, the memory slope (least squares), updates, frames dropped, latency and
HR. It exits 1 when memory grows (slope over --max-slope MiB/min, or growth after warm-up over --max-growth MiB).

    python benchmarks/soak_live.py --minutes 10 --json-out soak.json        # POS
    python benchmarks/soak_live.py --minutes 10 --model runs/default/export-10x/fp32   # a model artifact

Loopback only: nothing leaves the machine. Not a pytest test (it takes as long as it says).
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from face_video import make_face_video  # noqa: E402

BPM = 72.0  # the synthetic face's pulse
WARM_UP_S = 60.0  # memory before this is start-up (imports, model load, first windows), not growth


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sender(video: Path, port: int) -> subprocess.Popen:
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", str(video),
           "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-f", "mpegts", f"udp://127.0.0.1:{port}?pkt_size=1316"]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL)


def _rss_mib(proc: psutil.Process) -> float:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def soak(minutes: float, model: str | None, interval: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="edgerppg-soak-") as tmp:
        video = make_face_video(Path(tmp) / "face.mp4", seconds=60.0, bpm=BPM)
        port = _free_udp_port()
        sender = _sender(video, port)
        cmd = [sys.executable, "-m", "edgerppg", "hr", f"udp://127.0.0.1:{port}", "--json",
               "--duration", str(minutes * 60), "--timeout", "20"]
        cmd += ["--model", model] if model else []
        reader = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        updates: list[dict] = []
        pump = threading.Thread(target=lambda: updates.extend(json.loads(line) for line in reader.stdout), daemon=True)
        pump.start()
        samples: list[tuple[float, float]] = []
        start = time.monotonic()
        ps = psutil.Process(reader.pid)
        try:
            while reader.poll() is None:
                samples.append((time.monotonic() - start, _rss_mib(ps)))
                time.sleep(interval)
        finally:
            sender.kill()
            sender.wait()
        pump.join(timeout=10)
        stderr = reader.stderr.read()
    if reader.returncode != 0:
        raise SystemExit(f"edgerppg hr exited {reader.returncode}: {stderr.strip()[-500:]}")
    t, rss = (np.array(v) for v in zip(*samples))
    steady = t >= WARM_UP_S
    slope = float(np.polyfit(t[steady] / 60.0, rss[steady], 1)[0]) if steady.sum() >= 3 else float("nan")
    hr = np.array([u["hr_bpm"] for u in updates if u.get("hr_bpm") is not None])
    lat = np.array([u["latency_ms"] for u in updates if u.get("latency_ms") is not None])
    return {
        "minutes": minutes, "source": "udp loopback, x264 640x480 30 fps, looped 60 s synthetic face",
        "method": model or "pos", "wall_s": round(float(t[-1]), 1), "samples": len(samples),
        "rss_start_mib": round(float(rss[0]), 1), "rss_after_warm_up_mib": round(float(rss[steady][0]), 1),
        "rss_end_mib": round(float(rss[-1]), 1), "rss_peak_mib": round(float(rss.max()), 1),
        "growth_after_warm_up_mib": round(float(rss[-1] - rss[steady][0]), 1),
        "slope_mib_per_min": round(slope, 3), "updates": len(updates),
        "frames_dropped": int(updates[-1]["frames_dropped"]) if updates else None,
        "frames_without_face": int(updates[-1]["frames_without_face"]) if updates else None,
        "latency_ms_p50": round(float(np.median(lat)), 1) if lat.size else None,
        "latency_ms_p95": round(float(np.percentile(lat, 95)), 1) if lat.size else None,
        "hr_bpm_median": round(float(np.median(hr)), 2) if hr.size else None, "hr_bpm_truth": BPM,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--model", help="checkpoint or export dir (default: POS)")
    ap.add_argument("--interval", type=float, default=5.0, help="seconds between memory samples")
    ap.add_argument("--max-slope", type=float, default=1.0, help="MiB per minute allowed after warm-up")
    ap.add_argument("--max-growth", type=float, default=32.0, help="MiB allowed from warm-up to the end")
    ap.add_argument("--json-out", type=Path, help="write the result here too")
    args = ap.parse_args()
    result = soak(args.minutes, args.model, args.interval)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json_out:
        args.json_out.write_text(text + "\n")
    grew = result["slope_mib_per_min"] > args.max_slope or result["growth_after_warm_up_mib"] > args.max_growth
    if grew:
        print(f"memory grew: {result['slope_mib_per_min']} MiB/min, {result['growth_after_warm_up_mib']} MiB",
              file=sys.stderr)
    sys.exit(1 if grew else 0)


if __name__ == "__main__":
    main()
