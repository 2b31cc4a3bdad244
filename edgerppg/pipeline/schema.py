"""Pipeline: a validated YAML list of named stages, each of a registered kind with its parameters.

```yaml
schema: edgerppg-pipeline/1    # optional: what the file is (a pruning recipe says edgerppg-recipe/1)
name: default
run_dir: runs/default          # relative to the current directory
stages:
  - name: data
    kind: synth
    with: {subjects: 6, seconds: 20}
  - name: dense
    kind: train
    with: {data: "@data", model: rppgnet, variant: tiny}
```
A string value "@stage" is the output directory of an earlier stage, "@stage/file" a file inside it; such
references are how stages chain, and their content hashes are part of the consumer's input hash. Unknown
keys, unknown kinds, duplicate names and references to later or missing stages are errors naming the key
(STYLE.md habit 5; the same discipline as `recipes.load_recipe`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from edgerppg.checks import read_text
from edgerppg.errors import EdgeRPPGError
from edgerppg.recipes.schema import PIPELINE_SCHEMA
from edgerppg.recipes.schema import SCHEMA as RECIPE_SCHEMA
from edgerppg.pipeline.stages import STAGES

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TOP = {"schema", "name", "run_dir", "stages", "description"}
_STAGE = {"name", "kind", "with", "description"}


@dataclass
class Stage:
    name: str
    kind: str
    params: dict = field(default_factory=dict)


@dataclass
class Pipeline:
    name: str
    run_dir: str
    stages: list[Stage]
    source: str = "<dict>"
    text: str = ""


def load_pipeline(path: str | Path) -> Pipeline:
    """Read and validate a pipeline file."""
    import yaml

    path = Path(path)
    text = read_text(path, "pipeline file", "see pipelines/*.yaml")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EdgeRPPGError(f"{path}: is not valid YAML ({str(exc).splitlines()[0]}); fix the syntax") from None
    pipe = parse_pipeline(data, source=str(path))
    pipe.text = text
    return pipe


def parse_pipeline(data, source: str = "<dict>") -> Pipeline:
    if not isinstance(data, dict):
        raise EdgeRPPGError(f"{source}: a pipeline is a mapping with 'name', 'run_dir' and 'stages'")
    schema = data.get("schema", PIPELINE_SCHEMA)
    if schema == RECIPE_SCHEMA:
        raise EdgeRPPGError(f"{source}: is a pruning recipe, not a pipeline; use it with "
                            f"`edgerppg prune CKPT --recipe {source} --data DIR --out OUT` or in a pipeline's prune stage")
    if schema != PIPELINE_SCHEMA:
        raise EdgeRPPGError(f"{source}: schema {schema!r} is not a pipeline ({PIPELINE_SCHEMA!r}); see pipelines/*.yaml")
    _unknown(data, _TOP, source, "top level")
    stages_raw = data.get("stages")
    if not isinstance(stages_raw, list) or not stages_raw:
        raise EdgeRPPGError(f"{source}: 'stages' must be a non-empty list of {{name, kind, with}}")
    name = str(data.get("name") or Path(source).stem)
    stages: list[Stage] = []
    for i, raw in enumerate(stages_raw):
        where = f"stages[{i}]"
        if not isinstance(raw, dict):
            raise EdgeRPPGError(f"{source}: {where} must be a mapping with 'name', 'kind' and 'with'")
        _unknown(raw, _STAGE, source, where)
        sname, kind, params = raw.get("name"), raw.get("kind"), raw.get("with") or {}
        if not isinstance(sname, str) or not _NAME.match(sname):
            raise EdgeRPPGError(f"{source}: {where}.name {sname!r} must be a word like 'train' (letters, digits, _-.)")
        if any(s.name == sname for s in stages):
            raise EdgeRPPGError(f"{source}: stage name {sname!r} is used twice; names must be unique")
        if not isinstance(params, dict):
            raise EdgeRPPGError(f"{source}: {where}.with must be a mapping of parameters")
        try:
            kind_obj = STAGES.get(str(kind))
        except EdgeRPPGError as exc:
            raise EdgeRPPGError(f"{source}: {where}.kind: {exc}") from None
        _unknown(params, set(kind_obj.params), source, f"{where}.with ({kind})")
        _check_refs(params, {s.name for s in stages}, source, f"{sname}.with")
        stages.append(Stage(sname, str(kind), {**kind_obj.params, **params}))
    return Pipeline(name=name, run_dir=str(data.get("run_dir") or f"runs/{name}"), stages=stages, source=source)


def _unknown(d: dict, allowed: set, source: str, where: str) -> None:
    extra = sorted(set(d) - allowed)
    if extra:
        raise EdgeRPPGError(f"{source}: unknown key {extra[0]!r} in {where}; allowed: {', '.join(sorted(allowed))}")


def refs_in(value) -> list[str]:
    """Every "@stage[/path]" string inside a parameter value."""
    if isinstance(value, str):
        return [value] if value.startswith("@") else []
    if isinstance(value, dict):
        return [r for v in value.values() for r in refs_in(v)]
    if isinstance(value, list):
        return [r for v in value for r in refs_in(v)]
    return []


def _check_refs(params: dict, earlier: set, source: str, where: str) -> None:
    for ref in refs_in(params):
        stage = ref[1:].split("/", 1)[0]
        if stage not in earlier:
            raise EdgeRPPGError(f"{source}: {where} refers to {ref!r}, but no earlier stage is named {stage!r}")
