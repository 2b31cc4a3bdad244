"""Checkpoint save/load: bit-exact roundtrip, manifest contents, and one-line errors for bad files."""

import json

import pytest
import torch

from edgerppg.errors import EdgeRPPGError
from edgerppg.models import MODELS, create_model, load_checkpoint, read_manifest, save_checkpoint


@pytest.mark.parametrize("name", MODELS.names())
def test_roundtrip_is_bit_exact(tmp_path, name):
    model = create_model(name, "tiny")
    with torch.no_grad():  # non-default BN statistics so they are checked too
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm3d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    model.eval()
    path = tmp_path / f"{name}.safetensors"
    save_checkpoint(path, model, meta={"training": {"epochs": 3}, "metrics": {"mae": 2.5}, "recipe_hash": "abc"})
    loaded, manifest = load_checkpoint(path, expect=name)
    assert not loaded.training
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    (video,) = model.example_inputs(1)
    with torch.no_grad():
        assert torch.equal(model.deploy()(video), loaded.deploy()(video))
    assert manifest["model"] == name and manifest["variant"] == "tiny"
    assert manifest["arch"] == model.arch_config()
    assert manifest["clip"] == model.clip.to_dict()
    assert manifest["training"] == {"epochs": 3} and manifest["metrics"] == {"mae": 2.5}
    assert manifest["recipe_hash"] == "abc" and manifest["version"]
    assert read_manifest(path) == manifest
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.fixture()
def ckpt(tmp_path):
    path = tmp_path / "r.safetensors"
    save_checkpoint(path, create_model("rppgnet", "tiny"))
    return path


def test_truncated_file(ckpt):
    data = ckpt.read_bytes()
    ckpt.write_bytes(data[:-64])
    with pytest.raises(EdgeRPPGError, match="truncated"):
        load_checkpoint(ckpt)
    ckpt.write_bytes(data[:5])
    with pytest.raises(EdgeRPPGError, match="too short"):
        load_checkpoint(ckpt)


def test_not_a_safetensors_file(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(3)}, path)
    with pytest.raises(EdgeRPPGError, match=r"is a PyTorch state_dict.*edgerppg convert .*model.pt --model rppgnet\|stven"):
        load_checkpoint(path)
    path.write_bytes(b"\x00" * 7 + b"garbage" * 3)
    with pytest.raises(EdgeRPPGError, match="not a safetensors checkpoint"):
        load_checkpoint(path)
    with pytest.raises(EdgeRPPGError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.safetensors")


def test_safetensors_without_manifest(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(3)}, str(path))
    with pytest.raises(EdgeRPPGError, match="without an edgerppg manifest"):
        load_checkpoint(path)


def test_expect_mismatch(ckpt):
    with pytest.raises(EdgeRPPGError, match="holds rppgnet/tiny but model 'stven'"):
        load_checkpoint(ckpt, expect="stven")
    with pytest.raises(EdgeRPPGError, match="variant 'paper'"):
        load_checkpoint(ckpt, expect={"model": "rppgnet", "variant": "paper"})
    load_checkpoint(ckpt, expect={"model": "rppgnet", "variant": "tiny"})


def _rewrite(path, state, manifest):
    from safetensors.torch import save_file

    save_file(state, str(path), metadata={"edgerppg": json.dumps(manifest)})


def test_shape_mismatch_names_first_bad_key(ckpt):
    from safetensors.torch import load_file

    state, manifest = load_file(str(ckpt)), read_manifest(ckpt)
    state["stem.conv.weight"] = torch.zeros(9, 3, 1, 5, 5)
    _rewrite(ckpt, state, manifest)
    with pytest.raises(EdgeRPPGError, match=r"'stem.conv.weight' has shape \(9, 3, 1, 5, 5\)"):
        load_checkpoint(ckpt)


def test_missing_key_and_unknown_transform(ckpt):
    from safetensors.torch import load_file

    state, manifest = load_file(str(ckpt)), read_manifest(ckpt)
    del state["head.bias"]
    _rewrite(ckpt, state, manifest)
    with pytest.raises(EdgeRPPGError, match="missing key 'head.bias'"):
        load_checkpoint(ckpt)
    manifest["transforms"] = [{"type": "no-such-transform"}]
    _rewrite(ckpt, state, manifest)
    with pytest.raises(EdgeRPPGError, match="unknown model transform 'no-such-transform'"):
        load_checkpoint(ckpt)


def test_registered_transform_is_reapplied(tmp_path):
    from edgerppg.models import TRANSFORMS

    def widen_head(model, extra):  # a toy transform: replace the head by a conv of the same shape
        model.head = torch.nn.Conv3d(model.head.in_channels, 1, 1, bias=True)
        model.toy_extra = extra
        return model

    if "test-toy" not in TRANSFORMS:
        TRANSFORMS.register("test-toy")(widen_head)
    model = create_model("rppgnet", "tiny")
    model.edgerppg_transforms = [{"type": "test-toy", "extra": 7}]
    save_checkpoint(tmp_path / "t.safetensors", model)
    loaded, manifest = load_checkpoint(tmp_path / "t.safetensors")
    assert manifest["transforms"] == [{"type": "test-toy", "extra": 7}]
    assert loaded.toy_extra == 7 and loaded.edgerppg_transforms == manifest["transforms"]


def test_damaged_manifest_arch(ckpt):
    from safetensors.torch import load_file

    state, manifest = load_file(str(ckpt)), read_manifest(ckpt)
    manifest["arch"] = {"variant": "tiny"}
    _rewrite(ckpt, state, manifest)
    with pytest.raises(EdgeRPPGError, match="manifest 'arch' is damaged"):
        load_checkpoint(ckpt)
    manifest["arch"] = {"name": "rppgnet", "variant": "tiny", "stem": "wide"}
    _rewrite(ckpt, state, manifest)
    with pytest.raises(EdgeRPPGError, match="cannot rebuild the recorded architecture"):
        load_checkpoint(ckpt)
