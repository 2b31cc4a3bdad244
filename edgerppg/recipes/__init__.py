"""recipes stage: validated YAML pruning recipes and `apply_recipe` (see docs/pruning.md).

    from edgerppg.recipes import load_recipe, apply_recipe
    result = apply_recipe(load_recipe("recipes/snip-10x.yaml"), "rppgnet.safetensors", "data/", "out.safetensors")
"""

from edgerppg.recipes import modifiers  # noqa: F401  (registers the stages)
from edgerppg.recipes.schema import STAGES, Recipe, load_recipe, parse_recipe


def __getattr__(name: str):
    if name in ("apply_recipe", "PruneResult"):
        from edgerppg.recipes import apply

        return getattr(apply, name)
    raise AttributeError(name)


__all__ = ["STAGES", "PruneResult", "Recipe", "apply_recipe", "load_recipe", "parse_recipe"]
