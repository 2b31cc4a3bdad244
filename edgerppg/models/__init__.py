"""models stage of the edgerppg pipeline (see docs/ARCHITECTURE.md)."""
