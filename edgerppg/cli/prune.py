"""`edgerppg prune CKPT --recipe RECIPE --data DIR --out CKPT`: sparsify a checkpoint with a staged recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from edgerppg.checks import check_number, check_output
from edgerppg.cli.app import Overwrite, app, console, model_path, print_json
from edgerppg.recipes import apply_recipe, load_recipe


@app.command("prune")
def prune_cmd(
    ckpt: Path = typer.Argument(..., parser=model_path, help="Trained checkpoint (.safetensors) to prune."),
    recipe: Path = typer.Option(..., "--recipe", help="Pruning recipe, e.g. recipes/snip-10x.yaml."),
    data: Path = typer.Option(..., "--data", help="Dataset directory: calibration, fine-tuning and HR evaluation."),
    out: Path = typer.Option(..., "--out", help="Pruned checkpoint to write (.safetensors), written atomically."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    val_fraction: float = typer.Option(0.2, "--val-fraction", help="Share of subjects held out (same split as train)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the subject split."),
    groups: Optional[str] = typer.Option(
        None, "--groups", help="Comma-separated data groups to calibrate and fine-tune on, as `edgerppg train "
        "--groups` (default: those the model's training kind reads; rPPGNet: raw only). Validation always "
        "reads every group of the held-out subjects."),
    json_out: bool = typer.Option(False, "--json", help="Print the per-layer table and HR metrics as JSON."),
    overwrite: Overwrite = False,
) -> None:
    """Prune (SNIP, N2NSkip, magnitude, random, structured), fine-tune with masks kept, verify and save."""
    check_output(out, "checkpoint", inputs=(ckpt, recipe, data), overwrite=overwrite)
    check_number(val_fraction, "--val-fraction", 0, 1, high_open=True)
    names = [g.strip() for g in groups.split(",") if g.strip()] if groups else None
    result = apply_recipe(load_recipe(recipe), ckpt, data, out, device=device, val_fraction=val_fraction, seed=seed,
                          groups=names)
    if json_out:
        print_json(result.to_dict())
        return
    _render(result)


def _render(result) -> None:
    from rich.table import Table

    table = Table(title=f"edgerppg prune {result.model}/{result.variant} with {result.recipe} "
                        f"(recipe {result.recipe_hash[:12]})")
    for col in ("layer", "params before", "params", "nonzeros", "density", "MACs before", "MACs", "eff. MACs"):
        table.add_column(col, justify="left" if col == "layer" else "right")
    for r in result.layers:
        table.add_row(r["layer"], f"{r['params_before']:,}", f"{r['params']:,}", f"{r['nonzeros']:,}",
                      f"{r['density']:.3f}", _m(r["macs_before"]), _m(r["macs"]), _m(r["effective_macs"]))
    t = result.totals
    table.add_row("total", f"{t['params_before']:,.0f}", f"{t['params']:,.0f}", f"{t['nonzeros']:,.0f}",
                  f"{t['nonzeros'] / max(t['params'], 1):.3f}", _m(t["macs_before"]), _m(t["macs"]),
                  _m(t["effective_macs"]), style="bold")
    console.print(table)
    hr = Table(title="HR on held-out subjects (window MAE / RMSE in bpm)")
    for col in ("group", "MAE before", "MAE after", "RMSE before", "RMSE after"):
        hr.add_column(col, justify="right")
    before, after = result.metrics_before.get("groups", {}), result.metrics_after.get("groups", {})
    for group in list(after) or list(before):
        b, a = _window(before.get(group)), _window(after.get(group))
        hr.add_row(group, _f(b.get("mae")), _f(a.get("mae")), _f(b.get("rmse")), _f(a.get("rmse")))
    console.print(hr)
    s = result.sparsity
    if "density" in s:
        console.print(f"verified in {result.out}: {s['nonzeros']:,} non-zeros of {s['prunable']:,} prunable weights "
                      f"(density {s['density']:.4f})")
    console.print(f"MACs {t['macs_before'] / max(t['macs'], 1):.2f}x fewer (dense kernels), "
                  f"{t['macs_before'] / max(t['effective_macs'], 1):.2f}x fewer non-zero; wrote {result.out}")


def _window(block) -> dict:
    if not isinstance(block, dict):
        return {}
    return block.get("window", block)


def _m(x: float) -> str:
    return f"{x / 1e6:,.1f}M"


def _f(x) -> str:
    return "-" if x is None else f"{x:.2f}"
