"""apply_recipe and `edgerppg prune` end to end on a tiny rPPGNet (in-memory clips instead of a dataset dir):
verified density in the saved file, recipe hash in the manifest, no partial file on interrupt, one-line errors."""

import json
from pathlib import Path

import pytest
import torch
from test_recipes_stages import EXCLUDE, Clips

from edgerppg.cli.main import main
from edgerppg.models import create_model, read_manifest, save_checkpoint
from edgerppg.recipes import apply as apply_mod
from edgerppg.recipes import apply_recipe, load_recipe
from edgerppg.recipes.runners import RUNNERS

RECIPE = f"""name: tiny-snip
stages:
  - prune: {{method: snip, density: 0.1, exclude: '{EXCLUDE}', min_layer_density: 0.02, calibration_batches: 1}}
  - finetune: {{epochs: 1, batch: 2, lr: 1.0e-3}}
"""


@pytest.fixture
def setup(tmp_path, monkeypatch):
    model = create_model("rppgnet", "tiny")
    ckpt = tmp_path / "dense.safetensors"
    save_checkpoint(ckpt, model)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(RECIPE)
    monkeypatch.setattr(apply_mod, "_data", lambda m, data, vf, seed, groups=None: (Clips(m.clip), []))
    return ckpt, recipe, tmp_path


def test_apply_recipe_writes_verified_checkpoint(setup):
    ckpt, recipe, tmp = setup
    out = tmp / "pruned.safetensors"
    result = apply_recipe(load_recipe(recipe), ckpt, tmp, out)
    assert result.sparsity["nonzeros"] == round(0.1 * result.sparsity["prunable"])
    assert read_manifest(out)["recipe_hash"] == result.recipe_hash == load_recipe(recipe).hash
    assert result.totals["nonzeros"] < result.totals["nonzeros_before"]
    assert {r["layer"] for r in result.layers} >= {"stem.conv", "head"}


def test_prune_keeps_the_provenance_of_converted_weights(setup):
    ckpt, recipe, tmp = setup
    converted = {"files": [{"network": "rppgnet", "sha256": "ab" * 32}], "exact": True}
    save_checkpoint(ckpt, create_model("rppgnet", "tiny"), {"converted": converted})
    out = tmp / "pruned.safetensors"
    apply_recipe(load_recipe(recipe), ckpt, tmp, out)
    assert read_manifest(out)["converted"] == converted


def test_interrupted_prune_leaves_no_file(setup, monkeypatch):
    ckpt, recipe, tmp = setup

    def boom(stage, ctx):
        raise KeyboardInterrupt

    monkeypatch.setitem(RUNNERS._items, "finetune", boom)
    out = tmp / "pruned.safetensors"
    with pytest.raises(KeyboardInterrupt):
        apply_recipe(load_recipe(recipe), ckpt, tmp, out)
    assert not out.exists() and not list(tmp.glob(".pruned*"))


def test_cli_json_and_mismatch_error(setup, capsys):
    ckpt, recipe, tmp = setup
    out = tmp / "cli.safetensors"
    with pytest.raises(SystemExit) as code:
        main(["prune", str(ckpt), "--recipe", str(recipe), "--data", str(tmp), "--out", str(out), "--json"])
    assert code.value.code in (0, None)
    payload = json.loads(capsys.readouterr().out)
    assert payload["sparsity"]["density"] == pytest.approx(0.1, abs=1e-3) and out.exists()
    bad = tmp / "bad.yaml"
    bad.write_text("name: bad\nstages:\n  - prune: {density: 0.1, scope: '^enc1\\.'}\n")
    with pytest.raises(SystemExit) as code:
        main(["prune", str(ckpt), "--recipe", str(bad), "--data", str(tmp), "--out", str(tmp / "x.safetensors")])
    err = capsys.readouterr().err
    assert code.value.code == 2 and "matches no conv" in err and not (tmp / "x.safetensors").exists()


def test_distilled_cosine_finetune_uses_the_unpruned_model_as_teacher(setup, monkeypatch):
    from edgerppg.models import load_checkpoint
    from edgerppg.train import objectives

    ckpt, _, tmp = setup
    dense, _ = load_checkpoint(ckpt)
    recipe = tmp / "kd.yaml"
    recipe.write_text(RECIPE.replace("lr: 1.0e-3}", "lr: 1.0e-3, schedule: cosine, distill: 1.0}"))
    teachers = []
    call = objectives.DistilledObjective.__call__

    def spy(self, model, batch):
        teachers.append(self.teacher)
        return call(self, model, batch)

    monkeypatch.setattr(objectives.DistilledObjective, "__call__", spy)
    result = apply_recipe(load_recipe(recipe), ckpt, tmp, tmp / "kd.safetensors")
    assert len(teachers) == 1  # 2 clips, batch 2, one epoch
    teacher = teachers[0]  # the checkpoint as loaded, untouched by the 10% prune and the fine-tuning
    assert all(torch.equal(v, dense.state_dict()[k]) for k, v in teacher.state_dict().items())
    assert result.sparsity["nonzeros"] == round(0.1 * result.sparsity["prunable"])
    assert read_manifest(tmp / "kd.safetensors")["recipe"]["stages"][1]["finetune"]["distill"] == 1.0


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    from edgerppg.data.synth import synthesize

    out = tmp_path_factory.mktemp("prune-groups") / "data"
    synthesize(out, subjects=3, seconds=2.2, size=64, codecs=["raw", "x264"], bitrates=["250k"], seed=3)
    return out


def test_groups_choose_the_fine_tuning_data_and_validation_keeps_every_group(synth_dir):
    from edgerppg.errors import EdgeRPPGError

    model = create_model("rppgnet", "tiny")
    raw, val = apply_mod._data(model, synth_dir, 0.34, 0)  # rPPGNet's own training data: the originals
    both, val_both = apply_mod._data(model, synth_dir, 0.34, 0, ["raw", "x264-250k"])
    assert {r.group for r in raw.recordings} == {"raw"} and len(raw) > 0
    assert {r.group for r in both.recordings} == {"raw", "x264-250k"} and len(both) == 2 * len(raw)
    assert {r.group for r in val} == {r.group for r in val_both} == {"raw", "x264-250k"}
    cascade, _ = apply_mod._data(create_model("cascade", "tiny"), synth_dir, 0.34, 0, ["x264-250k"])
    assert {r.group for r in cascade.recordings} == {"raw", "x264-250k"}  # the originals come as pair partners
    with pytest.raises(EdgeRPPGError, match=r"no data group 'mpeg4' \(it has raw, x264-250k\); fix --groups"):
        apply_mod._data(model, synth_dir, 0.34, 0, ["mpeg4"])


def test_per_subnetwork_recipe_narrows_stven_and_keeps_rppgnet_channels(synth_dir, tmp_path):
    """recipes/stven-structured-snip-10x.yaml's prune stages on a tiny cascade: STVEN loses channels until the
    cascade runs >= 2.2x fewer MACs, rPPGNet keeps every channel, SNIP's 40% applies to what is left."""
    import yaml

    shipped = yaml.safe_load((Path(__file__).parents[2] / "recipes" / "stven-structured-snip-10x.yaml").read_text())
    stages = [s for s in shipped["stages"] if "prune" in s]
    for s in stages:
        s["prune"].update(calibration_batches=1, batch=1)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({"name": "per-subnetwork", "stages": stages}))
    model = create_model("cascade", "tiny")
    ckpt = tmp_path / "dense.safetensors"
    save_checkpoint(ckpt, model)
    result = apply_recipe(load_recipe(recipe), ckpt, synth_dir, tmp_path / "10x.safetensors")
    from edgerppg.models import load_checkpoint

    pruned, _ = load_checkpoint(tmp_path / "10x.safetensors")
    assert pruned.rppgnet.arch_config() == model.rppgnet.arch_config()
    assert sum(p.numel() for p in pruned.stven.parameters()) < 0.1 * sum(p.numel() for p in model.stven.parameters())
    assert result.totals["macs_before"] / result.totals["macs"] >= 2.2
    assert result.sparsity["density"] == pytest.approx(0.40, abs=1e-3)
