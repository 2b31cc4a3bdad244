"""`edgerppg models`: the registered models x variants with params, MACs per clip and clip spec."""

from __future__ import annotations

import typer

from edgerppg.cli.app import app, console, print_json
from edgerppg.shipped import shipped


@app.command("models")
def models_cmd(json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List STVEN, rPPGNet and the cascade with each variant's params, MACs per clip and clip spec, then the
    trained weights shipped with the package (names `--model` takes)."""
    from rich.table import Table

    from edgerppg.models.stats import catalog

    rows = catalog()
    if json_out:
        print_json(rows)
        return
    table = Table(title="edgerppg models (MACs per clip of the deploy form, torch.utils.flop_counter)")
    for col in ("model", "variant", "params", "GMACs/clip", "clip TxHxW@fps", "inputs -> outputs"):
        table.add_column(col, justify="right" if col in ("params", "GMACs/clip") else "left")
    for r in rows:
        clip = r["clip"]
        table.add_row(
            r["model"],
            r["variant"],
            f"{r['params']:,}",
            f"{r['macs'] / 1e9:.3f}",
            f"{clip['frames']}x{clip['height']}x{clip['width']}@{clip['fps']:g}",
            f"{', '.join(r['inputs'])} -> {', '.join(r['outputs'])}",
        )
    console.print(table)
    weights = Table(title="shipped trained weights (--model NAME; model card: edgerppg/weights/MODEL_CARD.md)")
    for col in ("name", "what", "path"):
        weights.add_column(col)
    for w in shipped():
        weights.add_row(w["name"], w["what"], w["path"] if w["present"] else "missing from this install")
    console.print(weights)
