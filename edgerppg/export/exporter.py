"""`export_checkpoint`: checkpoint -> artifact directory (model.onnx + manifest.json), parity-checked.

Path in, path out (Ultralytics' exporter without the flag unpacking): the deploy form, its factorised 3D convs
rewritten as 2D ones (`export.conv2d`, unless `conv2d=False`), is exported at the clip spec the model carries,
tidied by onnxslim, converted to the requested precision, optionally stored with
sparse initializers, then run in ONNX Runtime against torch on seeded synthetic clips. A failing parity
check raises and, because everything is written inside `atomic_dir`, leaves nothing behind.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

import numpy as np

from edgerppg import progress
from edgerppg.atomic import atomic_dir, write_json
from edgerppg.errors import EdgeRPPGError
from edgerppg.export import steps
from edgerppg.export.bundle import TARGETS
from edgerppg.export.options import ExportOptions
from edgerppg.export.parity import failure_message
from edgerppg.export.session import make_session
from edgerppg.manifest import sha256_file


def _chunks(clips: np.ndarray, batch: int) -> list[np.ndarray]:
    """Split clips into batches of exactly `batch` (the last one padded by repeating clips)."""
    n = -(-len(clips) // batch) * batch
    padded = np.concatenate([clips, clips[: n - len(clips)]]) if n > len(clips) else clips
    return [padded[i:i + batch] for i in range(0, n, batch)]


def torch_reference(deploy, example: tuple, chunks: list[np.ndarray]) -> np.ndarray:
    """The deploy form's outputs on each chunk (extra inputs, e.g. STVEN labels, from `example`)."""
    import torch

    outs = []
    with torch.no_grad():
        for chunk in chunks:
            extras = [e[:1].expand(len(chunk), *e.shape[1:]) for e in example[1:]]
            y = deploy(torch.from_numpy(chunk), *extras)
            y = y[0] if isinstance(y, (tuple, list)) else y
            outs.append(y.float().cpu().numpy())
    return np.concatenate(outs)


def onnx_outputs(path: Path, input_names: list[str], example: tuple, chunks: list[np.ndarray]) -> np.ndarray:
    """The exported graph's first output on each chunk, through the same ONNX Runtime session code as `ort`."""
    session = make_session(path, device="cpu", threads=None)
    extras = {n: t.cpu().numpy()[:1] for n, t in zip(input_names[1:], example[1:])}
    return np.concatenate([
        session.run(None, {input_names[0]: c, **{n: np.repeat(e, len(c), 0) for n, e in extras.items()}})[0]
        for c in chunks])


def norm_hint(deploy, clip: np.ndarray) -> str:
    """Name the usual culprits when parity fails: InstanceNorm with running stats (pytorch #72057), or dead
    channels (a constant, variance below eps) entering an InstanceNorm, which unstructured pruning leaves
    behind: their normalised output is float rounding noise, so torch and any runtime legitimately disagree.
    Channels of exact zeros are not counted: they normalise to exact zeros in every runtime."""
    import torch

    norms = {n: m for n, m in deploy.named_modules() if type(m).__name__.startswith("InstanceNorm")}
    running = [n for n, m in norms.items() if getattr(m, "track_running_stats", False)]
    if running:
        return (f"InstanceNorm layers {', '.join(running[:3])}{'...' if len(running) > 3 else ''} use running stats in "
                f"eval, which ONNX InstanceNormalization ignores (pytorch #72057); rebuild them with "
                f"track_running_stats=False before exporting")
    dead: dict[str, int] = {}

    def hook(name, m):
        def fn(_, inputs, __):
            x = inputs[0].detach().float()
            dims = tuple(range(2, x.dim()))
            # a channel of exact zeros (all-zero weights, no bias) normalises to exact zeros everywhere: harmless
            bad = int(((x.var(dim=dims) < m.eps) & (x.abs().amax(dim=dims) > 0)).sum())
            if bad:
                dead[name] = bad
        return fn

    handles = [m.register_forward_hook(hook(n, m)) for n, m in norms.items()]
    try:
        with torch.no_grad():
            deploy(torch.from_numpy(clip[:1]))
    finally:
        for h in handles:
            h.remove()
    if dead:
        return (f"{sum(dead.values())} channels reach InstanceNorm layers ({', '.join(list(dead)[:3])}...) with variance "
                f"below eps, typical of unstructured pruning without fine-tuning: their normalised output is rounding "
                f"noise; fine-tune the pruned model or prune those channels structurally")
    return "nothing was written; try --precision fp32 or another --opset"


def export_module(model, out: str | os.PathLike, options: ExportOptions = ExportOptions(),
                  source: dict | None = None) -> dict:
    """Export `model` (with `.spec`, `.deploy()`, `.example_inputs()`) into the artifact directory `out`."""
    options.validate()
    spec = model.spec
    deploy = model.deploy().eval()
    batch = 1 if options.dynamic else int(options.batch)
    example = tuple(model.example_inputs(batch=batch))
    clips = steps.parity_inputs(spec.clip, options)
    # a dynamic export is traced at batch 1 and checked at batch 2, so a baked-in batch size fails parity
    chunks = _chunks(clips, 2 if options.dynamic else batch)
    with progress.task(f"export {spec.name}", steps.count(options) + 2) as bar, atomic_dir(out) as tmp:
        bar.update("torch reference")
        reference = torch_reference(deploy, example, chunks)
        bar.advance(status=f"ONNX export ({options.exporter})")
        info = steps.build_onnx(deploy, example, spec, tmp, options, step=lambda what: bar.advance(status=what))
        bar.update("parity in ONNX Runtime")
        candidate = onnx_outputs(tmp / "model.onnx", list(spec.input_names), example, chunks)
        bar.advance(status="parity checked")
        figures = steps.parity_figures(reference, candidate, spec.clip.fps, options)
        if not figures["passed"]:
            raise EdgeRPPGError(failure_message(str((source or {}).get("checkpoint", spec.name)), figures,
                                                 norm_hint(deploy, clips)))
        manifest = steps.manifest(spec, options, info, figures, source, tmp / "model.onnx")
        manifest["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        if options.target:
            manifest["bundle"] = TARGETS.get(options.target)(tmp, manifest)
        write_json(tmp / "manifest.json", manifest)
    manifest["path"] = str(Path(out))
    return manifest


def export_checkpoint(ckpt: str | os.PathLike, out: str | os.PathLike, options: ExportOptions = ExportOptions()) -> dict:
    """Load a checkpoint (weights + architecture manifest) and export its deploy form to `out`."""
    from edgerppg.models.checkpoint import load_checkpoint

    options.validate()
    model, ck = load_checkpoint(ckpt)
    model.eval()
    recipe = ck.get("recipe_hash")
    if recipe is None and isinstance(ck.get("recipe"), dict):
        recipe = ck["recipe"].get("hash")
    source = {
        "checkpoint": str(ckpt),
        "sha256": sha256_file(ckpt),
        "recipe_hash": recipe,
        "model": ck.get("model"),
        "variant": ck.get("variant"),
        "transforms": ck.get("transforms", []),
    }
    return export_module(model, out, options, source)
