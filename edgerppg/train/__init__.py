"""train stage of the edgerppg pipeline: losses, objectives and the training loop (Yu et al., ICCV 2019).

`objective(model)` gives a model's training loss (used by SNIP and fine-tuning too); `loop.fit` trains a model;
`run.train_model` is the `edgerppg train` command's one library call; `kinds.KINDS` lists what it trains.
Importing this package is cheap: torch is imported when `objective`, `OBJECTIVES` or `Objective` is first used.
"""

from __future__ import annotations

__all__ = ["OBJECTIVES", "Objective", "objective"]


def __getattr__(name: str):
    if name in __all__:
        from edgerppg.train import objectives

        return getattr(objectives, name)
    raise AttributeError(f"module 'edgerppg.train' has no attribute {name!r}")
