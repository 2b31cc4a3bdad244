"""`edgerppg convert`: the authors' STVEN / rPPGNet / cascade state_dicts -> an edgerppg checkpoint."""

from __future__ import annotations

from pathlib import Path

import typer

from edgerppg.checks import check_number, check_output
from edgerppg.cli.app import Overwrite, app, console, print_json


@app.command("convert")
def convert_cmd(
    src: Path = typer.Argument(None, help="State_dict from the authors' code (.pth/.pt/.pkl/.tar)."),
    model: str = typer.Option(..., "--model", help="rppgnet, stven, or cascade (with --stven and --rppgnet)."),
    out: Path = typer.Option(..., "--out", help="Checkpoint to write, e.g. rppgnet-ref.safetensors."),
    stven: Path = typer.Option(None, "--stven", help="--model cascade: the STVEN state_dict."),
    rppgnet: Path = typer.Option(None, "--rppgnet", help="--model cascade: the rPPGNet state_dict."),
    frames: int = typer.Option(64, "--frames", help="Clip length the weights were trained on."),
    size: int = typer.Option(128, "--size", help="Clip height and width in pixels."),
    fps: float = typer.Option(30.0, "--fps", help="Frame rate of the training clips."),
    input_format: str = typer.Option("rgb01", "--input",
                                     help="Input format preset: rgb01, bgr01, rgb255, bgr255, centered128, "
                                          "bgr-centered128, rgb-11, bgr-11."),
    order: str = typer.Option(None, "--order", help="Channel order override: rgb or bgr."),
    scale: float = typer.Option(None, "--scale", help="Override: the model input is pixel(0..255) * scale + offset."),
    offset: float = typer.Option(None, "--offset", help="Override: see --scale."),
    best_label: int = typer.Option(0, "--best-label", help="STVEN's label of the best quality (becomes label 0)."),
    key: str = typer.Option(None, "--key", help="Entry of the saved dict that holds the state_dict."),
    accept: bool = typer.Option(False, "--accept-differences",
                                help="Convert even when the result cannot compute the reference's function."),
    json_out: bool = typer.Option(False, "--json", help="Print the report and manifest as JSON."),
    overwrite: Overwrite = False,
) -> None:
    """Import the authors' checkpoints exactly: same outputs as their code in eval mode (docs/checkpoints.md)."""
    from edgerppg.models.convert import ConvertSpec, convert_reference

    check_number(frames, "--frames", low=1)
    check_number(size, "--size", low=1)
    check_number(fps, "--fps", low=0, low_open=True)
    check_output(out, "checkpoint", inputs=(src, stven, rppgnet), overwrite=overwrite)
    spec = ConvertSpec(model=model, out=out, src=src, stven=stven, rppgnet=rppgnet,
                       clip={"frames": frames, "height": size, "width": size, "fps": fps},
                       input_format=input_format, order=order, scale=scale, offset=offset,
                       best_label=best_label, key=key, accept_differences=accept)
    result = convert_reference(spec)
    if json_out:
        print_json(result)
        return
    _render(result)


def _render(result: dict) -> None:
    from rich.table import Table

    m, r = result["manifest"], result["report"]
    c = r["counts"]
    table = Table(title=f"converted {m['model']} -> {result['out']}", show_header=False)
    for f in r["files"]:
        table.add_row(f"source ({f['network']})", f"{f['file']} sha256 {f['sha256'][:16]}..."
                      + (f", unwrapped {f['wrapper']}" if f["wrapper"] else "")
                      + (", 'module.' stripped" if f["prefix_stripped"] else ""))
    table.add_row("tensors", f"{c['loaded']} loaded, {c['kept']} kept (no source), {c['dropped']} dropped "
                             f"({c['unused']} unused by the reference)")
    if r["dropped"]:
        table.add_row("dropped", ", ".join(r["dropped"][:8]) + (" ..." if len(r["dropped"]) > 8 else ""))
    if r["labels"] is not None:
        table.add_row("STVEN labels", f"ours 0..{len(r['labels']) - 1} = reference {r['labels']}")
    fmt = m["converted"]["input"]
    clip = m["clip"]
    table.add_row("input", f"{fmt['preset'] or 'custom'}: {fmt['order']}, pixel*{fmt['scale']:.6g}{fmt['offset']:+.6g}; "
                           f"clip {clip['frames']}x{clip['height']}x{clip['width']} @ {clip['fps']} fps")
    table.add_row("exact", "yes" if not r["differences"] else f"NO ({len(r['differences'])} differences accepted)")
    console.print(table)
