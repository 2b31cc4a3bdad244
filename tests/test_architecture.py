"""The import rule of docs/ARCHITECTURE.md, read from the package's own source (nothing is imported).

- Stages import downwards only: an import from a stage to a later one in `STAGES` fails.
- No import loop between modules, whether the imports sit at the top of a file or inside a function.
- A file's top shows its dependencies: an edgerppg module is imported inside a function only when importing
  it pulls in a heavy package (`HEAVY`: torch, onnx, onnxruntime, TensorRT, OpenCV, matplotlib, ...), which the
  light paths (the CLI's `--help`, the torch-free runtime) must not pay for.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "edgerppg"

#: stages in the order data flows; a stage may import itself and the stages before it, never one after it
STAGES = ("core", "signal", "data", "models", "predict", "train", "prune", "recipes", "export", "runtime", "bench",
          "pipeline", "cli")
#: third-party packages too heavy (import time, size, or absent on a device) to import where they are not used
HEAVY = frozenset({"torch", "torchvision", "torch_pruning", "onnx", "onnxruntime", "onnxscript", "onnxslim",
                   "tensorrt", "pycuda", "cv2", "matplotlib", "scipy", "pyedflib", "imageio_ffmpeg", "pynvml"})


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported edgerppg module, or a third-party top-level package
    line: int
    inside: bool  # inside a function


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@lru_cache(maxsize=None)
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(name: str) -> str | None:
    """The edgerppg module `name` refers to (a name imported from a module resolves to that module)."""
    mods = _modules()
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


@lru_cache(maxsize=None)
def _imports(module: str) -> tuple[Import, ...]:
    path = _modules()[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    inside: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside.update(id(n) for n in ast.walk(fn))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names] if base.startswith("edgerppg") else [base]
        for name in names:
            target = _resolve(name) if name.split(".")[0] == "edgerppg" else name.split(".")[0]
            if target and target != module:
                found.append(Import(module, target, node.lineno, id(node) in inside))
    return tuple(found)


def stage_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else "core"


@lru_cache(maxsize=None)
def heavy_at_import(module: str) -> frozenset[str]:
    """The heavy packages that importing `module` imports (its top-level imports, followed through edgerppg,
    parent packages included)."""
    out: set[str] = set()
    seen: set[str] = set()
    todo = [module]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        parts = m.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # a package's __init__ runs first
        for imp in _imports(m):
            if imp.inside:
                continue
            if imp.target.startswith("edgerppg"):
                todo.append(imp.target)
            elif imp.target in HEAVY:
                out.add(imp.target)
    return frozenset(out)


def _all_imports() -> list[Import]:
    return [imp for m in sorted(_modules()) for imp in _imports(m) if imp.target.startswith("edgerppg")]


def _where(imp: Import) -> str:
    return f"{_modules()[imp.source].relative_to(PACKAGE.parent)}:{imp.line} imports {imp.target}"


def test_every_module_belongs_to_a_known_stage():
    unknown = sorted({stage_of(m) for m in _modules()} - set(STAGES))
    assert not unknown, f"stage folders missing from STAGES (docs/ARCHITECTURE.md): {unknown}"


def test_stages_import_downwards_only():
    order = {s: i for i, s in enumerate(STAGES)}
    upward = [_where(i) for i in _all_imports()
              if i.source != "edgerppg.__main__" and order[stage_of(i.target)] > order[stage_of(i.source)]]
    assert not upward, "imports from an earlier stage to a later one:\n" + "\n".join(upward)


def test_no_import_loops():
    graph: dict[str, set[str]] = {m: set() for m in _modules()}
    for imp in _all_imports():
        if not imp.source.startswith(imp.target + "."):  # a module importing its own package's face is no loop
            graph[imp.source].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    loops: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not loops, "import loops:\n" + "\n".join(" <-> ".join(c) for c in loops)


def test_package_imports_sit_at_the_top_unless_heavy():
    lazy = [f"{_where(i)} inside a function, but it is light (imports none of {sorted(HEAVY)[:4]}...): "
            f"move it to the top of the file"
            for i in _all_imports() if i.inside and not heavy_at_import(i.target)]
    assert not lazy, "\n".join(lazy)


def test_the_rule_sees_what_it_checks():
    """The parser finds top-level and function-level imports and knows a heavy module from a light one."""
    imports = _imports("edgerppg.predict.evaluate")
    assert any(i.target == "edgerppg.predict.predictors" and not i.inside for i in imports)
    assert "torch" in heavy_at_import("edgerppg.models.base")
    assert not heavy_at_import("edgerppg.errors")
    assert stage_of("edgerppg.errors") == "core" and stage_of("edgerppg.predict.live") == "predict"
