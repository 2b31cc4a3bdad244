"""Backends: registry contract, ORT/torch agreement, artifact-driven choice, torch-free ONNX path."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from edgerppg.errors import EdgeRPPGError
from edgerppg.runtime import BACKENDS, Backend, open_backend
from edgerppg.runtime.artifact import default_backend


@pytest.mark.parametrize("name", BACKENDS.names())
def test_every_backend_has_the_contract(name):
    cls = BACKENDS.get(name)
    assert issubclass(cls, Backend) and cls.name == name
    for method in ("load", "infer", "close", "__enter__", "__exit__", "describe"):
        assert callable(getattr(cls, method))


def test_registry_names():
    assert BACKENDS.names() == ["ort", "torch", "trt"]


def test_artifact_picks_its_backend(toy_artifact, tiny_checkpoint, tmp_path):
    assert default_backend(toy_artifact) == "ort"
    assert default_backend(tiny_checkpoint) == "torch"
    (tmp_path / "eng").mkdir()
    (tmp_path / "eng" / "model.engine").write_bytes(b"x")
    assert default_backend(tmp_path / "eng") == "trt"
    with pytest.raises(EdgeRPPGError, match="no such"):
        default_backend(tmp_path / "missing")


def test_ort_backend_runs_a_batch(toy_artifact):
    be = open_backend(toy_artifact, threads=1)
    with pytest.raises(EdgeRPPGError, match="before load"):
        be.infer({})
    with be:
        assert be.spec.frames == 48 and be.input_names == ["video"]
        x = np.random.default_rng(0).random((3, 3, 48, 16, 16), dtype=np.float32)
        y = be.infer(be.feeds(x))["rppg"]
        assert y.shape == (3, 48) and y.dtype == np.float32
        assert be.describe()["providers"] == ["CPUExecutionProvider"]
    assert not be.loaded


def test_ort_without_gpu_refuses_cuda(toy_artifact):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    with pytest.raises(EdgeRPPGError, match="no GPU execution provider"):
        open_backend(toy_artifact, device="cuda").load()


def test_torch_and_ort_backends_agree_on_a_checkpoint(tiny_checkpoint, tmp_path):
    from edgerppg.export.exporter import ExportOptions, export_checkpoint

    out = tmp_path / "stven"
    export_checkpoint(tiny_checkpoint, out, ExportOptions(parity_clips=1))
    with open_backend(tiny_checkpoint) as tb, open_backend(out) as ob:
        assert tb.name == "torch" and ob.name == "ort" and tb.spec == ob.spec
        x = np.random.default_rng(1).random(tb.spec.shape(1), dtype=np.float32)
        a = tb.infer(tb.feeds(x))[tb.output_names[0]]
        b = ob.infer(ob.feeds(x))[ob.output_names[0]]
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_trt_backend_without_tensorrt_is_a_one_line_error(toy_artifact, tmp_path):
    from edgerppg.export.tensorrt import have_tensorrt

    if have_tensorrt():
        pytest.skip("TensorRT is installed here")
    eng = tmp_path / "eng"
    eng.mkdir()
    (eng / "model.engine").write_bytes(b"not an engine")
    mf = json.loads((toy_artifact / "manifest.json").read_text())
    (eng / "manifest.json").write_text(json.dumps(dict(mf, file="model.engine")))
    with pytest.raises(EdgeRPPGError, match="TensorRT is not installed"):
        open_backend(eng).load()


def test_onnx_predictor_never_imports_torch(toy_artifact):
    code = textwrap.dedent(f"""
        import sys, numpy as np
        from edgerppg.runtime.predict import load_predictor
        p = load_predictor({str(toy_artifact)!r}, threads=1)
        crops = (np.random.default_rng(0).random((150, 16, 16, 3)) * 255).astype(np.uint8)
        pulse, fps = p.pulse(crops, 30.0)
        assert pulse.shape[0] >= 140 and fps == 30.0, pulse.shape
        assert "torch" not in sys.modules, "torch was imported"
        print("ok", p.name)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("ok toy (ort)")


def test_hr_cli_with_an_export_runs_without_torch(toy_artifact, tmp_path):
    import edgerppg.data

    if not hasattr(edgerppg.data, "Recording"):
        pytest.skip("edgerppg.data (video reading, Recording) has not landed yet; `hr` cannot read a video")
    cv2 = pytest.importorskip("cv2")
    video = tmp_path / "face.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (32, 32))
    t = np.arange(300) / 30.0
    for i in range(300):
        level = 150 + 6 * np.sin(2 * np.pi * 1.2 * t[i])
        writer.write(np.full((32, 32, 3), (level * 0.6, level, level * 1.2), np.uint8))
    writer.release()
    code = textwrap.dedent(f"""
        import sys
        from edgerppg.cli.main import main
        try:
            main(["hr", {str(video)!r}, "--model", {str(toy_artifact)!r}, "--crop", "full", "--window", "5", "--json"])
        except SystemExit as e:
            if e.code:
                raise
        finally:
            sys.stderr.write("TORCH_IMPORTED=%s\\n" % ("torch" in sys.modules))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "TORCH_IMPORTED=False" in proc.stderr
    assert json.loads(proc.stdout)["hr_bpm"] > 0


def test_predictor_feeds_a_static_batch_export_in_its_own_batch_size(tmp_path):
    """The pipeline exports batch 1; overlap-add infers several clips at once and must be chunked for it."""
    from toy_models import ToyRPPG

    from edgerppg.export.exporter import ExportOptions, export_module
    from edgerppg.runtime.predict import load_predictor

    import torch

    torch.manual_seed(0)
    model = ToyRPPG(width=8)
    export_module(model, tmp_path / "static", ExportOptions(batch=1, parity_clips=1))
    export_module(model, tmp_path / "dynamic", ExportOptions(batch="dynamic", parity_clips=1))
    static, dynamic = load_predictor(tmp_path / "static"), load_predictor(tmp_path / "dynamic")
    clips = np.random.default_rng(2).random(static.spec.shape(5), dtype=np.float32)
    a, b = static.infer(clips), dynamic.infer(clips)
    assert a.shape == (5, static.spec.frames)
    np.testing.assert_allclose(a, b, atol=1e-5)
