"""Contract tests of every registered model family (tiny variants): outputs, deploy form, rebuild."""

import pytest
import torch

from edgerppg.errors import EdgeRPPGError
from edgerppg.models import MODELS, create_model, variants
from edgerppg.spec import ClipSpec

NAMES = MODELS.names()


def test_registry_names_and_variants():
    assert NAMES == ["cascade", "rppgnet", "stven"]
    for name in NAMES:
        assert variants(name) == ["paper", "small", "tiny"]


@pytest.mark.parametrize("name", NAMES)
def test_spec_and_deploy_output(name):
    model = create_model(name, "tiny").eval()
    spec = model.spec
    assert isinstance(spec.clip, ClipSpec) and spec.clip == model.clip
    assert spec.input_names == ("video",)
    assert spec.dynamic_axes["video"] == {0: "batch"}
    (video,) = model.example_inputs(2)
    assert video.shape == spec.clip.shape(2) and video.dtype == torch.float32
    with torch.no_grad():
        out = model.deploy()(video)
    if spec.output_names == ("rppg",):
        assert out.shape == (2, spec.clip.frames)
    else:
        assert spec.output_names == ("enhanced",)
        assert out.shape == video.shape


def test_rppgnet_outputs():
    model = create_model("rppgnet", "tiny").eval()
    (video,) = model.example_inputs(2)
    with torch.no_grad():
        out = model(video)
        dep = model.deploy()(video)
    t, h = model.clip.frames, model.clip.height // 2
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "rppg": (2, t), "rppg_mid": (2, t), "parts": (2, 4, t), "skin": (2, t, h, h)
    }
    assert torch.equal(out["rppg"], dep)
    modules = dict(model.named_modules())
    assert all(name in modules for name in model.feature_layers)
    assert 0.0 <= out["skin"].min() and out["skin"].max() <= 1.0


def test_stven_labels_change_output_and_deploy_is_label_zero():
    model = create_model("stven", "tiny").eval()
    (video,) = model.example_inputs(2)
    with torch.no_grad():
        assert torch.allclose(model(video), video, atol=1e-6)  # a fresh STVEN is the identity map
        torch.nn.init.normal_(model.out.weight, std=0.1)  # as after training: the labels now matter
        y0 = model(video, torch.zeros(2, dtype=torch.int64))
        y3 = model(video, torch.full((2,), 3, dtype=torch.int64))
        dep = model.deploy()(video)
    assert y0.shape == video.shape
    assert torch.allclose(y0, dep, atol=1e-6)
    assert not torch.allclose(y0, y3)


def test_cascade_outputs_and_deploy():
    model = create_model("cascade", "tiny").eval()
    (video,) = model.example_inputs(1)
    with torch.no_grad():
        out = model(video)
        dep = model.deploy()(video)
    assert set(out) == {"enhanced", "rppg", "rppg_mid", "parts", "skin"}
    assert torch.allclose(out["rppg"], dep, atol=1e-6)
    assert model.stven.clip == model.rppgnet.clip == model.clip


@pytest.mark.parametrize("name", NAMES)
def test_arch_config_rebuilds_exactly(name):
    model = create_model(name, "tiny")
    cfg = model.arch_config()
    again = create_model(**cfg)
    assert again.arch_config() == cfg
    assert {k: v.shape for k, v in again.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}


def test_bad_variant_and_arch_keys_are_one_line_errors():
    with pytest.raises(EdgeRPPGError, match="unknown rppgnet variant 'huge'"):
        create_model("rppgnet", "huge")
    with pytest.raises(EdgeRPPGError, match="no keys"):
        create_model("stven", "tiny", colour=3)
    with pytest.raises(EdgeRPPGError, match="unknown model"):
        create_model("physnet")
