"""prune stage: sparsify STVEN/rPPGNet 10x, keeping score, shape and schedule apart (see docs/pruning.md).

- scorers.py   per-weight scores, `SCORERS`: "snip" (Lee et al., ICLR 2019), "magnitude", "random"
- masks.py     mask creators, `MASKERS`: "global" (exact budget), "channel", "2:4"; `MaskSet` keeps/verifies
- n2nskip.py   N2NSkip sparse skip connections (Subramaniam & Sharma, BMVC 2020), a model transform
- connectivity.py  heat-diffusion signature distance of the channel graph (N2NSkip's connectivity score)
- structured.py    channel pruning to a MAC ratio through Torch-Pruning's dependency graph (DepGraph)
- report.py    per-layer table: params, non-zeros, density, MACs before/after
The recipe stages that decide when each runs live in edgerppg/recipes.
"""

from edgerppg.prune.masks import MASKERS, MaskSet, masks_from_weights
from edgerppg.prune.n2nskip import add_n2nskip
from edgerppg.prune.params import prunable_params
from edgerppg.prune.scorers import SCORERS

__all__ = ["MASKERS", "SCORERS", "MaskSet", "add_n2nskip", "masks_from_weights", "prunable_params"]
