"""Calibration of the no-pulse test (`signal.hr.no_pulse_reason`): SNR and peak prominence of POS pulses.

    python benchmarks/no_pulse.py --subjects 16 --seed 11

Renders synthetic faces (`data.synth`'s scene, motion, light and sensor noise) twice per subject, once with the
subject's blood-volume pulse and once with it set to zero, plus a featureless grey clip with and without sensor
noise; runs POS on the whole frame (`--crop full`) and prints, per class and for 10 s windows and whole clips,
the range of the de Haan SNR at the estimated HR and of the spectral peak's prominence over the band's median,
and how many the current limits (SNR_MIN_DB, PROMINENCE_MIN_DB) call "no pulse". The limits are set below every
window whose HR came out within 5 bpm of the truth. Figures: docs/results.md.
"""

from __future__ import annotations

import argparse

import numpy as np

from edgerppg.data.pulse import make_pulse
from edgerppg.data.render import make_illumination, make_motion, render
from edgerppg.data.scene import make_scene
from edgerppg.predict.predictors import ClassicalPredictor
from edgerppg.signal.hr import PROMINENCE_MIN_DB, SNR_MIN_DB, heart_rate, no_pulse_reason, peak_prominence, snr


def subject_frames(seed: int, index: int, seconds: float, fps: float, size: int, pulse: bool):
    """One synthetic subject's frames (as `data.synth.render_subject`), its pulse kept or zeroed; and its mean HR."""
    rng = [np.random.default_rng([seed, index, k]) for k in range(5)]
    p = make_pulse(rng[0], seconds, fps)
    scene = make_scene(rng[1], size, amplitude=float(rng[1].uniform(0.004, 0.012)))
    n = len(p.bvp)
    bvp = p.bvp if pulse else np.zeros_like(p.bvp)
    frames = render(scene, bvp, make_motion(rng[2], n, fps, size), make_illumination(rng[3], n, fps), rng[4])
    return frames, p.mean_hr_bpm


def figures(x: np.ndarray, fps: float, true_bpm: float | None) -> dict:
    hr = heart_rate(x, fps)
    flat = np.ptp(x) == 0
    return {"snr": 0.0 if flat else snr(x, fps, hr), "prominence": -np.inf if flat else peak_prominence(x, fps),
            "no_pulse": no_pulse_reason(x, fps, hr) is not None,
            "correct": true_bpm is not None and abs(hr - true_bpm) < 5}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=16)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--window", type=float, default=10.0)
    args = ap.parse_args()
    fps, pos = 30.0, ClassicalPredictor("pos", "full")
    rows = []

    def add(label: str, frames: np.ndarray, true_bpm: float | None) -> None:
        x = np.asarray(pos.pulse(pos.features(frames), fps)[0], dtype=np.float64)
        n = int(args.window * fps)
        for a in range(0, x.size - n + 1, n):
            rows.append({"class": label, "level": "window", **figures(x[a:a + n], fps, true_bpm)})
        rows.append({"class": label, "level": "clip", **figures(x, fps, true_bpm)})

    for i in range(args.subjects):
        for with_pulse in (True, False):
            frames, bpm = subject_frames(args.seed, i, args.seconds, fps, args.size, with_pulse)
            add("pulse" if with_pulse else "no pulse", frames, bpm if with_pulse else None)
    shape = (int(args.seconds * fps), args.size, args.size, 3)
    add("grey", np.full(shape, 128, np.uint8), None)
    noisy = np.random.default_rng(args.seed).normal(128, 1.5, shape)
    add("grey + sensor noise", np.clip(noisy, 0, 255).astype(np.uint8), None)

    print(f"limits: SNR {SNR_MIN_DB} dB, prominence {PROMINENCE_MIN_DB} dB; {args.subjects} subjects, "
          f"{args.seconds:g} s, {args.window:g} s windows, POS --crop full")
    print("| class | level | n | SNR min / median / max (dB) | prominence min / median / max (dB) | called no pulse |")
    print("|---|---|---:|---|---|---:|")
    for label in ("pulse (HR within 5 bpm)", "pulse (HR off)", "no pulse", "grey", "grey + sensor noise"):
        for level in ("window", "clip"):
            base = label.split(" (")[0]
            sel = [r for r in rows if r["class"] == base and r["level"] == level
                   and (base != "pulse" or r["correct"] == ("within" in label))]
            if not sel:
                continue
            s = np.array([r["snr"] for r in sel])
            p = np.array([r["prominence"] for r in sel])
            flagged = sum(r["no_pulse"] for r in sel)
            print(f"| {label} | {level} | {len(sel)} | {s.min():.2f} / {np.median(s):.2f} / {s.max():.2f} | "
                  f"{p.min():.2f} / {np.median(p):.2f} / {p.max():.2f} | {flagged} of {len(sel)} |")


if __name__ == "__main__":
    main()
