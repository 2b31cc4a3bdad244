"""recipes stage: validated YAML pruning recipes and `apply_recipe` (see docs/pruning.md).

    from edgerppg.recipes import load_recipe, apply_recipe
    result = apply_recipe(load_recipe("recipes/snip-10x.yaml"), "rppgnet.safetensors", "data/", "out.safetensors")
"""

from edgerppg.recipes import modifiers  # noqa: F401  (registers the stages)
from edgerppg.recipes.apply import PruneResult, apply_recipe
from edgerppg.recipes.schema import STAGES, Recipe, load_recipe, parse_recipe

__all__ = ["STAGES", "PruneResult", "Recipe", "apply_recipe", "load_recipe", "parse_recipe"]
