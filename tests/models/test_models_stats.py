"""Parameter / sparsity / MAC counts (torch.utils.flop_counter) and the `edgerppg models` command."""

import json

import pytest
import torch

from edgerppg.models import create_model
from edgerppg.models.stats import catalog, layer_stats, model_stats


def _conv_macs(conv, out_shape):
    """MACs of a Conv3d from its shapes: output elements x (in / groups) x kernel volume."""
    k = conv.kernel_size[0] * conv.kernel_size[1] * conv.kernel_size[2]
    n_out = 1
    for s in out_shape:
        n_out *= s
    return n_out * (conv.in_channels // conv.groups) * k


def test_rppgnet_stem_macs_match_the_conv_formula():
    model = create_model("rppgnet", "tiny")
    rows = {r["name"]: r for r in layer_stats(model)}
    c = model.clip
    assert rows["stem.conv"]["macs"] == _conv_macs(model.stem.conv, (model.stem.conv.out_channels, c.frames, c.height, c.width))
    assert rows["head_mid"]["macs"] == 0  # not run by the deploy form
    assert sum(r["macs"] for r in rows.values()) == model_stats(model)["macs"]


def test_density_counts_zeros():
    model = create_model("rppgnet", "tiny")
    with torch.no_grad():
        model.stem.conv.weight.zero_()
    stats = model_stats(model)
    assert stats["nonzeros"] == stats["params"] - model.stem.conv.weight.numel() - _zero_count(model, skip=model.stem.conv.weight)
    assert stats["density"] == pytest.approx(stats["nonzeros"] / stats["params"])


def _zero_count(model, skip):
    return sum(int((p == 0).sum()) for p in model.parameters() if p is not skip)


def test_catalog_lists_every_model_and_variant_with_tiny_budget():
    rows = catalog()
    assert {(r["model"], r["variant"]) for r in rows} == {
        (m, v) for m in ("rppgnet", "stven", "cascade") for v in ("paper", "small", "tiny")
    }
    by = {(r["model"], r["variant"]): r for r in rows}
    assert by[("rppgnet", "tiny")]["macs"] < 0.3e9  # the CPU-training budget of the tiny variant
    assert by[("cascade", "tiny")]["macs"] == by[("stven", "tiny")]["macs"] + by[("rppgnet", "tiny")]["macs"]
    assert by[("rppgnet", "paper")]["clip"]["height"] == 128
    assert by[("rppgnet", "tiny")]["params"] == sum(p.numel() for p in create_model("rppgnet", "tiny").parameters())


def test_cli_models_json():
    from typer.testing import CliRunner

    from edgerppg.cli.main import app

    result = CliRunner().invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 9 and {"model", "variant", "params", "macs", "clip"} <= set(rows[0])
    table = CliRunner().invoke(app, ["models"])
    assert table.exit_code == 0 and "rppgnet" in table.stdout
