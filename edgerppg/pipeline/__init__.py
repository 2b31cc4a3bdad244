"""pipeline stage of edgerppg: `run_pipeline(recipe)` chains data -> train -> prune -> export -> engine -> bench.

The runner (hashing, skipping, atomic publish) is in `runner.py`, the recipe schema in `schema.py`, the stage
kinds (a registry, `STAGES`) in `stages.py`. See docs/benchmarking.md.
"""

from edgerppg.pipeline.runner import run_pipeline
from edgerppg.pipeline.schema import load_pipeline, parse_pipeline
from edgerppg.pipeline.stages import STAGES, stage_kind

__all__ = ["run_pipeline", "load_pipeline", "parse_pipeline", "STAGES", "stage_kind"]
