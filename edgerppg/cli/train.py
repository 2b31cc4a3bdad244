"""`edgerppg train {rppgnet,stven,joint}`: train STVEN / rPPGNet (Yu et al., ICCV 2019) into a checkpoint."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Optional

import typer

from edgerppg.checks import check_output
from edgerppg.cli.app import Overwrite, app, console, model_path, print_json
from edgerppg.train.kinds import KINDS
from edgerppg.train.run import TrainSpec, train_model

# choices come from the registry (importing edgerppg.train.kinds does not import torch)
Kind = enum.Enum("Kind", {name: name for name in KINDS.names()}, type=str)


@app.command("train")
def train_cmd(
    kind: Kind = typer.Argument(...,
                               help="rppgnet: on raw videos; stven: on (compressed, raw) pairs; "
                                    "joint: STVEN through a frozen rPPGNet (--init) -> cascade checkpoint."),
    data: Path = typer.Option(..., "--data", help="Dataset directory (edgerppg synth layout or a real dataset)."),
    out: Path = typer.Option(..., "--out", help="Checkpoint to write (.safetensors); the best validation epoch."),
    variant: Optional[str] = typer.Option(None, "--variant", help="Model variant (paper|small|tiny); default "
                                          "tiny, or the --init checkpoint's."),
    epochs: int = typer.Option(10, "--epochs", help="Training epochs."),
    init: Optional[Path] = typer.Option(None, "--init", parser=model_path, help="Start from this checkpoint of the "
                                        "same model (joint: the trained rPPGNet, or a cascade checkpoint to fine-tune "
                                        "further)."),
    stven: Optional[Path] = typer.Option(None, "--stven", parser=model_path,
                                         help="joint only: a pre-trained STVEN checkpoint."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Adam learning rate (default: 1e-3 for rppgnet from "
                                       "scratch, the paper's 1e-4 for stven and joint)."),
    batch: int = typer.Option(4, "--batch", help="Clips per optimiser step (per process under torchrun)."),
    seed: int = typer.Option(0, "--seed", help="Seed for initialisation, split and shuffling."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    val_fraction: float = typer.Option(0.2, "--val-fraction", help="Share of subjects held out for validation."),
    groups: Optional[str] = typer.Option(
        None, "--groups", help="Comma-separated data groups to read (default all); rppgnet learns from every group "
        "named here (default: raw only); joint also learns from the originals when raw is named."),
    hr_aug: float = typer.Option(0.0, "--hr-aug", help="Probability of resampling a training clip in time to a "
                                 "random heart rate in 45-150 bpm (fills HR ranges the subjects leave empty)."),
    spectral: float = typer.Option(0.0, "--spectral", help="Weight of a spectral loss term (share of the pulse's "
                                   "in-band power at the true HR) added to the paper's negative-Pearson loss."),
    target: str = typer.Option("pulse", "--target", help="Training target: pulse (the recorded pulse, as in the "
                               "paper) or fundamental (the pulse band-passed around its heart rate)."),
    schedule: str = typer.Option("constant", "--schedule", help="Learning-rate schedule: constant (the paper's) or "
                                 "cosine (lr to 0 over all steps; a resumed run continues on the same curve)."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Continue from <out>.state.pt if present (only "
                                "a run on the same data, model and options; else an error)."),
    json_out: bool = typer.Option(False, "--json", help="Print the run summary as JSON."),
    overwrite: Overwrite = False,
) -> None:
    """Train a model on a dataset directory; validation HR MAE is measured like `edgerppg eval`."""
    check_output(out, "checkpoint", inputs=(data, init, stven), overwrite=overwrite)  # before, not after, training
    spec = TrainSpec(kind.value, data, out, variant=variant, epochs=epochs, init=init, stven=stven, lr=lr, batch=batch,
                     seed=seed, device=device, val_fraction=val_fraction, resume=resume, hr_aug=hr_aug,
                     spectral=spectral, target=target, schedule=schedule,
                     groups=[g.strip() for g in groups.split(",") if g.strip()] if groups else None)
    result = train_model(spec)
    if json_out:
        print_json(result)
        return
    _render(result)


def _render(result: dict) -> None:
    from rich.table import Table

    best = result["best"]
    table = Table(title=f"edgerppg train {result['kind']}: {result['model']}/{result['variant']}")
    metric = best.get("metric", "val")
    for col in ("epoch", "loss", metric):
        table.add_column(col, justify="right")
    for row in result["history"]:
        mark = " *" if row["epoch"] == best.get("epoch") else ""
        table.add_row(str(row["epoch"]), f"{row['loss']:.4f}", f"{row.get(metric, float('nan')):.3f}{mark}")
    console.print(table)
    console.print(f"best {metric} {best.get('value', float('nan')):.3f} at epoch {best.get('epoch')} -> {result['out']} "
                  f"({result['train_clips']} train clips, {len(result['val_subjects'])} validation subjects, "
                  f"{result['seconds']:.0f} s)")
    judged = result.get("verdict")
    if judged:
        console.print(judged["message"], style="green" if judged["converged"] else "bold yellow", highlight=False)
