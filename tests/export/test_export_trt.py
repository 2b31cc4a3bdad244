"""TensorRT: trtexec flags, builder-config mapping (fake trt module), engine refusal, check-trt lint, bundle."""

import json
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgerppg.errors import EdgeRPPGError, MissingDependencyError
from edgerppg.export import tensorrt as T
from edgerppg.export.trt_lint import check_trt, support_matrix
from edgerppg.export.trtexec import EngineOptions, profile_shapes, trtexec_args

INPUTS = [{"name": "video", "shape": ["batch", 3, 48, 16, 16], "dtype": "float32"}]
HAVE_TRT = T.have_tensorrt()


def test_trtexec_flags_follow_options():
    opts = EngineOptions(fp16=True, int8=True, sparse_weights=True, workspace_mb=512, max_batch=4)
    args = trtexec_args("m.onnx", "m.engine", INPUTS, opts, timing_cache="t.cache")
    assert args[:4] == ["trtexec", "--onnx=m.onnx", "--saveEngine=m.engine", "--timingCacheFile=t.cache"]
    assert {"--fp16", "--int8", "--sparsity=enable", "--memPoolSize=workspace:512"} <= set(args)
    assert "--minShapes=video:1x3x48x16x16" in args and "--maxShapes=video:4x3x48x16x16" in args
    static = trtexec_args("m.onnx", "e", [{"name": "video", "shape": [1, 3, 48, 16, 16]}], EngineOptions())
    assert not any(a.startswith(("--minShapes", "--fp16", "--int8", "--sparsity")) for a in static)


def test_profile_only_for_symbolic_batch():
    assert profile_shapes([{"name": "v", "shape": [2, 3, 4]}], EngineOptions()) is None
    lo, opt, hi = profile_shapes(INPUTS, EngineOptions(opt_batch=2, max_batch=8))["video"]
    assert (lo[0], opt[0], hi[0]) == (1, 2, 8) and lo[1:] == [3, 48, 16, 16]


class _Enum:
    def __init__(self, name):
        self.name = name


def fake_trt():
    """Just enough of the tensorrt module to record what `configure` asks of the builder."""
    trt = types.SimpleNamespace()
    trt.BuilderFlag = types.SimpleNamespace(**{n: _Enum(n) for n in ("FP16", "INT8", "SPARSE_WEIGHTS")})
    trt.MemoryPoolType = types.SimpleNamespace(WORKSPACE=_Enum("WORKSPACE"))
    calls = []

    class Profile:
        def set_shape(self, *a):
            calls.append(("set_shape", a))

    class Config:
        int8_calibrator = None

        def set_memory_pool_limit(self, pool, size):
            calls.append(("pool", pool.name, size))

        def set_flag(self, f):
            calls.append(("flag", f.name))

        def add_optimization_profile(self, p):
            calls.append(("profile",))

        def create_timing_cache(self, blob):
            calls.append(("cache", blob))
            return "cache"

        def set_timing_cache(self, cache, ignore_mismatch):
            calls.append(("set_cache", cache))

    builder = types.SimpleNamespace(create_builder_config=Config, create_optimization_profile=Profile)
    return trt, builder, calls


def test_configure_maps_options_to_builder_config():
    trt, builder, calls = fake_trt()
    opts = EngineOptions(fp16=True, sparse_weights=True, workspace_mb=256, max_batch=4)
    T.configure(trt, builder, None, opts, INPUTS, quantized_graph=False, timing_cache=b"abc")
    assert ("pool", "WORKSPACE", 256 << 20) in calls
    assert [c[1] for c in calls if c[0] == "flag"] == ["FP16", "SPARSE_WEIGHTS"]
    shape = next(c for c in calls if c[0] == "set_shape")[1]
    assert shape[0] == "video" and shape[3][0] == 4
    assert ("cache", b"abc") in calls and ("set_cache", "cache") in calls


def test_int8_of_qdq_graph_needs_no_calibrator_but_fp32_does():
    trt, builder, calls = fake_trt()
    T.configure(trt, builder, None, EngineOptions(int8=True), INPUTS[:0], quantized_graph=True)
    assert [c[1] for c in calls if c[0] == "flag"] == ["FP16", "INT8"]
    with pytest.raises(EdgeRPPGError, match="calibration"):
        T.configure(trt, builder, None, EngineOptions(int8=True), INPUTS[:0], quantized_graph=False)


def test_engine_built_elsewhere_is_refused_in_one_line():
    built = {"gpu": "Orin", "compute_capability": "8.7", "tensorrt": "8.6.2"}
    T.check_engine_compat(built, dict(built, tensorrt="8.6.2.3"), "e/model.engine")
    for other in (dict(built, gpu="NVIDIA H100", compute_capability="9.0"), dict(built, tensorrt="10.3.0")):
        with pytest.raises(EdgeRPPGError, match="rebuild it here") as err:
            T.check_engine_compat(built, other, "e/model.engine")
        assert "\n" not in str(err.value) and "e/model.engine" in str(err.value)


@pytest.mark.skipif(HAVE_TRT or shutil.which("trtexec"), reason="TensorRT is installed here")
def test_build_engine_without_tensorrt_says_what_to_install(toy_export):
    from edgerppg.export.engine import build_engine

    out, _ = toy_export
    with pytest.raises(MissingDependencyError, match="TensorRT is not installed"):
        build_engine(out, options=EngineOptions(fp16=True))
    proc = subprocess.run([sys.executable, "-m", "edgerppg", "build-engine", str(out), "--fp16"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "TensorRT is not installed" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.trt
@pytest.mark.skipif(not HAVE_TRT, reason="needs TensorRT and a CUDA GPU (pip install 'edgerppg[trt]' or JetPack)")
def test_build_and_run_engine_matches_onnx(toy_export, tmp_path):
    from edgerppg.export.engine import build_engine
    from edgerppg.runtime import open_backend

    out, _ = toy_export
    eng = build_engine(out, tmp_path / "eng", EngineOptions(max_batch=2))
    x = np.random.rand(2, 3, 48, 16, 16).astype(np.float32)
    with open_backend(out) as ort_be, open_backend(eng["path"]) as trt_be:
        assert trt_be.name == "trt"
        ref = ort_be.infer({"video": x})["rppg"]
        got = trt_be.infer({"video": x})["rppg"]
        assert set(trt_be.last_timings) == {"h2d_ms", "compute_ms", "d2h_ms"}
    np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-4)


def _graph(path: Path, op="Relu", dims=(1, 3, 8, 8), extra_inits=()):
    g = helper.make_graph([helper.make_node(op, ["video"], ["rppg"])], "g",
                          [helper.make_tensor_value_info("video", TensorProto.FLOAT, list(dims))],
                          [helper.make_tensor_value_info("rppg", TensorProto.FLOAT, list(dims))],
                          list(extra_inits))
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_check_trt_flags_an_unsupported_graph(tmp_path):
    big = numpy_helper.from_array(np.array([2**40], np.int64), "big")
    path = _graph(tmp_path / "bad.onnx", op="Hardmax", dims=("batch", 3, "time", 8), extra_inits=[big])
    report = check_trt(path, "10")
    checks = {p["check"] for p in report["problems"] if p["severity"] == "error"}
    assert not report["ok"] and {"op", "shape", "int64"} <= checks
    assert any("Hardmax" in p["message"] for p in report["problems"])
    proc = subprocess.run([sys.executable, "-m", "edgerppg", "check-trt", str(path), "--json"],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and json.loads(proc.stdout)["errors"] == report["errors"]


def test_check_trt_passes_the_toy_export_and_checks_names(toy_export, tmp_path):
    out, _ = toy_export
    assert check_trt(out, "10")["ok"]
    assert [p["check"] for p in check_trt(out, "8.6")["problems"] if p["severity"] == "error"] == ["opset"]
    shutil.copytree(out, tmp_path / "renamed")
    mf = json.loads((tmp_path / "renamed" / "manifest.json").read_text())
    mf["inputs"][0]["name"] = "frames"
    (tmp_path / "renamed" / "manifest.json").write_text(json.dumps(mf))
    assert any(p["check"] == "names" for p in check_trt(tmp_path / "renamed")["problems"])


def test_check_trt_flags_nonzero_qdq_zero_points(toy_export, tmp_path):
    from edgerppg.export.parity import synthetic_clips
    from edgerppg.export.precision import to_int8
    from edgerppg.spec import ClipSpec

    out, m = toy_export
    clips = synthetic_clips(ClipSpec.from_dict(m["clip"]), 2)
    to_int8(out / "model.onnx", tmp_path / "u8.onnx", calib=clips, activations="u8")
    to_int8(out / "model.onnx", tmp_path / "s8.onnx", calib=clips, activations="s8")
    assert any(p["check"] == "zero-point" for p in check_trt(tmp_path / "u8.onnx")["problems"])
    assert not any(p["check"] == "zero-point" for p in check_trt(tmp_path / "s8.onnx")["problems"])


def test_support_matrix_ships_with_the_package():
    m = support_matrix()
    for v in ("8.6", "10"):
        assert {"Conv", "ConvTranspose", "InstanceNormalization", "QuantizeLinear"} <= set(m["versions"][v]["ops"])
        assert "QLinearConv" not in m["versions"][v]["ops"]


def test_jetson_bundle_scripts(tmp_path):
    from toy_models import ToyRPPG, prune_

    from edgerppg.export.exporter import ExportOptions, export_module

    out = tmp_path / "jet"
    export_module(prune_(ToyRPPG(width=16)), out, ExportOptions(sparse=True, batch="dynamic", target="jetson",
                                                                parity_clips=2))
    build = (out / "build_engine.sh").read_text()
    bench = (out / "bench_on_device.sh").read_text()
    assert "--sparsity=enable" in build and "--saveEngine=\"$OUT/model.engine\"" in build
    assert "--minShapes=video:1x3x48x16x16" in build and "--maxShapes=video:8x3x48x16x16" in build
    assert "densify" in build and "edgerppg.export.engine record" in build
    assert "edgerppg bench" in bench and "--backend trt" in bench
    assert (out / "build_engine.sh").stat().st_mode & 0o111
    assert "edgerppg hr" in (out / "run_hr.sh").read_text()
    for script in (out / "build_engine.sh", out / "bench_on_device.sh", out / "run_hr.sh"):
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    # the densify step the script runs works here too
    subprocess.run([sys.executable, "-m", "edgerppg.export.graph", "densify", str(out / "model.onnx"),
                    str(tmp_path / "dense.onnx")], check=True)
    assert not onnx.load(str(tmp_path / "dense.onnx")).graph.sparse_initializer
