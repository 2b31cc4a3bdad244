"""The deploy forms export to ONNX and match torch in ONNX Runtime (guards the InstanceNorm3d
running-stats pitfall, pytorch #72057, and tracing-unfriendly shape arithmetic)."""

import warnings

import numpy as np
import pytest
import torch

from edgerppg.models import create_model

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

CLIP = {"channels": 3, "frames": 16, "height": 32, "width": 32, "fps": 30.0}


def _perturb(model):
    """Non-trivial norm parameters and BN statistics, as after training."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm3d, torch.nn.InstanceNorm3d)):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=gen))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=gen))
            if isinstance(m, torch.nn.BatchNorm3d):
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=gen))
    return model.eval()


def _export_and_compare(model, path, dynamo):
    spec = model.spec
    deployed = model.deploy().eval()
    (video,) = model.example_inputs(2)
    axes = {n: dict(v) for n, v in spec.dynamic_axes.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            deployed, (video,), str(path), input_names=list(spec.input_names),
            output_names=list(spec.output_names), dynamic_axes=axes, dynamo=dynamo,
        )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(spec.input_names)
    for batch in (2, 3):  # the batch axis is dynamic
        (video,) = model.example_inputs(batch)
        got = session.run(None, {spec.input_names[0]: video.numpy()})[0]
        with torch.no_grad():
            want = deployed(video).numpy()
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", ["stven", "rppgnet", "cascade"])
def test_deploy_form_matches_onnxruntime(tmp_path, name):
    model = _perturb(create_model(name, "tiny", clip=CLIP))
    _export_and_compare(model, tmp_path / f"{name}.onnx", dynamo=False)


def test_stven_dynamo_export_matches_onnxruntime(tmp_path):
    pytest.importorskip("onnxscript")
    model = _perturb(create_model("stven", "tiny", clip=CLIP))
    _export_and_compare(model, tmp_path / "stven.onnx", dynamo=True)


def test_stven_eval_equals_train_mode():
    """Instance norm without running stats: eval output is the per-clip normalisation ONNX computes."""
    model = _perturb(create_model("stven", "tiny", clip=CLIP))
    (video,) = model.example_inputs(2)
    with torch.no_grad():
        eval_out = model.deploy()(video)
        train_out = model.train().deploy()(video)
    assert torch.allclose(eval_out, train_out, atol=1e-6)
