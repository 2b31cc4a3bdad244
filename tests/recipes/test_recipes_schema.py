"""Recipe schema: shipped recipes load, bad recipes fail with one line naming the key and file, hashes."""

from pathlib import Path

import pytest

from edgerppg.errors import EdgeRPPGError
from edgerppg.recipes import STAGES, load_recipe, parse_recipe

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "recipes").glob("*-10x.yaml"))


def _write(tmp_path, text: str) -> Path:
    p = tmp_path / "r.yaml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_recipes_are_valid(path):
    recipe = load_recipe(path)
    assert recipe.stages and len(recipe.hash) == 64
    assert all(s.KIND in STAGES for s in recipe.stages)


def test_shipped_set_is_complete():
    names = {p.stem for p in SHIPPED}
    assert {"snip-10x", "n2nskip-10x", "structured-10x", "structured-snip-10x", "stven-structured-snip-10x"} <= names


@pytest.mark.parametrize(
    "text, match",
    [
        ("name: x\nstages:\n  - prune: {density: 0.1, colour: red}\n", "unknown key 'colour'"),
        ("name: x\nstages:\n  - prune: {density: 1.5}\n", "'density' is 1.5, outside"),
        ("name: x\nstages:\n  - prune: {density: 0}\n", "outside"),
        ("name: x\nstages:\n  - prune: {density: 0.1, mac_ratio: 10}\n", "exactly one"),
        ("name: x\nstages:\n  - prune: {mac_ratio: 4, min_channels: 0}\n", "key 'min_channels' is 0"),
        ("name: x\nstages:\n  - prune: {density: 0.1, min_channels: 2}\n", "are for structured pruning"),
        ("name: x\nstages:\n  - prune: {density: 0.1, exclude: '(('}\n", "key 'exclude'"),
        ("name: x\nstages:\n  - prune: {density: 0.1, method: snipp}\n", "'snipp'"),
        ("name: x\nstages:\n  - finetune: {lr: 0.001}\n", "missing key 'epochs'"),
        ("name: x\nstages:\n  - finetune: {epochs: many}\n", "key 'epochs' must be int"),
        ("name: x\nstages:\n  - finetune: {epochs: 1, objective: cascade-al}\n", "'cascade-al'; choose one of"),
        ("name: x\nstages:\n  - finetune: {epochs: 1, hr_aug: 1.5}\n", "key 'hr_aug' is 1.5"),
        ("name: x\nstages:\n  - finetune: {epochs: 1, spectral: -1}\n", "key 'spectral' is -1"),
        ("name: x\nstages:\n  - finetune: {epochs: 1, target: sine}\n", "key 'target' is 'sine'; choose one of"),
        ("name: x\nstages:\n  - finetune: {epochs: 1, schedule: linear}\n", "key 'schedule' is 'linear'; choose"),
        ("name: x\nstages:\n  - finetune: {epochs: 1, distill: -0.5}\n", "key 'distill' is -0.5"),
        ("name: x\nstages:\n  - sparsify: {}\n", "unknown stage 'sparsify'"),
        ("name: x\nstagse: []\n", "unknown key 'stagse'"),
        ("stages:\n  - evaluate: {}\n", "missing key 'name'"),
        ("name: x\nstages: [\n", "not valid YAML"),
    ],
)
def test_bad_recipes_name_key_and_file(tmp_path, text, match):
    path = _write(tmp_path, text)
    with pytest.raises(EdgeRPPGError, match=match) as info:
        load_recipe(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_hash_is_canonical():
    a = parse_recipe({"name": "x", "stages": [{"prune": {"density": 0.1, "method": "snip"}}]})
    b = parse_recipe({"stages": [{"prune": {"method": "snip", "density": 0.1, "mask": "global"}}], "name": "x"})
    c = parse_recipe({"name": "x", "stages": [{"prune": {"density": 0.2}}]})
    assert a.hash == b.hash != c.hash


def test_scope_matching_nothing_in_checkpoint_is_one_line(tmp_path):
    from edgerppg.models import create_model, save_checkpoint
    from edgerppg.recipes.apply import _check_model

    ckpt = tmp_path / "m.safetensors"
    model = create_model("rppgnet", "tiny")
    save_checkpoint(ckpt, model)
    recipe = load_recipe(_write(tmp_path, "name: x\nstages:\n  - prune: {density: 0.1, scope: '^enc1\\.'}\n"))
    with pytest.raises(EdgeRPPGError, match="matches no conv") as info:
        _check_model(recipe, model, ckpt)
    assert str(ckpt) in str(info.value)
    other = load_recipe(_write(tmp_path, "name: x\nmodel: stven\nstages:\n  - evaluate: {}\n"))
    with pytest.raises(EdgeRPPGError, match="written for stven"):
        _check_model(other, model, ckpt)
