"""`edgerppg env`: the versions and machine every result is recorded with."""

from __future__ import annotations

import typer

from edgerppg.cli.app import app, console, print_json
from edgerppg.manifest import environment


@app.command("env")
def env_cmd(json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """Show edgerppg's environment: CPU, cores, memory and package versions."""
    from rich.table import Table

    env = environment()
    if json_out:
        print_json(env)
        return
    table = Table(title="edgerppg environment", show_header=False)
    for key, value in env.items():
        if key != "versions":
            table.add_row(key, str(value))
    for name, ver in env["versions"].items():
        table.add_row(name, ver)
    console.print(table)
