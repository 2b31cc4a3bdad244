"""The root typer app and the helpers every command shares (JSON output, console)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from edgerppg import progress
from edgerppg.atomic import _json_default
from edgerppg.shipped import resolve_model

app = typer.Typer(
    name="edgerppg",
    help="Heart-rate-from-video models to the edge: synth, train, prune, export, bench.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

#: HR-window options shared by `edgerppg hr` and `edgerppg eval` (same names, defaults set in each signature)
Window = Annotated[float, typer.Option("--window", help="HR window in seconds.")]
Step = Annotated[Optional[float], typer.Option("--step", help="Window step in seconds (default: the window).")]
Band = Annotated[tuple[float, float], typer.Option("--band", help="HR band in Hz (low high).")]
Estimator = Annotated[str, typer.Option("--estimator", help="HR estimator: welch, fft or peaks.")]
#: every command that writes an output refuses to replace a path edgerppg did not write, unless told
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output even if it is not an "
                                         "edgerppg artifact of the same kind.")]


def model_path(value) -> Path:
    """`parser=` of every option or argument that takes a model (hr/eval --model, bench's artifacts, prune's
    checkpoint, train --init/--stven): an existing path as given, else the shipped weights it names."""
    return Path(resolve_model(value))


console = Console()
err_console = Console(stderr=True)


def print_json(obj) -> None:
    """Print a result as JSON on stdout (numbers stay numbers)."""
    sys.stdout.write(json.dumps(obj, indent=2, default=_json_default) + "\n")
    sys.stdout.flush()


@app.callback()
def _root(
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Hide progress bars."),
) -> None:
    """edgerppg: heart-rate-from-video models to the edge."""
    if quiet:
        progress.set_enabled(False)
