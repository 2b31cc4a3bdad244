"""STVEN's label planes folded away at export (models.stven.Label0Input, export.steps.fold_label0)."""

import onnx
import pytest
import torch
from test_export_conv2d import LONG, SMALL, _randomise_norms

from edgerppg.export.exporter import ExportOptions, export_module
from edgerppg.export.parity import synthetic_clips
from edgerppg.export.steps import fold_label0
from edgerppg.models import create_model


@pytest.mark.parametrize("name,variant", [("stven", "tiny"), ("stven", "small"), ("cascade", "tiny")])
def test_folded_deploy_form_equals_the_original_and_leaves_the_model_alone(name, variant):
    # tiny: a (1,3,3) input kernel (the plane's response is computed on one frame); small: (3,5,5), every frame
    model = _randomise_norms(create_model(name, variant, clip=SMALL.to_dict()))
    deploy = model.deploy().eval()
    folded, count = fold_label0(deploy)
    x = torch.from_numpy(synthetic_clips(SMALL, 2, seed=3))
    with torch.no_grad():
        want, got = deploy(x), folded(x)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    assert count == 1 and folded is not deploy
    stven = model if name == "stven" else model.stven
    assert stven.label0 is None  # the checkpoint's model (and the torch backend) keeps the planes


def test_folded_stven_still_honours_other_labels():
    """Training and evaluation with a label other than 0 go through enc1 and the planes as before."""
    model = _randomise_norms(create_model("stven", "tiny", clip=SMALL.to_dict()))
    folded, _ = fold_label0(model)
    x = torch.from_numpy(synthetic_clips(SMALL, 2, seed=4))
    label = torch.tensor([1, 2])
    with torch.no_grad():
        torch.testing.assert_close(folded(x, label), model(x, label))


def test_rppgnet_has_nothing_to_fold():
    deploy = create_model("rppgnet", "tiny", clip=SMALL.to_dict()).deploy()
    assert fold_label0(deploy) == (deploy, 0)


@pytest.mark.parametrize("conv2d", [False, True])
def test_cascade_export_convolves_only_the_video_channels(tmp_path, conv2d):
    model = _randomise_norms(create_model("cascade", "tiny", clip=LONG.to_dict()))
    manifest = export_module(model, tmp_path / "c", ExportOptions(parity_clips=1, conv2d=conv2d))
    graph = onnx.load(str(tmp_path / "c" / "model.onnx")).graph
    weights = {t.name: list(t.dims) for t in graph.initializer}
    conv_inputs = [weights[n.input[1]][1] for n in graph.node if n.op_type == "Conv"]
    assert manifest["rewrite"]["label0_folded"] == 1 and manifest["parity"]["passed"]
    assert "Concat" not in {n.op_type for n in graph.node}  # no (B, 3 + labels, T, H, W) tensor is built
    assert 3 + model.stven.n_labels not in conv_inputs and 3 in conv_inputs and 1 in conv_inputs
