"""The `trtexec` command line matching edgerppg's engine options (JetPack ships trtexec, not always Python).

Kept apart from the Python-API builder so the device bundle (build_engine.sh) and the fallback of
`edgerppg build-engine` produce exactly the same flags, and so both are testable without TensorRT.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class EngineOptions:
    """What the engine is built with (recorded in the engine manifest)."""

    fp16: bool = False
    int8: bool = False
    sparse_weights: bool = False
    workspace_mb: int = 1024
    min_batch: int = 1
    opt_batch: int = 1
    max_batch: int = 1


def profile_shapes(inputs: list[dict], options: EngineOptions) -> dict[str, tuple[list, list, list]] | None:
    """(min, opt, max) shapes for inputs whose batch axis is symbolic; None when every shape is static."""
    out = {}
    for inp in inputs:
        shape = inp["shape"]
        if shape and not isinstance(shape[0], int):
            rest = [int(d) for d in shape[1:]]
            out[inp["name"]] = ([options.min_batch] + rest, [options.opt_batch] + rest, [options.max_batch] + rest)
    return out or None


def _fmt(shapes: dict, which: int) -> str:
    return ",".join(f"{name}:{'x'.join(str(d) for d in s[which])}" for name, s in shapes.items())


def trtexec_args(onnx: str, engine: str, inputs: list[dict], options: EngineOptions,
                 timing_cache: str = "timing.cache", calib_cache: str | None = None) -> list[str]:
    """argv for trtexec building `engine` from `onnx` with the same settings as the Python-API builder."""
    args = ["trtexec", f"--onnx={onnx}", f"--saveEngine={engine}", f"--timingCacheFile={timing_cache}",
            f"--memPoolSize=workspace:{int(options.workspace_mb)}"]
    if options.fp16:
        args.append("--fp16")
    if options.int8:
        args.append("--int8")
        if calib_cache:
            args.append(f"--calib={calib_cache}")
    if options.sparse_weights:
        args.append("--sparsity=enable")
    shapes = profile_shapes(inputs, options)
    if shapes:
        args += [f"--minShapes={_fmt(shapes, 0)}", f"--optShapes={_fmt(shapes, 1)}", f"--maxShapes={_fmt(shapes, 2)}"]
    return args


def shell_line(args: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in args)
