"""`edgerppg export`: checkpoint -> parity-checked ONNX artifact directory (model.onnx + manifest.json)."""

from __future__ import annotations

from pathlib import Path

import typer

from edgerppg.checks import check_output
from edgerppg.cli.app import Overwrite, app, console, print_json
from edgerppg.errors import EdgeRPPGError
from edgerppg.export.exporter import ExportOptions, export_checkpoint


def _batch(value: str) -> int | str:
    if value == "dynamic":
        return value
    try:
        return int(value)
    except ValueError:
        raise EdgeRPPGError(f"--batch {value!r}: give a positive integer or 'dynamic'") from None


@app.command("export")
def export_cmd(
    ckpt: Path = typer.Argument(..., help="Checkpoint (.safetensors) written by train/prune."),
    out: Path = typer.Option(..., "--out", help="Artifact directory to create, e.g. exported/rppgnet-int8."),
    precision: str = typer.Option("fp32", "--precision", help="fp32, fp16 or int8 (static QDQ, needs --calib)."),
    sparse: bool = typer.Option(False, "--sparse", help="Store mostly-zero weights as ONNX sparse_initializer."),
    calib: Path = typer.Option(None, "--calib", help="Dataset directory with real clips for INT8 calibration."),
    calib_clips: int = typer.Option(16, "--calib-clips", help="Number of calibration clips."),
    int8_activations: str = typer.Option("u8", "--int8-activations", help="u8 (ONNX Runtime CPU) or s8 (TensorRT)."),
    batch: str = typer.Option("1", "--batch", help="Fixed batch size, or 'dynamic'."),
    target: str = typer.Option(None, "--target", help="Also write a device bundle: jetson."),
    opset: int = typer.Option(18, "--opset", help="ONNX opset (18 native to dynamo; 17 for TensorRT 8.6)."),
    exporter: str = typer.Option("dynamo", "--exporter", help="dynamo (torch.export, default) or torchscript."),
    conv2d: bool = typer.Option(True, "--conv2d/--no-conv2d",
                                help="Export factorised 3D convs as 2D ones (same function; faster int8)."),
    ort_layout: bool = typer.Option(True, "--ort-layout/--no-ort-layout",
                                    help="u8 int8: save ONNX Runtime's optimised CPU graph (fewer transposes); "
                                         "--no-ort-layout keeps the portable QDQ graph."),
    json_out: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
    overwrite: Overwrite = False,
) -> None:
    """Export a checkpoint's deploy form to ONNX and check it against torch (tensor error and HR)."""
    check_output(out, "onnx", inputs=(ckpt, calib), overwrite=overwrite)
    options = ExportOptions(precision=precision, sparse=sparse, batch=_batch(batch), opset=opset, exporter=exporter,
                            calib=str(calib) if calib else None, calib_clips=calib_clips,
                            int8_activations=int8_activations, target=target, conv2d=conv2d,
                            ort_layout=ort_layout)
    manifest = export_checkpoint(ckpt, out, options)
    if json_out:
        print_json(manifest)
        return
    _render(manifest)


def _render(m: dict) -> None:
    from rich.table import Table

    p, s = m["parity"], m["sizes"]
    table = Table(title=f"exported {m['model']['name']}/{m['model']['variant']} -> {m['path']}", show_header=False)
    rows = [
        ("precision", f"{m['precision']}{' + sparse storage' if m['sparse'] else ''}"),
        ("opset / exporter", f"{m['opset']} / {m['exporter']}, tidy: {m['tidy']}"),
        ("inputs", ", ".join(f"{i['name']} {i['shape']}" for i in m["inputs"])),
        ("outputs", ", ".join(f"{o['name']} {o['shape']}" for o in m["outputs"])),
        ("params / nonzeros", f"{m['params']:,} / {m['nonzeros']:,} (density {m['density']:.3f})"),
        ("size", f"{s['model_bytes'] / 1024:.1f} KiB (dense fp32 {s['fp32_dense_bytes'] / 1024:.1f} KiB, "
                 f"{s['ratio_vs_fp32_dense']:.2f}x smaller)"),
        ("parity: max abs error", f"{p['max_abs_error']:.3g} ({p['max_rel_error']:.2e} of range)"),
        ("parity: HR diff", f"{p['max_hr_diff_bpm']:.3f} bpm over {p['clips']} clips (limit {p['hr_tolerance_bpm']})"
         if p["hr_checked"] else "not checkable: the pulse output is constant (untrained weights?)"),
    ]
    if m.get("ort_layout"):
        lay = m["ort_layout"]
        rows.append(("ONNX Runtime CPU layout", f"{lay['transposes_before']} -> {lay['transposes_after']} transposes "
                                                f"({lay['optimizer']})"))
    if m.get("bundle"):
        rows.append(("bundle", ", ".join(m["bundle"]["files"])))
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)
