"""Entry point of the `edgerppg` console script.

Each command lives in its own module under edgerppg/cli and registers itself on `app` when imported.
Command modules import heavy libraries inside the command function, so `edgerppg --help` stays instant.
"""

from __future__ import annotations

import importlib
import sys

from rich.text import Text

from edgerppg import progress
from edgerppg.cli.app import app, err_console
from edgerppg.errors import EdgeRPPGError, missing_extra

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


def _command(argv: list[str]) -> str:
    """The subcommand's name in `argv`, for messages."""
    words = [a for a in argv if not a.startswith("-")]
    return words[0] if words else ""


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a user error becomes one line on stderr and exit code 2."""
    argv = _quiet_anywhere(sys.argv[1:] if argv is None else list(argv))
    try:
        app(args=argv, prog_name="edgerppg")
    except (EdgeRPPGError, ModuleNotFoundError) as exc:
        # a missing module of the training stack on a runtime-only install is a user error too
        error = exc if isinstance(exc, EdgeRPPGError) else missing_extra(exc, f"edgerppg {_command(argv)}")
        if error is None:
            raise
        # user text is printed as is (no Rich markup): `clips[trt]/a.mp4`, `pip install 'edgerppg[trt]'`
        err_console.print(Text.assemble(("error:", "bold red"), " ", str(error)), highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("[bold red]interrupted[/]: no partial output was kept")
        sys.exit(130)


def _quiet_anywhere(argv: list[str]) -> list[str]:
    """Accept -q/--quiet after the subcommand too (`edgerppg synth DIR -q`): hide progress bars, drop the flag."""
    end = argv.index("--") if "--" in argv else len(argv)
    if not any(a in ("-q", "--quiet") for a in argv[1:end]):
        return argv
    progress.set_enabled(False)
    return argv[:1] + [a for a in argv[1:end] if a not in ("-q", "--quiet")] + argv[end:]


if __name__ == "__main__":
    main()
