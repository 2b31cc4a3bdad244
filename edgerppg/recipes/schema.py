"""Pruning recipes: YAML read with yaml.safe_load into one validated schema (STYLE.md habit 5).

A recipe is a name, an optional expected model and a list of stages; each stage is a one-key mapping
`{modifier: {field: value}}` whose modifier is registered in `MODIFIERS` (prune, n2nskip, finetune,
evaluate; see modifiers.py). Unknown keys, missing fields, wrong types, a density outside (0, 1] or a bad
regex are errors naming the key and the file. The recipe's hash is the sha256 of the canonical JSON of the
validated recipe (defaults filled in), so two spellings of the same recipe hash the same.

    schema: edgerppg-recipe/1  # optional: what the file is
    name: snip-10x
    model: rppgnet            # optional: the model family the recipe is written for
    stages:
      - prune: {method: snip, density: 0.1, exclude: "head", min_layer_density: 0.02}
      - finetune: {epochs: 3, lr: 1.0e-4}
      - evaluate: {}
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from edgerppg.checks import read_text
from edgerppg.errors import EdgeRPPGError
from edgerppg.registry import Registry

#: modifier name -> its stage dataclass (the dataclass has a `validate(where)` method and a `run` in modifiers.py)
STAGES: Registry[type] = Registry("recipe stage")
_TOP_KEYS = {"schema", "name", "description", "model", "stages"}
#: what a pruning recipe file says it is (its `schema:` key); a pipeline file says PIPELINE_SCHEMA
SCHEMA = "edgerppg-recipe/1"
PIPELINE_SCHEMA = "edgerppg-pipeline/1"


@dataclass(frozen=True)
class Recipe:
    name: str
    stages: tuple
    description: str = ""
    model: str | None = None
    source: str = field(default="<recipe>", compare=False)

    def to_dict(self) -> dict:
        """Canonical form (what the hash covers): defaults filled in, the source path left out."""
        return {
            "name": self.name,
            "description": self.description,
            "model": self.model,
            "stages": [{kind_of(s): dataclasses.asdict(s)} for s in self.stages],
        }

    def override(self, patch: dict) -> "Recipe":
        """A copy with `{stage kind: {key: value}}` set in every stage of that kind, validated by the schema
        like a recipe file (an unknown stage kind or key is an error naming it); `{}` returns the recipe."""
        if not patch:
            return self
        raw = json.loads(json.dumps(self.to_dict()))  # tuples back to YAML's lists
        for kind, values in patch.items():
            hits = [s[kind] for s in raw["stages"] if kind in s]
            if not hits or not isinstance(values, dict):
                raise EdgeRPPGError(f"{self.source}: override {kind!r} matches no stage of the recipe; its stages are "
                                    f"{[kind_of(s) for s in self.stages]}")
            for stage in hits:
                stage.update(values)
        return parse_recipe(raw, source=f"{self.source} (overridden: {json.dumps(patch, sort_keys=True)})")

    @property
    def hash(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def kind_of(stage) -> str:
    return stage.KIND


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a recipe file."""
    import yaml

    path = Path(path)
    text = read_text(path, "recipe file", "see recipes/*.yaml for examples")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        at = f" at line {line + 1}" if line is not None else ""
        raise EdgeRPPGError(f"{path}: not valid YAML{at}; fix the recipe's syntax") from None
    return parse_recipe(raw, source=str(path))


def parse_recipe(raw, source: str = "<recipe>") -> Recipe:
    """Validate an already-parsed recipe mapping."""
    if not isinstance(raw, dict):
        raise EdgeRPPGError(f"{source}: a recipe is a mapping with 'name' and 'stages'")
    schema = raw.get("schema", SCHEMA)
    if schema == PIPELINE_SCHEMA:
        raise EdgeRPPGError(f"{source}: is a pipeline, not a pruning recipe; run it with `edgerppg run {source}`")
    if schema != SCHEMA:
        raise EdgeRPPGError(f"{source}: schema {schema!r} is not a pruning recipe ({SCHEMA!r}); see recipes/*.yaml")
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise EdgeRPPGError(f"{source}: unknown key {unknown[0]!r}; a recipe has {', '.join(sorted(_TOP_KEYS))}")
    for key in ("name", "stages"):
        if key not in raw:
            raise EdgeRPPGError(f"{source}: missing key {key!r}")
    if not isinstance(raw["stages"], list) or not raw["stages"]:
        raise EdgeRPPGError(f"{source}: 'stages' must be a non-empty list of {{modifier: {{...}}}} entries")
    stages = tuple(_parse_stage(s, f"{source}: stages[{i}]") for i, s in enumerate(raw["stages"]))
    model = raw.get("model")
    for key, value in (("name", raw["name"]), ("description", raw.get("description", "")), ("model", model)):
        if value is not None and not isinstance(value, str):
            raise EdgeRPPGError(f"{source}: {key!r} must be a string, got {value!r}")
    return Recipe(name=raw["name"], stages=stages, description=raw.get("description") or "", model=model,
                  source=source)


def _parse_stage(entry, where: str):
    if not isinstance(entry, dict) or len(entry) != 1:
        raise EdgeRPPGError(f"{where}: a stage is a one-key mapping like {{prune: {{...}}}}; choose one of "
                            f"{', '.join(STAGES.names())}")
    (kind, params), = entry.items()
    if kind not in STAGES:
        raise EdgeRPPGError(f"{where}: unknown stage {kind!r}; choose one of {', '.join(STAGES.names())}")
    cls = STAGES.get(kind)
    where = f"{where} ({kind})"
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise EdgeRPPGError(f"{where}: the stage's settings must be a mapping, got {params!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise EdgeRPPGError(f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(fields)}")
    missing = [n for n, f in fields.items() if n not in params and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        raise EdgeRPPGError(f"{where}: missing key {missing[0]!r}")
    hints = typing.get_type_hints(cls)
    values = {n: _coerce(v, hints[n], f"{where}: key {n!r}") for n, v in params.items()}
    stage = cls(**values)
    stage.validate(where)
    return stage


def _coerce(value, hint, where: str):
    """Check a YAML value against a field's annotation (int, float, str, bool, list[str], optional)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
        return _coerce(value, hint, where)
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif typing.get_origin(hint) in (list, tuple):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
    raise EdgeRPPGError(f"{where} must be {getattr(hint, '__name__', hint)}, got {value!r}")


def check_regex(pattern: str | None, where: str) -> None:
    if pattern is None:
        return
    try:
        re.compile(pattern)
    except re.error as exc:
        raise EdgeRPPGError(f"{where}: regex {pattern!r} is invalid ({exc})") from None
