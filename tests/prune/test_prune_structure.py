"""N2NSkip transform, connectivity score and structured channel pruning on toy and tiny real models."""

import pytest
import torch
from prune_toys import ToyNet, toy_batches, toy_objective
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from edgerppg.prune import SCORERS, add_n2nskip, prunable_params
from edgerppg.prune.connectivity import connectivity_score
from edgerppg.prune.masks import MASKERS, MaskSet
from edgerppg.models.skips import rebuild, skip_param_names
from edgerppg.prune.structured import ChannelBudget, prune_channels


def _x():
    return (toy_batches(1)[0]["video"],)


def _macs(model, x):
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        model(*x)
    return fc.get_total_flops() / 2


def test_n2nskip_adds_dependent_skips_and_rebuilds(toy):
    x = _x()
    add_n2nskip(toy, x, hop=1, exclude="head")
    cfg = toy._n2nskip_config
    assert cfg["pairs"] and all(len(p) == 4 for p in cfg["pairs"])
    assert ["down.0", "res_a", 16, 16] in cfg["pairs"]
    assert skip_param_names(toy)
    with torch.no_grad():
        for n in skip_param_names(toy):
            dict(toy.named_parameters())[n].normal_()
    toy.eval()
    fresh = rebuild(ToyNet(), hop=cfg["hop"], skip_share=cfg["skip_share"], pairs=cfg["pairs"])
    fresh.load_state_dict(toy.state_dict())
    fresh.eval()
    with torch.no_grad():
        assert torch.equal(fresh(*x)["rppg"], toy(*x)["rppg"])
        plain = ToyNet()
        plain.load_state_dict({k: v for k, v in toy.state_dict().items() if not k.startswith("n2nskip.")})
        assert not torch.allclose(plain.eval()(*x)["rppg"], toy(*x)["rppg"]), "skips change the output"


def test_connectivity_dense_is_zero_and_pruned_is_not(toy):
    x = _x()
    assert connectivity_score(toy, x, exclude="head")["distance"] == pytest.approx(0.0, abs=1e-12)
    params = prunable_params(toy, exclude="head")
    MaskSet(MASKERS.get("global")(SCORERS.get("random")(toy, params), 0.05)).apply(toy)
    pruned = connectivity_score(toy, x, exclude="head")
    assert pruned["distance"] > 0 and pruned["skips"] == 0


@pytest.mark.parametrize("norm", ["bn", "in"])
def test_structured_reaches_ten_x_on_toy(norm):
    torch.manual_seed(0)
    model = ToyNet(norm=norm)
    x = _x()
    dense = _macs(model, x)
    score = lambda m: SCORERS.get("snip")(m, prunable_params(m), toy_batches(), toy_objective)  # noqa: E731
    summary = prune_channels(model, x, score, lambda m: _macs(m, x), ChannelBudget(10, exclude="head"))
    assert dense / _macs(model, x) >= 10 and summary["mac_ratio"] >= 10
    for name, m in model.named_modules():
        if isinstance(m, (nn.InstanceNorm3d, nn.BatchNorm3d)):
            assert m.weight.shape[0] == m.num_features
    assert model.head.out_channels == 1 and model(*x)["rppg"].shape == (2, 4)


@pytest.mark.parametrize("name", ["rppgnet", "stven"])
def test_structured_real_tiny_model_reloads(name, tmp_path):
    from edgerppg.models import create_model, load_checkpoint, save_checkpoint
    from edgerppg.prune.report import total_macs

    model = create_model(name, "tiny")
    ex = model.example_inputs()
    dense = total_macs(model)
    score = lambda m: SCORERS.get("magnitude")(m, prunable_params(m))  # noqa: E731
    prune_channels(model, ex, score, total_macs, ChannelBudget(10, exclude=r"head|(^|\.)out($|\.)"))
    assert dense / total_macs(model) >= 10
    save_checkpoint(tmp_path / "s.safetensors", model)
    again, manifest = load_checkpoint(tmp_path / "s.safetensors")
    assert again.arch_config() == model.arch_config()
    model.eval()
    with torch.no_grad():
        assert torch.allclose(again.deploy()(*ex), model.deploy()(*ex))


def test_n2nskip_checkpoint_roundtrip(tmp_path):
    from edgerppg.models import create_model, load_checkpoint, save_checkpoint

    model = create_model("rppgnet", "tiny")
    ex = model.example_inputs()
    add_n2nskip(model, ex, hop=1, exclude="head")
    with torch.no_grad():
        for n in skip_param_names(model):
            dict(model.named_parameters())[n].normal_(std=0.1)
    save_checkpoint(tmp_path / "n.safetensors", model)
    again, manifest = load_checkpoint(tmp_path / "n.safetensors")
    assert manifest["transforms"][0]["type"] == "n2nskip"
    model.eval()
    with torch.no_grad():
        assert torch.equal(again.deploy()(*ex), model.deploy()(*ex))


def test_instance_norm_is_in_its_convs_group_despite_inplace_relu():
    import torch_pruning as tp

    from edgerppg.models import create_model
    from edgerppg.prune.structured import build_graph

    model = create_model("stven", "tiny")
    for m in model.modules():  # the case this guards: ReLU(inplace=True) after InstanceNorm3d
        if isinstance(m, nn.ReLU):
            m.inplace = True
    graph = build_graph(model, model.example_inputs())
    group = graph.get_pruning_group(model.enc2.conv, tp.prune_conv_out_channels, [0])
    assert model.enc2.norm in {dep.target.module for dep, _ in group}
    assert any(isinstance(m, nn.ReLU) and m.inplace for m in model.modules()), "in-place flags are restored"


def test_channel_floor_on_one_side_of_tied_layers_keeps_them_equal():
    """STVEN ties enc1/dec2 widths; a floor on enc1 alone must stop dec2 too, or the rebuilt model breaks."""
    from edgerppg.models import create_model
    from edgerppg.prune.report import total_macs
    from edgerppg.prune.structured import channel_widths

    torch.manual_seed(0)
    model = create_model("stven", "tiny")
    score = lambda m: SCORERS.get("magnitude")(m, prunable_params(m))  # noqa: E731
    width = channel_widths(model)["enc1.conv"][1]
    prune_channels(model, model.example_inputs(), score, total_macs,
                   ChannelBudget(2, exclude=r"head|(^|\.)out($|\.)", min_channels=width, min_channels_scope=r"^enc1\.conv$"))
    widths = channel_widths(model)
    assert widths["enc1.conv"][1] == widths["dec2.conv"][1] == width, widths
