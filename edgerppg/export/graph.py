"""ONNX graph helpers that need neither torch nor a runtime: load, signature, weight stats, sparse storage.

Sparse storage uses ONNX's own `sparse_initializer` (a COO SparseTensorProto: the non-zero values plus their
linear indices). ONNX Runtime densifies these at session creation, so outputs are bit-identical. Indices are
stored in the narrowest signed integer type that holds the tensor's largest linear index (ONNX Runtime
reads int8/16/32/64 indices), so a 10 %-dense fp32 tensor costs about 0.8 instead of 4 bytes per weight.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edgerppg.atomic import atomic_path
from edgerppg.errors import EdgeRPPGError, require

# The narrowest index type wins; ONNX Runtime accepts these for sparse_initializer indices.
_INDEX_TYPES = (np.int8, np.int16, np.int32, np.int64)


def load_onnx(path: str | os.PathLike):
    """Read an ONNX model, turning a truncated or foreign file into a one-line error."""
    onnx = require("onnx")
    path = Path(path)
    if not path.is_file():
        raise EdgeRPPGError(f"{path}: no such ONNX file; export one with `edgerppg export CKPT --out DIR`")
    try:
        return onnx.load(str(path))
    except Exception as exc:  # protobuf DecodeError and friends
        raise EdgeRPPGError(f"{path}: not a readable ONNX model ({type(exc).__name__}); re-export it") from None


def _dims(value_info) -> list:
    """Shape of a graph input/output: ints for fixed axes, names for symbolic ones, None when unknown."""
    out = []
    for d in value_info.type.tensor_type.shape.dim:
        out.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or None))
    return out


def io_signature(model) -> dict:
    """Names, shapes and element types of the real graph inputs and outputs (initializers excluded)."""
    onnx = require("onnx")
    inits = {i.name for i in model.graph.initializer} | {s.values.name for s in model.graph.sparse_initializer}

    def describe(vi):
        elem = vi.type.tensor_type.elem_type
        return {"name": vi.name, "shape": _dims(vi), "dtype": onnx.helper.tensor_dtype_to_np_dtype(elem).name}

    return {
        "inputs": [describe(v) for v in model.graph.input if v.name not in inits],
        "outputs": [describe(v) for v in model.graph.output],
    }


def weight_arrays(model) -> dict[str, np.ndarray]:
    """Every initializer (sparse ones densified) as a numpy array, by name."""
    from onnx import numpy_helper

    out = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for sp in model.graph.sparse_initializer:
        out[sp.values.name] = _densify_array(sp)
    return out


def weight_stats(model) -> dict:
    """Parameters and non-zeros over the floating-point and int8 weights (shape constants excluded)."""
    params = nonzeros = 0
    for arr in weight_arrays(model).values():
        if arr.dtype.kind == "f" or arr.dtype in (np.int8, np.uint8):
            params += arr.size
            nonzeros += int(np.count_nonzero(arr))
    return {"params": params, "nonzeros": nonzeros, "density": round(nonzeros / params, 6) if params else 1.0}


def _densify_array(sp) -> np.ndarray:
    from onnx import numpy_helper

    values = numpy_helper.to_array(sp.values)
    idx = numpy_helper.to_array(sp.indices).astype(np.int64)
    dense = np.zeros(int(np.prod(sp.dims)), dtype=values.dtype)
    if idx.ndim == 2:  # coordinate form (NNZ, rank)
        idx = np.ravel_multi_index(tuple(idx.T), tuple(sp.dims))
    dense[idx] = values
    return dense.reshape(tuple(sp.dims))


def sparsify(model, max_density: float = 0.5, min_elements: int = 64) -> dict:
    """Move mostly-zero initializers to `sparse_initializer` in place when that makes them smaller.

    A tensor moves when its density is at most `max_density`, it has at least `min_elements`, and its COO
    form (values + narrowest indices) is smaller than the dense bytes. Returns {"converted", "bytes_saved"}.
    """
    from onnx import helper, numpy_helper

    keep, converted, saved = [], [], 0
    for init in model.graph.initializer:
        arr = numpy_helper.to_array(init)
        flat = arr.ravel()
        nz = np.flatnonzero(flat)
        dense_bytes = arr.nbytes
        itype = next(t for t in _INDEX_TYPES if flat.size - 1 <= np.iinfo(t).max)
        sparse_bytes = nz.size * (arr.itemsize + np.dtype(itype).itemsize)
        if (arr.dtype.kind not in "fiu" or flat.size < min_elements or nz.size > max_density * flat.size
                or sparse_bytes >= dense_bytes):
            keep.append(init)
            continue
        values = numpy_helper.from_array(flat[nz], name=init.name)
        indices = numpy_helper.from_array(nz.astype(itype), name=f"{init.name}__indices")
        model.graph.sparse_initializer.append(helper.make_sparse_tensor(values, indices, list(arr.shape)))
        converted.append(init.name)
        saved += dense_bytes - sparse_bytes
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)
    return {"converted": converted, "bytes_saved": int(saved)}


def densify(model) -> int:
    """Turn every sparse_initializer back into a dense initializer in place (for tools that need dense)."""
    from onnx import numpy_helper

    n = 0
    for sp in list(model.graph.sparse_initializer):
        model.graph.initializer.append(numpy_helper.from_array(_densify_array(sp), name=sp.values.name))
        n += 1
    del model.graph.sparse_initializer[:]
    return n


def op_types(model) -> dict[str, int]:
    """Count of each (domain-qualified) operator in the main graph and its subgraphs."""
    counts: dict[str, int] = {}

    def walk(graph):
        for node in graph.node:
            key = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"
            counts[key] = counts.get(key, 0) + 1
            for attr in node.attribute:
                if attr.g is not None and attr.g.node:
                    walk(attr.g)
                for g in attr.graphs:
                    walk(g)

    walk(model.graph)
    return dict(sorted(counts.items()))


def opset_of(model) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def _main(argv: list[str] | None = None) -> None:
    """`python -m edgerppg.export.graph densify IN OUT` (used by the Jetson bundle before trtexec)."""
    import sys

    import onnx

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] != "densify":
        raise SystemExit("usage: python -m edgerppg.export.graph densify IN.onnx OUT.onnx")
    model = load_onnx(args[1])
    densify(model)
    with atomic_path(args[2]) as tmp:
        onnx.save(model, str(tmp))


if __name__ == "__main__":
    _main()
