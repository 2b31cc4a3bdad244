"""`edgerppg synth`: synthetic rPPG videos with exact ground truth, compressed with real codecs."""

from __future__ import annotations

from pathlib import Path

import typer

from edgerppg.checks import check_output
from edgerppg.cli.app import Overwrite, app, console, print_json
from edgerppg.data.synth import shortfalls, synthesize


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


@app.command("synth")
def synth_cmd(
    out_dir: Path = typer.Argument(..., help="Dataset folder to write (an older synth dataset there is replaced "
                                             "atomically)."),
    subjects: int = typer.Option(8, "--subjects", help="Number of subjects."),
    seconds: float = typer.Option(30.0, "--seconds", help="Length of each video in seconds."),
    fps: float = typer.Option(30.0, "--fps", help="Frame rate."),
    size: int = typer.Option(128, "--size", help="Frame width and height in pixels."),
    codec: str = typer.Option("raw", "--codec", help="Comma list of raw, x264, x265, mpeg4; one group each."),
    bitrate: str = typer.Option("250k", "--bitrate", help="Comma list of bitrates for the compressing codecs."),
    seed: int = typer.Option(0, "--seed", help="Same seed, same clips."),
    json_out: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
    overwrite: Overwrite = False,
) -> None:
    """Synthesise face videos whose skin carries a known blood-volume pulse (UBFC-style layout + manifest.json)."""
    from rich.table import Table

    check_output(out_dir, "synth", overwrite=overwrite)
    manifest = synthesize(out_dir, subjects, seconds, fps, size, _split(codec), _split(bitrate), seed)
    if json_out:
        print_json(manifest)
        return
    table = Table(title=f"{out_dir}: {subjects} subjects x {seconds:g} s at {fps:g} fps, {size}px")
    for col in ("group", "subject", "mean HR (bpm)", "file"):
        table.add_column(col)
    for s in manifest["subjects"]:
        table.add_row(s["group"], s["subject"], f"{s['mean_hr_bpm']:.1f}", s["path"])
    console.print(table)
    for line in shortfalls(manifest):
        console.print(f"[yellow]warning:[/] {line}", highlight=False)
