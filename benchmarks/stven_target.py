"""What STVEN's reconstruction target holds on a synthetic dataset: a diagnosis for issue 19 ("whether tiny widths
can learn enhancement").

    python benchmarks/stven_target.py runs/ship/data/data --subjects 4 --stven runs/ship/stven/model.safetensors

Over the first --subjects subjects of an `edgerppg synth` dataset, rendered again from its manifest's seed without
sensor noise and without the pulse (`synth.subject_factors`), per compressed group:

- pixel MSE in grey levels^2 of the group against the original (the `raw` group, STVEN's target in Eq. 3) and
  against the noise-free render;
- the same after 4x4 block means with each block's temporal mean removed (the local changes over time, where
  the pulse lives);
- for scale, the pulse's power in both measures (the noise-free render minus the same without the pulse);
- per --stven checkpoint (a STVEN or a cascade): the share of the pixel MSE against the original that its label-0
  output removes, on back-to-back clips of the model's length (`edgerppg train stven`'s verdict measures the
  same on its validation pairs).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from edgerppg.data.render import render
from edgerppg.data.synth import noise_rng, subject_factors
from edgerppg.data.video import read_video

BLOCK = 4


def local_changes(video: np.ndarray) -> np.ndarray:
    """(N, H/4, W/4, 3): 4x4 block means minus each block's mean over time."""
    n, h, w, c = video.shape
    blocks = video.reshape(n, h // BLOCK, BLOCK, w // BLOCK, BLOCK, c).mean(axis=(2, 4))
    return blocks - blocks.mean(axis=0, keepdims=True)


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a - b) ** 2).mean())


def enhanced(model, video: np.ndarray) -> np.ndarray:
    """STVEN's label-0 output on back-to-back clips of the model's length, as uint8-scale floats."""
    import torch

    frames = model.spec.clip.frames
    out = []
    with torch.no_grad():
        for start in range(0, len(video) - frames + 1, frames):
            x = torch.from_numpy(video[start:start + frames].astype(np.float32) / 255.0).permute(3, 0, 1, 2)[None]
            out.append(model(x, None)[0].permute(1, 2, 3, 0).numpy() * 255.0)
    return np.concatenate(out)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--subjects", type=int, default=4)
    ap.add_argument("--stven", action="append", default=[], help="a STVEN or cascade checkpoint (repeat)")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args(argv)

    import torch

    from edgerppg.models.checkpoint import load_checkpoint

    torch.set_num_threads(1)
    data = Path(args.data)
    manifest = json.loads((data / "manifest.json").read_text())
    models = {}
    for path in args.stven:
        model = load_checkpoint(path)[0]
        models[path] = getattr(model, "stven", model).eval()
    by_subject: dict[str, dict[str, dict]] = {}
    for rec in manifest["subjects"]:
        by_subject.setdefault(rec["subject"], {})[rec["group"]] = rec
    rows: dict[str, dict[str, list[float]]] = {}
    for subject in sorted(by_subject)[: args.subjects]:
        recs = by_subject[subject]
        seed, index = recs["raw"]["seed"]
        pulse, scene, motion, light = subject_factors(seed, index, manifest["seconds"], manifest["fps"],
                                                      manifest["size"])
        clean = render(scene, pulse.bvp, motion, light, noise_rng(seed, index), noise_sigma=0.0).astype(np.float64)
        flat = render(scene, 0 * pulse.bvp, motion, light, noise_rng(seed, index), noise_sigma=0.0).astype(np.float64)
        original = read_video(data / recs["raw"]["path"])[0].astype(np.float64)
        for group, rec in sorted(recs.items()):
            if group == "raw":
                continue
            video = read_video(data / rec["path"])[0]
            v = video.astype(np.float64)
            row = rows.setdefault(group, {})
            for key, value in [("mse_original", mse(v, original)), ("mse_clean", mse(v, clean)),
                               ("local_original", mse(local_changes(v), local_changes(original))),
                               ("local_clean", mse(local_changes(v), local_changes(clean))),
                               ("pulse", mse(clean, flat)),
                               ("local_pulse", mse(local_changes(clean), local_changes(flat)))]:
                row.setdefault(key, []).append(value)
            for path, model in models.items():
                out = enhanced(model, video)
                n = len(out)
                before, after = mse(v[:n], original[:n]), mse(out, original[:n])
                row.setdefault(f"removed {path}", []).append(1.0 - after / before)
    table = {g: {k: float(np.mean(v)) for k, v in row.items()} for g, row in rows.items()}
    print(f"{data}: {min(args.subjects, len(by_subject))} subjects; grey levels^2 (pixel, then 4x4 local changes)")
    cols = ["mse_original", "mse_clean", "pulse", "local_original", "local_clean", "local_pulse"]
    heads = ["vs original", "vs noise-free", "pulse", "local vs original", "local vs noise-free", "local pulse"]
    heads += [f"removed by {'/'.join(Path(p).parts[-3:-1])} %" for p in models]  # run/stage
    print("| group | " + " | ".join(heads) + " |\n|---|" + "---:|" * len(heads))
    for g, r in table.items():
        cells = [f"{r[c]:.3f}" if "local" in c or c == "pulse" else f"{r[c]:.2f}" for c in cols]
        cells += [f"{100 * r[f'removed {p}']:.2f}" for p in models]
        print(f"| {g} | " + " | ".join(cells) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
