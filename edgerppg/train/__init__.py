"""train stage of the edgerppg pipeline: losses, objectives and the training loop (Yu et al., ICCV 2019).

`objective(model)` gives a model's training loss (used by SNIP and fine-tuning too); `fit` trains it
(see edgerppg/train/loop.py); `train_model` is the `edgerppg train` command's one library call.
"""

from edgerppg.train.objectives import OBJECTIVES, Objective, objective

__all__ = ["OBJECTIVES", "Objective", "objective"]
