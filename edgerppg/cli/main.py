"""Entry point of the `edgerppg` console script.

Each command lives in its own module under edgerppg/cli and registers itself on `app` when imported.
Command modules import heavy libraries inside the command function, so `edgerppg --help` stays instant.
"""

from __future__ import annotations

import importlib
import sys

from edgerppg.cli.app import app, err_console
from edgerppg.errors import EdgeRPPGError

# Modules that define commands, in the order `--help` lists them (the pipeline's order).
COMMAND_MODULES: list[str] = [
    "info",
    "synth",
    "models",
    "convert",
    "train",
    "prune",
    "export",
    "engine",
    "hr",
    "evaluate",
    "bench",
    "compare",
    "run",
]

for _name in COMMAND_MODULES:
    importlib.import_module(f"edgerppg.cli.{_name}")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a user error becomes one line on stderr and exit code 2."""
    try:
        app(args=argv, prog_name="edgerppg")
    except EdgeRPPGError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("[bold red]interrupted[/]: no partial output was kept")
        sys.exit(130)


if __name__ == "__main__":
    main()
