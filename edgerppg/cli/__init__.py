"""Thin typer commands: options -> spec -> one library call -> render."""
