"""What the codecs do to the synthetic pulse: a diagnosis for issue 19 ("why compressed video defeats the models").

    python benchmarks/codec_pulse.py --subjects 6 --seconds 20 --size 64 --seed 4000 --json codec.json

Renders subjects exactly as `edgerppg synth` does, encodes them at each codec and bitrate, and measures on the
*oracle* skin (the pixels where the renderer's warped pulse map is above half its maximum, so no detector or mask
model is involved), per group:

- kb/s the encoder reached (manifest `kbps`) and bits per pixel (kb/s / (fps * size^2));
- gain %: how much of the pulse survives: the group's band-passed skin-mean green regressed on the true pulse
  trace and on the rest (the same render without the pulse, same noise; the pulse is the difference), the
  pulse's coefficient (100 on lossless video);
- face SNR and 4x4 block SNR (dB, de Haan 2013, at the true HR): the skin mean, and the median over the 4x4
  pixel blocks that are skin in every frame (what a conv network sees locally);
- frozen %: skin pixels whose green value equals the previous frame's (the codec skipped the block);
- POS on the oracle skin and POS as shipped (`ClassicalPredictor("pos")`, its own skin detection): per 10 s
  window MAE against the truth.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from edgerppg.data import load_dataset
from edgerppg.data.render import render
from edgerppg.data.synth import noise_rng, subject_factors, synthesize
from edgerppg.predict.evaluate import evaluate
from edgerppg.predict.predictors import ClassicalPredictor
from edgerppg.signal.classical import pos
from edgerppg.signal.filters import prepare
from edgerppg.signal.hr import sliding_hr, snr
from edgerppg.signal.rgb import mean_rgb

BLOCK = 4


def oracle(seed: int, index: int, seconds: float, fps: float, size: int):
    """(skin masks (N,H,W) bool, the skin-mean green of the true pulse and of the rest (N,), Pulse) of one subject.

    The scene, motion and noise are `synth.render_subject`'s, so they are the ones in the videos; the subject is
    rendered again without the pulse (same noise), and the pulse is the difference.
    """
    import cv2

    pulse, scene, motion, light = subject_factors(seed, index, seconds, fps, size)
    n = len(pulse.bvp)
    flat = render(scene, np.zeros_like(pulse.bvp), motion, light, noise_rng(seed, index))
    frames = render(scene, pulse.bvp, motion, light, noise_rng(seed, index))
    layer = scene.face[..., 3] * scene.pulse_map[..., 1]
    masks = np.empty((n, size, size), bool)
    for i in range(n):
        m = cv2.getRotationMatrix2D((size / 2, size / 2), float(motion.angle[i]), float(motion.scale[i]))
        m[:, 2] += (motion.dx[i], motion.dy[i])
        masks[i] = cv2.warpAffine(layer, m, (size, size), flags=cv2.INTER_LINEAR) > 0.5 * layer.max()
    rest = mean_rgb(flat, masks)[:, 1]
    return masks, mean_rgb(frames, masks)[:, 1] - rest, rest, pulse


def measure(frames: np.ndarray, masks: np.ndarray, true: np.ndarray, rest: np.ndarray, pulse, fps: float) -> dict:
    rgb = mean_rgb(frames, masks)
    g = prepare(rgb[:, 1], fps)
    p = prepare(true, fps)
    f = prepare(rest, fps)   # motion and light: regressed out beside the pulse
    (gain, _), *_ = np.linalg.lstsq(np.stack([p, f], 1), g, rcond=None)
    hr = float(np.median(pulse.hr))
    green = frames[..., 1].astype(np.float32)
    n, h, w = masks.shape
    always = masks.reshape(n, h // BLOCK, BLOCK, w // BLOCK, BLOCK).all(axis=(0, 2, 4))
    blocks = green.reshape(n, h // BLOCK, BLOCK, w // BLOCK, BLOCK).mean(axis=(2, 4))[:, always]
    block_snr = [snr(blocks[:, k], fps, hr) for k in range(blocks.shape[1])]
    both = masks[1:] & masks[:-1]
    frozen = (frames[1:, ..., 1] == frames[:-1, ..., 1])[both].mean()
    _, want = sliding_hr(pulse.bvp, fps, window=10.0, step=10.0)
    _, got = sliding_hr(pos(rgb, fps), fps, window=10.0, step=10.0)
    return {"gain": float(gain), "face_snr": snr(g, fps, hr),
            "block_snr": float(np.median(block_snr)) if block_snr else float("nan"),
            "frozen": float(frozen), "pos_oracle_errors": list(np.abs(got - want))}


def run(subjects: int, seconds: float, size: int, seed: int, codecs: list[str], bitrates: list[str]) -> dict:
    fps = 30.0
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "d"
        manifest = synthesize(data, subjects, seconds, fps, size, ["raw", *codecs], bitrates, seed)
        recs = load_dataset(data)
        groups = list(dict.fromkeys(s["group"] for s in manifest["subjects"]))
        rows: dict[str, dict] = {g: {"kbps": [], "gain": [], "face_snr": [], "block_snr": [], "frozen": [],
                                     "pos_oracle_errors": []} for g in groups}
        for i in range(subjects):
            masks, true, rest, pulse = oracle(seed, i, seconds, fps, size)
            for rec in (r for r in recs if r.subject == f"subject{i + 1:02d}"):
                m = measure(rec.read_frames(), masks, true, rest, pulse, fps)
                row = rows[rec.group]
                for k in ("gain", "face_snr", "block_snr", "frozen"):
                    row[k].append(m[k])
                row["pos_oracle_errors"] += m["pos_oracle_errors"]
            print(f"subject {i + 1}/{subjects} measured", file=sys.stderr)
        for s in manifest["subjects"]:
            rows[s["group"]]["kbps"].append(s["kbps"])
        shipped = evaluate(recs, ClassicalPredictor("pos"), window=10.0)["groups"]
    out = {"subjects": subjects, "seconds": seconds, "size": size, "seed": seed, "fps": fps, "groups": {}}
    for g, row in rows.items():
        kbps = float(np.mean(row["kbps"]))
        out["groups"][g] = {
            "kbps": kbps, "bpp": kbps * 1000 / (fps * size * size),
            "gain_pct": 100 * float(np.mean(row["gain"])), "face_snr_db": float(np.mean(row["face_snr"])),
            "block_snr_db": float(np.mean(row["block_snr"])), "frozen_pct": 100 * float(np.mean(row["frozen"])),
            "pos_oracle_mae": float(np.mean(row["pos_oracle_errors"])),
            "pos_shipped_mae": float(shipped[g]["window"]["mae"]), "windows": len(row["pos_oracle_errors"]),
        }
    return out


def table(res: dict) -> str:
    head = ("| group | kb/s | bpp | gain % | face SNR dB | 4x4 block SNR dB | frozen % | POS oracle MAE "
            "| POS as shipped MAE |\n|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for g, r in res["groups"].items():
        lines.append(f"| {g} | {r['kbps']:.0f} | {r['bpp']:.3f} | {r['gain_pct']:.0f} | {r['face_snr_db']:.1f} | "
                     f"{r['block_snr_db']:.1f} | {r['frozen_pct']:.0f} | {r['pos_oracle_mae']:.2f} | "
                     f"{r['pos_shipped_mae']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=4000)
    ap.add_argument("--codecs", default="x264,x265,mpeg4")
    ap.add_argument("--bitrates", default="250k,500k")
    ap.add_argument("--json", help="also write the figures here")
    a = ap.parse_args(argv)
    res = run(a.subjects, a.seconds, a.size, a.seed, a.codecs.split(","), a.bitrates.split(","))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))
    print(f"{a.subjects} subjects x {a.seconds:g} s at {a.size} px, seed {a.seed}; "
          f"{res['groups']['raw']['windows']} windows of 10 s per group")
    print(table(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
