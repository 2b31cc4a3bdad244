"""Pipeline runner: stages are skipped when their inputs' hashes are unchanged, re-run when they change, and a
failed stage leaves no output in place and resumes on the next run. Uses tiny real stages (files on disk)."""

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from edgerppg.errors import EdgeRPPGError
from edgerppg.pipeline import parse_pipeline, run_pipeline, stage_kind

RUNS: Counter = Counter()
FAIL: set = set()


@stage_kind("t-write", text="x")
def _write(ctx):
    RUNS[ctx.name] += 1
    (ctx.out / "value.txt").write_text(ctx.params["text"])
    return {"path": ctx.out / "value.txt", "summary": {"chars": len(ctx.params["text"])}}


@stage_kind("t-upper", src=None, suffix="")
def _upper(ctx):
    RUNS[ctx.name] += 1
    (ctx.out / "half.txt").write_text("started")  # work left behind if we fail below
    if ctx.name in FAIL:
        raise RuntimeError("interrupted")
    text = open(ctx.params["src"]).read().upper() + ctx.params["suffix"]
    (ctx.out / "value.txt").write_text(text)
    return {"path": ctx.out / "value.txt"}


@stage_kind("t-skip")
def _skip(ctx):
    RUNS[ctx.name] += 1
    return {"status": "skipped", "reason": "no accelerator here"}


def recipe(text="hello", suffix="!", extra=None):
    stages = [{"name": "a", "kind": "t-write", "with": {"text": text}},
              {"name": "b", "kind": "t-upper", "with": {"src": "@a", "suffix": suffix}},
              {"name": "c", "kind": "t-upper", "with": {"src": "@b/value.txt"}},
              {"name": "gpu", "kind": "t-skip"}]
    return {"name": "tiny", "stages": stages + (extra or [])}


def statuses(summary):
    return {s["name"]: s["status"] for s in summary["stages"]}


@pytest.fixture(autouse=True)
def _reset():
    RUNS.clear()
    FAIL.clear()


def test_second_run_skips_everything(tmp_path):
    first = run_pipeline(recipe(), run_dir=tmp_path)
    assert statuses(first) == {"a": "ran", "b": "ran", "c": "ran", "gpu": "skipped"}
    assert (tmp_path / "c" / "value.txt").read_text() == "HELLO!"
    assert json.loads((tmp_path / "a" / "stage.json").read_text())["summary"] == {"chars": 5}
    second = run_pipeline(recipe(), run_dir=tmp_path)
    assert statuses(second) == {"a": "unchanged", "b": "unchanged", "c": "unchanged", "gpu": "skipped"}
    assert RUNS == Counter(a=1, b=1, c=1, gpu=2)  # a skipped-with-reason stage is re-checked each run


def test_changed_parameter_reruns_that_stage_and_its_consumers_only(tmp_path):
    run_pipeline(recipe(), run_dir=tmp_path)
    summary = run_pipeline(recipe(suffix="?"), run_dir=tmp_path)
    assert statuses(summary) == {"a": "unchanged", "b": "ran", "c": "ran", "gpu": "skipped"}
    assert (tmp_path / "c" / "value.txt").read_text() == "HELLO?"


def test_identical_rebuild_leaves_consumers_skipped(tmp_path):
    run_pipeline(recipe(), run_dir=tmp_path)
    summary = run_pipeline(recipe(), run_dir=tmp_path, force=("a",))
    assert statuses(summary) == {"a": "ran", "b": "unchanged", "c": "unchanged", "gpu": "skipped"}


def test_tampered_output_is_rebuilt(tmp_path):
    run_pipeline(recipe(), run_dir=tmp_path)
    (tmp_path / "b" / "value.txt").write_text("corrupted")
    summary = run_pipeline(recipe(), run_dir=tmp_path)
    assert statuses(summary)["b"] == "ran" and (tmp_path / "b" / "value.txt").read_text() == "HELLO!"


def test_failed_stage_leaves_no_output_and_resumes(tmp_path):
    FAIL.add("b")
    with pytest.raises(RuntimeError):
        run_pipeline(recipe(), run_dir=tmp_path)
    assert (tmp_path / "a" / "value.txt").exists() and not (tmp_path / "b").exists()
    assert (tmp_path / ".partial" / "b" / "half.txt").exists()  # its work dir is kept for a resumable stage
    FAIL.clear()
    summary = run_pipeline(recipe(), run_dir=tmp_path)
    assert statuses(summary) == {"a": "unchanged", "b": "ran", "c": "ran", "gpu": "skipped"}
    assert not (tmp_path / ".partial" / "b").exists() and (tmp_path / "c" / "value.txt").read_text() == "HELLO!"


def test_input_file_content_is_part_of_the_hash(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("one")
    extra = [{"name": "d", "kind": "t-upper", "with": {"src": str(src)}}]
    run_pipeline(recipe(extra=extra), run_dir=tmp_path / "run")
    assert statuses(run_pipeline(recipe(extra=extra), run_dir=tmp_path / "run"))["d"] == "unchanged"
    src.write_text("two")
    summary = run_pipeline(recipe(extra=extra), run_dir=tmp_path / "run")
    assert statuses(summary)["d"] == "ran" and (tmp_path / "run" / "d" / "value.txt").read_text() == "TWO"


@pytest.mark.parametrize("bad, match", [
    ({"stages": [{"name": "a", "kind": "t-write", "with": {"txt": "x"}}]}, "unknown key 'txt'"),
    ({"stages": [{"name": "a", "kind": "nope"}]}, "unknown pipeline stage kind 'nope'"),
    ({"stages": [{"name": "b", "kind": "t-upper", "with": {"src": "@a"}}]}, "no earlier stage is named 'a'"),
    ({"stages": [{"name": "a", "kind": "t-write"}, {"name": "a", "kind": "t-write"}]}, "used twice"),
    ({"stages": [], "name": "x"}, "non-empty list"),
    ({"stages": [{"name": "a", "kind": "t-write"}], "colour": 1}, "unknown key 'colour'"),
])
def test_bad_recipes_name_the_key(bad, match):
    with pytest.raises(EdgeRPPGError, match=match):
        parse_pipeline(bad)


def test_cli_run_json_and_force(tmp_path, capsys):
    from edgerppg.cli.main import main

    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({**recipe(), "run_dir": str(tmp_path / "runs")}))
    for argv in (["run", str(path), "--json"], ["run", str(path), "--json", "--force", "b"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code in (0, None)
    out = capsys.readouterr().out
    last = json.loads(out[out.rindex('{\n  "name"'):])
    assert statuses(last) == {"a": "unchanged", "b": "ran", "c": "unchanged", "gpu": "skipped"}
    with pytest.raises(SystemExit) as exc:
        main(["run", str(path), "--force", "zz"])
    assert exc.value.code == 2


def test_default_recipe_is_valid_and_chains_every_stage():
    from pathlib import Path

    from edgerppg.pipeline import load_pipeline

    pipe = load_pipeline(Path(__file__).resolve().parents[2] / "pipelines" / "default.yaml")
    kinds = [s.kind for s in pipe.stages]
    assert kinds[:2] == ["synth", "synth"] and {"train", "prune", "export", "engine"} <= set(kinds)
    assert kinds[-1] == "bench" and pipe.run_dir == "runs/default"
    bench = pipe.stages[-1].params
    names = [a["name"] for a in bench["artifacts"]]
    assert any(n.startswith("dense") for n in names) and any(n.startswith("10x") for n in names)
    assert "pos" in bench["methods"]


def test_prune_override_sets_recipe_keys_through_the_schema():
    from pathlib import Path

    from edgerppg.recipes import load_recipe

    src = Path(__file__).resolve().parents[2] / "recipes" / "structured-10x.yaml"
    before = src.read_text()
    recipe = load_recipe(src)
    patched = recipe.override({"finetune": {"epochs": 1}})
    assert next(s for s in patched.stages if s.KIND == "finetune").epochs == 1 and src.read_text() == before
    assert next(s for s in recipe.stages if s.KIND == "finetune").epochs != 1 and patched.hash != recipe.hash
    assert recipe.override({}) is recipe
    with pytest.raises(EdgeRPPGError, match="override 'finetun' matches no stage"):
        recipe.override({"finetun": {"epochs": 1}})
    with pytest.raises(EdgeRPPGError, match="unknown key 'epoch'"):
        recipe.override({"finetune": {"epoch": 1}})
    with pytest.raises(EdgeRPPGError, match="'epochs' must be int"):
        recipe.override({"finetune": {"epochs": "one"}})


def test_export_stage_passes_no_conv2d(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from edgerppg.pipeline import stages

    calls = []
    monkeypatch.setattr(stages, "export_checkpoint", lambda ckpt, out, options: calls.append(options) or {})
    for conv2d in (True, False):
        params = {"checkpoint": "c.safetensors", "precisions": ["fp32"], "sparse": False, "calib": None,
                  "batch": None, "conv2d": conv2d}
        stages.export_stage(SimpleNamespace(params=params, out=tmp_path, name="export"))
    assert calls[0].conv2d and not calls[1].conv2d and calls[0].batch == 1
    assert "--no-conv2d" in (tmp_path / "stage.log").read_text()


def test_prune_stage_passes_groups(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from edgerppg.pipeline import stages
    from edgerppg.recipes.apply import PruneResult

    calls = []

    def fake_apply(recipe, ckpt, data, out, groups=None):
        calls.append(groups)
        return PruneResult(recipe=recipe.name, recipe_hash=recipe.hash, checkpoint=ckpt, out=str(out), model="m",
                           variant="v")

    monkeypatch.setattr(stages, "apply_recipe", fake_apply)
    recipe = str(Path(__file__).resolve().parents[2] / "recipes" / "snip-10x.yaml")
    for groups in (None, ["raw", "x264-250k"]):
        params = {"checkpoint": "c.safetensors", "recipe": recipe, "data": "d", "override": {}, "groups": groups}
        stages.prune_stage(SimpleNamespace(params=params, out=tmp_path, name="pruned"))
    assert calls == [None, ["raw", "x264-250k"]]
    assert "--groups raw,x264-250k" in (tmp_path / "stage.log").read_text()


def test_pipelines_and_recipes_say_what_they_are():
    """Shipped pipelines and pruning recipes live apart and name their schema; each loader refuses the other."""
    from edgerppg.pipeline import load_pipeline
    from edgerppg.recipes import load_recipe

    root = Path(__file__).resolve().parents[2]
    pipelines, recipes = sorted((root / "pipelines").glob("*.yaml")), sorted((root / "recipes").glob("*.yaml"))
    assert pipelines and recipes
    for p in pipelines:
        assert yaml.safe_load(p.read_text())["schema"] == "edgerppg-pipeline/1"
        load_pipeline(p)
        with pytest.raises(EdgeRPPGError, match="is a pipeline, not a pruning recipe; run it with `edgerppg run"):
            load_recipe(p)
    for r in recipes:
        assert yaml.safe_load(r.read_text())["schema"] == "edgerppg-recipe/1"
        load_recipe(r)
        with pytest.raises(EdgeRPPGError, match="is a pruning recipe, not a pipeline"):
            load_pipeline(r)
