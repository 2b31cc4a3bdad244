"""`edgerppg synth`: synthetic rPPG videos with exact ground truth, optionally compressed with real codecs.

Every subject draws its scene, pulse, motion and light from its own seed, so one subject is the same
clip in every codec group: `raw/subject03` and `x264-250k/subject03` are an (original, compressed) pair,
as STVEN training needs. The layout is UBFC-rPPG DATASET_2 per group plus a `manifest.json`:

    OUT/manifest.json
    OUT/<group>/subjectNN/vid.avi|vid.mp4
    OUT/<group>/subjectNN/ground_truth.txt   # line 1 pulse, line 2 HR (bpm), line 3 time (s)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgerppg import progress
from edgerppg.atomic import atomic_dir, write_json
from edgerppg.checks import check_number
from edgerppg.data.encode import check_codec, encode, parse_bitrate
from edgerppg.data.pulse import make_pulse
from edgerppg.data.render import make_illumination, make_motion, render
from edgerppg.data.scene import make_scene
from edgerppg.errors import EdgeRPPGError

FORMAT = "edgerppg-synth/1"


def group_name(codec: str, bitrate: str | None) -> str:
    return "raw" if codec == "raw" else f"{codec}-{parse_bitrate(bitrate or '')}"


def parse_group(name: str) -> tuple[str, float | None]:
    """(codec, kb/s) of a group name: "x264-250k" -> ("x264", 250.0); "raw" or a name not made by `group_name`
    (a real dataset's) -> (name, None), i.e. not a compressed group."""
    codec, _, rate = str(name).partition("-")
    if rate.endswith("k"):
        try:
            return codec, float(rate[:-1])
        except ValueError:
            pass
    return str(name), None


def plan_groups(codecs: list[str], bitrates: list[str]) -> list[tuple[str, str | None]]:
    """(codec, bitrate) for every group: raw once, each compressing codec at every bitrate."""
    groups: list[tuple[str, str | None]] = []
    for codec in codecs:
        check_codec(codec)
        if codec == "raw":
            groups.append(("raw", None))
        else:
            if not bitrates:
                raise EdgeRPPGError(f"codec {codec} needs --bitrate (e.g. 250k)")
            groups += [(codec, parse_bitrate(b)) for b in bitrates]
    if not groups:
        raise EdgeRPPGError("no codec given; pass --codec raw (or x264, x265, mpeg4)")
    return list(dict.fromkeys(groups))


def subject_factors(seed: int, index: int, seconds: float, fps: float, size: int):
    """(Pulse, scene, motion, illumination) of one subject, each from its own random stream [seed, index, k]
    (k = 0..3), so a subject's face does not change with the clip length or the frame size. The sensor noise
    draws from stream 4 (`noise_rng`); `benchmarks/codec_pulse.py` renders the same subject without its pulse."""
    rng = [np.random.default_rng([seed, index, k]) for k in range(4)]
    pulse = make_pulse(rng[0], seconds, fps)
    scene = make_scene(rng[1], size, amplitude=float(rng[1].uniform(0.004, 0.012)))
    n = len(pulse.bvp)
    return pulse, scene, make_motion(rng[2], n, fps, size), make_illumination(rng[3], n, fps)


def noise_rng(seed: int, index: int) -> np.random.Generator:
    """The sensor-noise stream of subject `index` (a fresh one at each call: the same noise again)."""
    return np.random.default_rng([seed, index, 4])


def render_subject(seed: int, index: int, seconds: float, fps: float, size: int):
    """(frames uint8 (N,H,W,3), Pulse) of one subject; deterministic in (seed, index)."""
    pulse, scene, motion, light = subject_factors(seed, index, seconds, fps, size)
    return render(scene, pulse.bvp, motion, light, noise_rng(seed, index)), pulse


def write_ground_truth(path: Path, bvp: np.ndarray, hr: np.ndarray, fps: float) -> None:
    t = np.arange(len(bvp)) / fps
    lines = [" ".join(f"{v:.6e}" for v in row) for row in (bvp, hr, t)]
    path.write_text("\n".join(lines) + "\n")


def synthesize(out_dir: str | Path, subjects: int, seconds: float, fps: float = 30.0, size: int = 128,
               codecs: list[str] | None = None, bitrates: list[str] | None = None, seed: int = 0) -> dict:
    """Write a synthetic dataset to `out_dir` (atomically) and return its manifest."""
    check_number(seconds, "--seconds", 0, 24 * 3600, low_open=True)
    check_number(fps, "--fps", 0, 1000, low_open=True)
    check_number(subjects, "--subjects", 1, 10_000)
    check_number(size, "--size", 32, 4096)
    if seconds * fps < 64:
        raise EdgeRPPGError(f"--seconds {seconds} at {fps} fps gives fewer than 64 frames (one model clip); use more")
    groups = plan_groups(codecs or ["raw"], bitrates or [])
    manifest = {"format": FORMAT, "fps": fps, "size": size, "seconds": seconds, "seed": seed, "subjects": []}
    with atomic_dir(out_dir) as tmp, progress.task("synth", subjects * len(groups)) as bar:
        for i in range(subjects):
            frames, pulse = render_subject(seed, i, seconds, fps, size)
            name = f"subject{i + 1:02d}"
            for codec, bitrate in groups:
                group = group_name(codec, bitrate)
                sub = tmp / group / name
                sub.mkdir(parents=True)
                video = encode(frames, fps, sub / "vid", codec, bitrate)
                write_ground_truth(sub / "ground_truth.txt", pulse.bvp, pulse.hr, fps)
                manifest["subjects"].append({
                    "subject": name, "group": group, "codec": codec, "bitrate": bitrate,
                    "path": str(video.relative_to(tmp)), "fps": fps, "frames": int(len(frames)),
                    "mean_hr_bpm": round(pulse.mean_hr_bpm, 3), "seed": [seed, i], "crop": "full",
                    # the rate the encoder reached (it may undershoot the asked bitrate: MPEG-4 at 64 px does)
                    "kbps": round(video.stat().st_size * 8 / 1000 / (len(frames) / fps), 1),
                })
                bar.advance(status=f"{name} {group}")
        manifest["rates"] = group_rates(manifest["subjects"])
        write_json(tmp / "manifest.json", manifest)
    return manifest


#: an encoder reaching less than this share of the asked rate is reported (`shortfalls`)
SHORTFALL = 0.8


def group_rates(entries) -> dict[str, dict]:
    """{group: {"asked_kbps", "kbps"}} of a synth manifest's compressed groups: the rate asked and the mean
    rate the encoder reached over the group's recordings."""
    reached: dict[str, list[float]] = {}
    for e in entries:
        if parse_group(e["group"])[1] is not None and e.get("kbps") is not None:
            reached.setdefault(e["group"], []).append(float(e["kbps"]))
    return {g: {"asked_kbps": parse_group(g)[1], "kbps": round(float(np.mean(v)), 1)} for g, v in reached.items()}


def shortfalls(manifest: dict) -> list[str]:
    """One line per codec and rate reached where the encoder reached under `SHORTFALL` of the asked rate.
    ffmpeg's MPEG-4 makes 46 kb/s of 64 px video at its finest quantiser whether asked for 250k or 500k, so
    those two groups hold the same video (docs/results.md, 2026-12-05)."""
    rates = manifest.get("rates") or group_rates(manifest.get("subjects") or [])
    short: dict[tuple[str, float], list[str]] = {}
    for g, r in rates.items():
        if r["kbps"] < SHORTFALL * r["asked_kbps"]:
            short.setdefault((parse_group(g)[0], r["kbps"]), []).append(g)
    lines = []
    for (codec, kbps), groups in short.items():
        asked = ", ".join(f"{rates[g]['asked_kbps']:g}" for g in groups)
        lines.append(f"{', '.join(groups)}: the {codec} encoder reached {kbps:g} kb/s where {asked} kb/s was asked "
                     f"({manifest.get('size')} px); it spends no more on this content"
                     + (", so these groups hold the same video" if len(groups) > 1 else ""))
    return lines
