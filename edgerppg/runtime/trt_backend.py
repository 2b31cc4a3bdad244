"""TensorRT engine backend with explicit host<->device copies, so a benchmark can split H2D / compute / D2H.

`load()` deserialises the engine (refusing one built for another GPU or TensorRT version), creates the
execution context, a CUDA stream, page-locked host buffers and device buffers for the largest batch;
`infer()` copies in, enqueues (`execute_async_v3`), copies out and synchronises. CUDA events around each
phase fill `last_timings` (ms). tensorrt and pycuda are imported lazily.
"""

from __future__ import annotations

import numpy as np

from edgerppg.errors import MissingDependencyError
from edgerppg.export.artifact import model_file, read_manifest
from edgerppg.export.tensorrt import INSTALL_HINT, check_engine_compat, device_info
from edgerppg.runtime.base import Backend
from edgerppg.spec import ClipSpec


class TrtBackend(Backend):
    """Runs `model.engine` of an engine artifact directory (built by `edgerppg build-engine`)."""

    name = "trt"

    def __init__(self, path, device: str = "cuda", threads: int | None = None):
        super().__init__(path, "cuda" if device == "cpu" else device, threads)
        self.manifest = read_manifest(path)
        self.engine_path = model_file(path, self.manifest.get("file", "model.engine"))
        self.spec = ClipSpec.from_dict(self.manifest["clip"])
        self.input_names = [i["name"] for i in self.manifest["inputs"]]
        self.output_names = [o["name"] for o in self.manifest["outputs"]]
        self.input_shapes = {i["name"]: i["shape"] for i in self.manifest["inputs"]}
        self.last_timings: dict[str, float] = {}
        self._state = None

    def _load(self) -> None:
        try:
            import pycuda.driver as cuda
            import tensorrt as trt
        except ImportError:
            raise MissingDependencyError(INSTALL_HINT) from None
        check_engine_compat(self.manifest.get("engine", {}), device_info(), self.engine_path)
        logger = trt.Logger(trt.Logger.WARNING)
        engine = trt.Runtime(logger).deserialize_cuda_engine(self.engine_path.read_bytes())
        context = engine.create_execution_context()
        max_batch = int(self.manifest.get("engine", {}).get("options", {}).get("max_batch", 1))
        bufs = {}
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            shape = list(engine.get_tensor_shape(name))
            shape = [max_batch if d < 0 else d for d in shape]
            dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(name)))
            host = cuda.pagelocked_empty(int(np.prod(shape)), dtype)
            bufs[name] = (host, cuda.mem_alloc(host.nbytes), dtype)
            context.set_tensor_address(name, int(bufs[name][1]))
        events = [cuda.Event() for _ in range(4)]
        self._state = {"cuda": cuda, "trt": trt, "engine": engine, "context": context, "bufs": bufs,
                       "stream": cuda.Stream(), "events": events}
        self.meta = {"precision": self.manifest.get("precision"), **{k: v for k, v in self.manifest.get("engine", {}).items()
                                                                    if k in ("gpu", "compute_capability", "tensorrt")}}

    def _close(self) -> None:
        if self._state:
            for _, dev, _ in self._state["bufs"].values():
                dev.free()
        self._state = None

    def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self._check_loaded()
        s = self._state
        cuda, ctx, stream, ev = s["cuda"], s["context"], s["stream"], s["events"]
        ev[0].record(stream)
        for name in self.input_names:
            arr = np.ascontiguousarray(inputs[name], dtype=s["bufs"][name][2])
            host, dev, _ = s["bufs"][name]
            host[: arr.size] = arr.ravel()
            ctx.set_input_shape(name, arr.shape)
            cuda.memcpy_htod_async(dev, host[: arr.size], stream)
        ev[1].record(stream)
        ctx.execute_async_v3(stream_handle=stream.handle)
        ev[2].record(stream)
        shapes = {}
        for name in self.output_names:
            host, dev, _ = s["bufs"][name]
            shapes[name] = tuple(ctx.get_tensor_shape(name))
            cuda.memcpy_dtoh_async(host[: int(np.prod(shapes[name]))], dev, stream)
        ev[3].record(stream)
        stream.synchronize()
        self.last_timings = {"h2d_ms": ev[0].time_till(ev[1]), "compute_ms": ev[1].time_till(ev[2]),
                             "d2h_ms": ev[2].time_till(ev[3])}
        return {n: s["bufs"][n][0][: int(np.prod(shapes[n]))].reshape(shapes[n]).astype(np.float32).copy()
                for n in self.output_names}
