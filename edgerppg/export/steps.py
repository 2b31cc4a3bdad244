"""The steps of one export, each small: parity inputs, build the ONNX file, parity figures, manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgerppg.export import graph
from edgerppg.export.calib import calibration_clips
from edgerppg.export.macs import onnx_macs
from edgerppg.export.options import FORMAT, options_dict
from edgerppg.export.ort_layout import to_ort_layout
from edgerppg.export.parity import compare, synthetic_clips
from edgerppg.export.precision import PRECISIONS
from edgerppg.export.torch_export import export_onnx, tidy, tidy_name
from edgerppg.manifest import sha256_file, versions


def parity_inputs(clip, options) -> np.ndarray:
    """Seeded synthetic clips for the parity check, in the model's input format (spec.ClipSpec.to_model)."""
    return np.ascontiguousarray(clip.to_model(synthetic_clips(clip, n=options.parity_clips, seed=options.seed)),
                                dtype=np.float32)


def fold_label0(deploy) -> tuple:
    """A copy of `deploy` whose STVENs enhance through `models.stven.Label0Input` (no label planes), and
    how many were folded; `deploy` itself when it has none. Every precision and graph form gets it."""
    import copy

    if not any(hasattr(m, "fold_label0") for m in deploy.modules()):
        return deploy, 0
    deploy = copy.deepcopy(deploy)
    stvens = [m for m in deploy.modules() if hasattr(m, "fold_label0")]
    for stven in stvens:
        stven.fold_label0()
    return deploy, len(stvens)


def export_form(deploy, options) -> tuple:
    """The module handed to the ONNX exporter and what was rewritten ({"type": "none"} when nothing).

    STVEN's label planes are folded away first (`fold_label0`; recorded as "label0_folded"). The 2D-conv
    rewrite is used for every precision: it also made the fp32 graph faster in ONNX Runtime
    (docs/deploy.md). Average pools become depthwise convs for int8 only, where ORT's QLinearAveragePool is
    slow; in float the pooling op is as fast and is what every runtime expects.
    """
    deploy, folded = fold_label0(deploy)
    extra = {"label0_folded": folded} if folded else {}
    if not options.conv2d:
        return deploy, {"type": "none", **extra}
    from edgerppg.export.conv2d import as_conv2d

    module, counts = as_conv2d(deploy, pool_as_conv=options.precision == "int8")
    return module, {"type": "conv2d", **counts, **extra}


def uses_ort_layout(options) -> bool:
    """int8 for ONNX Runtime's CPU kernels (u8 activations), static batch, no device bundle: the artifact is
    saved in ORT's own optimised CPU layout (export/ort_layout.py). s8 (TensorRT), a `--target` bundle or
    `ort_layout=False` keep the portable QDQ graph."""
    return (options.precision == "int8" and options.int8_activations == "u8" and options.ort_layout
            and not options.dynamic and not options.target)


def count(options) -> int:
    """How many times `build_onnx` calls its `step` for these options (the length of export's progress bar)."""
    return 3 + uses_ort_layout(options) + bool(options.sparse)


def build_onnx(deploy, example: tuple, spec, tmp: Path, options, step=lambda what: None) -> dict:
    """Export, tidy, convert precision and (optionally) sparsify into `tmp/model.onnx`; returns step figures.
    `step(what)` is called after each step (`count(options)` calls), naming the next one, for a progress bar."""
    import onnx

    raw, fp32 = tmp / ".raw.onnx", tmp / ".fp32.onnx"
    module, rewrite = export_form(deploy, options)
    export_onnx(module, example, raw, spec, opset=options.opset, dynamic=options.dynamic, exporter=options.exporter)
    step("tidy (onnxslim)")
    model, tidied = tidy(graph.load_onnx(raw))
    onnx.save(model, str(fp32))
    step(f"{options.precision} conversion")
    # MACs of the float graph (None with dynamic axes), for the manifest: ONNX shape inference cannot see
    # through the contrib ops of an ORT-layout int8 file (export/ort_layout.py)
    info = {"tidy": tidy_name() if tidied else "none", "fp32_dense_bytes": fp32.stat().st_size,
            "fp32_stats": graph.weight_stats(model), "rewrite": rewrite, "macs": onnx_macs(fp32)}
    calib = None
    if options.precision == "int8":
        calib = calibration_clips(options.calib, spec.clip, options.calib_clips, options.seed)
        info["calibration_source"] = str(options.calib)
    extras = {n: t.cpu().numpy()[:1] for n, t in zip(list(spec.input_names)[1:], example[1:])}
    info["precision"] = PRECISIONS.get(options.precision)(
        fp32, tmp / "model.onnx", calib=calib, input_name=spec.input_names[0], extra_inputs=extras,
        activations=options.int8_activations)
    step("ONNX Runtime CPU layout" if uses_ort_layout(options) else "sparse storage" if options.sparse else "done")
    if uses_ort_layout(options):
        qdq = tmp / ".qdq.onnx"
        (tmp / "model.onnx").rename(qdq)
        b = int(options.batch)
        feed = {spec.input_names[0]: np.repeat(calib[:1], b, 0).astype(np.float32),
                **{n: np.repeat(e, b, 0) for n, e in extras.items()}}
        info["ort_layout"] = to_ort_layout(qdq, tmp / "model.onnx", feed)
        qdq.unlink()
        step("sparse storage" if options.sparse else "done")
    if options.sparse:
        final = graph.load_onnx(tmp / "model.onnx")
        info["sparse"] = graph.sparsify(final)
        onnx.save(final, str(tmp / "model.onnx"))
        step("done")
    raw.unlink()
    fp32.unlink()
    return info


def parity_figures(reference: np.ndarray, candidate: np.ndarray, fps: float, options) -> dict:
    figures = compare(reference, candidate, fps, precision=options.precision, hr_tol_bpm=options.hr_tol_bpm)
    figures["seed"] = options.seed
    figures["backend"] = "onnxruntime CPUExecutionProvider vs torch eager (cpu)"
    return figures


def manifest(spec, options, info: dict, figures: dict, source: dict | None, path: Path) -> dict:
    """Everything a deployment needs to trust and run the artifact."""
    model = graph.load_onnx(path)
    sig = graph.io_signature(model)
    stats = graph.weight_stats(model)
    size = path.stat().st_size
    return {
        "format": FORMAT,
        "file": path.name,
        "sha256": sha256_file(path),
        "model": {"name": spec.name, "variant": getattr(spec, "variant", None)},
        "source": source or {},
        "clip": spec.clip.to_dict(),
        "inputs": sig["inputs"],
        "outputs": sig["outputs"],
        "precision": options.precision,
        "sparse": bool(options.sparse),
        "batch": options.batch,
        "opset": graph.opset_of(model),
        "exporter": f"torch.onnx.export ({options.exporter})",
        "tidy": info["tidy"],
        "rewrite": info["rewrite"],
        "ort_layout": info.get("ort_layout"),
        "options": options_dict(options),
        "precision_details": info["precision"],
        "sparse_details": {"converted": len(info.get("sparse", {}).get("converted", [])),
                           "bytes_saved": info.get("sparse", {}).get("bytes_saved", 0)} if options.sparse else None,
        "params": info["fp32_stats"]["params"],
        "nonzeros": info["fp32_stats"]["nonzeros"],
        "density": info["fp32_stats"]["density"],
        "macs": info.get("macs"),
        "weights_in_file": stats,
        "sizes": {"model_bytes": size, "fp32_dense_bytes": info["fp32_dense_bytes"],
                  "ratio_vs_fp32_dense": round(info["fp32_dense_bytes"] / size, 3)},
        "parity": figures,
        "ops": graph.op_types(model),
        "versions": versions(),
    }
