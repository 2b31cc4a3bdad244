"""TensorRT engines from an exported artifact: the Python API builder, or trtexec when only that exists.

Builder path (TensorRT >= 8.6 Python API): explicit-batch network parsed by `OnnxParser` (sparse
initializers densified first), `BuilderConfig` flags FP16 / INT8 / SPARSE_WEIGHTS, the workspace pool limit,
an optimisation profile for a dynamic batch axis, an `IInt8EntropyCalibrator2` fed with the calibration clips
when the graph is not already QDQ-quantised, and a timing cache loaded and saved beside the engine.
Engines only run on the GPU model and TensorRT version that built them, so both go into the manifest and
`check_engine_compat` refuses a mismatch in one line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path

import numpy as np

from edgerppg.errors import EdgeRPPGError, MissingDependencyError
from edgerppg.export.graph import densify, load_onnx
from edgerppg.export.trtexec import EngineOptions, profile_shapes, shell_line, trtexec_args
from edgerppg.manifest import sha256_file

ENGINE_FORMAT = "edgerppg-trt/1"
INSTALL_HINT = ("TensorRT is not installed: on a Jetson it comes with JetPack (python3-libnvinfer, trtexec); "
                "on a desktop GPU run `pip install 'edgerppg[trt]'` (NVIDIA's tensorrt and pycuda wheels)")


def config_flags(trt, options: EngineOptions, quantized_graph: bool) -> list:
    """BuilderFlag members the options ask for (INT8 of a QDQ graph needs no calibrator, only the flag)."""
    flags = []
    if options.fp16 or (options.int8 and quantized_graph):
        flags.append(trt.BuilderFlag.FP16)  # fallback precision for layers left unquantised
    if options.int8:
        flags.append(trt.BuilderFlag.INT8)
    if options.sparse_weights:
        flags.append(trt.BuilderFlag.SPARSE_WEIGHTS)
    return list(dict.fromkeys(flags))


def configure(trt, builder, network, options: EngineOptions, inputs: list[dict], quantized_graph: bool,
              calibrator=None, timing_cache: bytes | None = None):
    """A BuilderConfig carrying flags, workspace limit, batch profile, calibrator and timing cache."""
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(options.workspace_mb) << 20)
    for flag in config_flags(trt, options, quantized_graph):
        config.set_flag(flag)
    shapes = profile_shapes(inputs, options)
    if shapes:
        profile = builder.create_optimization_profile()
        for name, (lo, opt, hi) in shapes.items():
            profile.set_shape(name, lo, opt, hi)
        config.add_optimization_profile(profile)
        if calibrator is not None and hasattr(config, "set_calibration_profile"):
            config.set_calibration_profile(profile)
    if options.int8 and not quantized_graph:
        if calibrator is None or not hasattr(config, "int8_calibrator"):
            raise EdgeRPPGError("INT8 from an fp32 graph needs calibration clips (--calib DIR) and a TensorRT with "
                                "implicit quantisation; or export with --precision int8 (QDQ) and build from that")
        config.int8_calibrator = calibrator
    cache = config.create_timing_cache(timing_cache or b"")
    config.set_timing_cache(cache, ignore_mismatch=False)
    return config


def make_calibrator(trt, clips: np.ndarray, input_name: str, cache_path: Path):
    """An IInt8EntropyCalibrator2 feeding `clips` one at a time through a pycuda device buffer."""
    import pycuda.autoinit  # noqa: F401  (creates the CUDA context)
    import pycuda.driver as cuda

    class ClipCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self):
            super().__init__()
            self._clips = np.ascontiguousarray(clips, dtype=np.float32)
            self._i = 0
            self._dev = cuda.mem_alloc(self._clips[0:1].nbytes)

        def get_batch_size(self):
            return 1

        def get_batch(self, names):
            if self._i >= len(self._clips):
                return None
            cuda.memcpy_htod(self._dev, self._clips[self._i:self._i + 1])
            self._i += 1
            return [int(self._dev)]

        def read_calibration_cache(self):
            return cache_path.read_bytes() if cache_path.is_file() else None

        def write_calibration_cache(self, cache):
            cache_path.write_bytes(bytes(cache))

    return ClipCalibrator()


def device_info() -> dict:
    """GPU name, compute capability and TensorRT version of this machine (needs tensorrt and pycuda)."""
    import pycuda.autoinit  # noqa: F401
    import pycuda.driver as cuda
    import tensorrt as trt

    dev = cuda.Device(0)
    major, minor = dev.compute_capability()
    return {"gpu": dev.name(), "compute_capability": f"{major}.{minor}", "tensorrt": trt.__version__}


def check_engine_compat(engine_info: dict, here: dict, path: str | os.PathLike) -> None:
    """Refuse, in one line, an engine built for another GPU model or TensorRT version."""
    built = (engine_info.get("gpu"), engine_info.get("compute_capability"), engine_info.get("tensorrt"))
    now = (here.get("gpu"), here.get("compute_capability"), here.get("tensorrt"))
    same_trt = str(built[2]).split(".")[:3] == str(now[2]).split(".")[:3]
    if built[1] != now[1] or built[0] != now[0] or not same_trt:
        raise EdgeRPPGError(
            f"{path}: engine was built on {built[0]} (sm {built[1]}) with TensorRT {built[2]}, but this machine has "
            f"{now[0]} (sm {now[1]}) with TensorRT {now[2]}; rebuild it here with `edgerppg build-engine`")


def _onnx_bytes(onnx_path: Path) -> bytes:
    """The graph as bytes for the parser, sparse initializers densified (TensorRT wants dense weights)."""
    model = load_onnx(onnx_path)
    densify(model)
    return model.SerializeToString()


def build_with_api(onnx_path: Path, engine_path: Path, inputs: list[dict], options: EngineOptions,
                   quantized_graph: bool, calib: np.ndarray | None, cache_dir: Path) -> dict:
    """Parse, configure and build with the TensorRT Python API; writes the engine and the timing cache."""
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH"):  # implicit in TensorRT 10
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(_onnx_bytes(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EdgeRPPGError(f"{onnx_path}: TensorRT's ONNX parser rejected the graph ({errors[:300]}); run `edgerppg check-trt`")
    calibrator = None
    if options.int8 and not quantized_graph and calib is not None:
        calibrator = make_calibrator(trt, calib, inputs[0]["name"], cache_dir / "calibration.cache")
    cache_file = cache_dir / "timing.cache"
    cache = cache_file.read_bytes() if cache_file.is_file() else None
    config = configure(trt, builder, network, options, inputs, quantized_graph, calibrator, cache)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EdgeRPPGError(f"{onnx_path}: TensorRT could not build an engine (see its log above); try a larger --workspace")
    engine_path.write_bytes(bytes(serialized))
    cache_file.write_bytes(bytes(config.get_timing_cache().serialize()))
    return {"builder": f"tensorrt python {trt.__version__}", "flags": [f.name for f in config_flags(trt, options, quantized_graph)]}


def build_with_trtexec(onnx_path: Path, engine_path: Path, inputs: list[dict], options: EngineOptions,
                       cache_dir: Path) -> dict:
    """Run trtexec with the same flags (the JetPack route when python tensorrt is absent)."""
    dense = cache_dir / "model.dense.onnx"
    dense.write_bytes(_onnx_bytes(onnx_path))
    args = trtexec_args(str(dense), str(engine_path), inputs, options, timing_cache=str(cache_dir / "timing.cache"))
    proc = subprocess.run(args, capture_output=True, text=True)
    dense.unlink(missing_ok=True)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
        raise EdgeRPPGError(f"{onnx_path}: trtexec failed ({tail[0][:200]}); run the command by hand: {shell_line(args)}")
    return {"builder": "trtexec", "command": shell_line(args)}


def trtexec_version() -> str | None:
    exe = shutil.which("trtexec")
    if not exe:
        return None
    out = subprocess.run([exe, "--help"], capture_output=True, text=True)
    line = next((ln for ln in (out.stdout + out.stderr).splitlines() if "TensorRT" in ln), "")
    return line.strip() or "unknown"


def engine_manifest(onnx_manifest: dict, options: EngineOptions, build: dict, here: dict, engine: Path) -> dict:
    """The ONNX artifact's manifest plus what the engine is tied to."""
    out = {k: v for k, v in onnx_manifest.items() if k not in ("file", "sha256", "bundle")}
    out.update({"format": ENGINE_FORMAT, "file": engine.name, "sha256": sha256_file(engine),
                "engine": {**here, **build, "options": asdict(options), "bytes": engine.stat().st_size,
                           "onnx_sha256": onnx_manifest.get("sha256")}})
    return out


def have_tensorrt() -> bool:
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return False
    return True


def require_builder() -> str:
    """"api" when python tensorrt (and pycuda) import, "trtexec" when only that is on PATH, else a one-line error."""
    if have_tensorrt():
        return "api"
    if shutil.which("trtexec"):
        return "trtexec"
    raise MissingDependencyError(INSTALL_HINT)
