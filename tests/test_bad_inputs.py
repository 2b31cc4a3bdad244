"""Bad inputs to every command end in one line naming the path or option, exit code 2, no traceback, and leave
every file that was there untouched (issue 16: "Nothing lost, no traceback").

The table runs the CLI in-process, over each command that writes an output x each impossible or foreign output
path, each out-of-range value, and each input of the wrong kind. Every check fires before the command's work,
so each case takes a fraction of a second on a tiny dataset and checkpoint.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from edgerppg.cli.main import main

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "snip-10x.yaml"


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A tiny dataset, checkpoint and stand-in files that the cases point at; a fresh copy is not needed
    because no case may change anything (that is what the table checks)."""
    from edgerppg.data.synth import synthesize
    from edgerppg.models import create_model, save_checkpoint

    root = tmp_path_factory.mktemp("bad")
    synthesize(root / "data", subjects=1, seconds=3, size=32, codecs=["raw"], seed=1)
    save_checkpoint(root / "m.safetensors", create_model("rppgnet", "tiny"))
    (root / "mine").mkdir()
    (root / "mine" / "thesis.txt").write_text("someone's work")
    (root / "notes.txt").write_text("not edgerppg's")
    (root / "blob.bin").write_bytes(bytes(range(256)) * 4)
    (root / "empty_dir").mkdir()
    (root / "export").mkdir()  # a stand-in export directory for build-engine's output checks
    (root / "export" / "manifest.json").write_text('{"format": "edgerppg-onnx/1"}')
    return root


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def run_cli(capsys, argv: list[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    return info.value.code or 0, err


# commands that write an output, with OUT standing for the output path (W: the fixture folder)
WRITERS = {
    "synth": ["synth", "OUT", "--subjects", "1", "--seconds", "3", "--size", "32"],
    "train": ["train", "rppgnet", "--data", "W/data", "--out", "OUT", "--epochs", "1"],
    "prune": ["prune", "W/m.safetensors", "--recipe", str(RECIPE), "--data", "W/data", "--out", "OUT"],
    "export": ["export", "W/m.safetensors", "--out", "OUT"],
    "build-engine": ["build-engine", "W/export", "--out", "OUT"],
    "bench --json-out": ["bench", "W/m.safetensors", "--json-out", "OUT"],
    "bench --md": ["bench", "W/m.safetensors", "--md", "OUT"],
    "bench --plots": ["bench", "W/m.safetensors", "--plots", "OUT"],
    "hr --plot": ["hr", "W/data/raw/subject01/vid.avi", "--plot", "OUT"],
}
DIR_OUTPUTS = {"synth", "export", "build-engine", "bench --plots"}

# bad output paths: (name, path relative to W or absolute, words the one line must hold)
BAD_OUTPUTS = [
    ("under a file", "notes.txt/out", "is a file"),
    ("proc", "/proc/edgerppg-out", "cannot write"),
    ("foreign file", "notes.txt", "--overwrite"),
    ("foreign dir", "mine", "--overwrite"),
    ("binary file", "blob.bin", "--overwrite"),
]
INPUT_AS_OUTPUT = {  # the output is (or holds) one of the command's inputs
    "train": "data", "prune": "m.safetensors", "export": "m.safetensors", "bench --json-out": "m.safetensors",
    "bench --md": "m.safetensors", "build-engine": "export",
}


def _argv(template: list[str], work: Path, out: str) -> list[str]:
    return [out if a == "OUT" else a.replace("W/", f"{work}/", 1) if a.startswith("W/") else a for a in template]


def _check(code: int, err: str, names: str, words: str, before: dict, work: Path) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert names in lines[0] and words in lines[0], lines[0]
    assert snapshot(work) == before, "a pre-existing file changed"


# plots go into a folder by name, so a folder holding other files is a fine --plots (a foreign PNG of the same
# name is not: test_plots_folder_with_a_foreign_png)
CASES = [(cmd, name, rel, words) for cmd in WRITERS for name, rel, words in BAD_OUTPUTS
         if (cmd, name) != ("bench --plots", "foreign dir")]


@pytest.mark.parametrize("cmd,name,rel,words", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_bad_output_path(work, capsys, cmd, name, rel, words):
    out = rel if rel.startswith("/") else str(work / rel)
    if cmd == "bench --plots" and name in ("foreign file", "binary file"):
        words = "not a directory"  # plots go into a folder: a file there is never replaced
    if cmd not in DIR_OUTPUTS and name == "foreign dir":
        words = "is a directory"
    before = snapshot(work)
    code, err = run_cli(capsys, _argv(WRITERS[cmd], work, out))
    _check(code, err, out, words, before, work)


@pytest.mark.parametrize("cmd", sorted(INPUT_AS_OUTPUT))
def test_output_that_is_an_input(work, capsys, cmd):
    out = str(work / INPUT_AS_OUTPUT[cmd])
    before = snapshot(work)
    code, err = run_cli(capsys, _argv(WRITERS[cmd], work, out) + ["--overwrite"])
    _check(code, err, out, "is an input of this command", before, work)


BAD_VALUES = [  # (argv with W/ for the fixture folder, the option the line must name)
    (["synth", "W/new", "--seconds", "nan"], "--seconds nan"),
    (["synth", "W/new", "--seconds", "inf"], "--seconds inf"),
    (["synth", "W/new", "--seconds", "-1"], "--seconds -1"),
    (["synth", "W/new", "--fps", "nan"], "--fps nan"),
    (["synth", "W/new", "--size", "0"], "--size 0"),
    (["synth", "W/new", "--subjects", "0"], "--subjects 0"),
    (["train", "rppgnet", "--data", "W/data", "--out", "W/new.safetensors", "--lr", "nan"], "--lr nan"),
    (["train", "rppgnet", "--data", "W/data", "--out", "W/new.safetensors", "--epochs", "0"], "--epochs 0"),
    (["train", "rppgnet", "--data", "W/data", "--out", "W/new.safetensors", "--hr-aug", "inf"], "--hr-aug inf"),
    (["train", "rppgnet", "--data", "W/data", "--out", "W/new.safetensors", "--val-fraction", "1.5"],
     "--val-fraction 1.5"),
    (["prune", "W/m.safetensors", "--recipe", str(RECIPE), "--data", "W/data", "--out", "W/p.safetensors",
      "--val-fraction", "nan"], "--val-fraction nan"),
    (["bench", "W/m.safetensors", "--iters", "0"], "--iters 0"),
    (["bench", "W/m.safetensors", "--max-regression", "nan"], "--max-regression nan"),
    (["hr", "W/data/raw/subject01/vid.avi", "--window", "nan"], "--window nan"),
    (["hr", "W/data/raw/subject01/vid.avi", "--band", "nan", "3"], "--band nan"),
    (["eval", "--data", "W/data", "--window", "inf"], "--window inf"),
]


@pytest.mark.parametrize("argv,names", BAD_VALUES, ids=[" ".join(a[:1] + a[-2:]) for a, _ in BAD_VALUES])
def test_bad_value(work, capsys, argv, names):
    before = snapshot(work)
    code, err = run_cli(capsys, _argv(argv, work, ""))
    _check(code, err, names, "", before, work)


BAD_KINDS = [  # (argv, the path the line must name)
    (["prune", "W/m.safetensors", "--recipe", "W/blob.bin", "--data", "W/data", "--out", "W/p.safetensors"],
     "W/blob.bin"),
    (["prune", "W/m.safetensors", "--recipe", "W/empty_dir", "--data", "W/data", "--out", "W/p.safetensors"],
     "W/empty_dir"),
    (["prune", "W/blob.bin", "--recipe", str(RECIPE), "--data", "W/data", "--out", "W/p.safetensors"], "W/blob.bin"),
    (["prune", "W/m.safetensors", "--recipe", str(RECIPE), "--data", "W/notes.txt", "--out", "W/p.safetensors"],
     "W/notes.txt"),
    (["run", "W/blob.bin"], "W/blob.bin"),
    (["run", "W/empty_dir"], "W/empty_dir"),
    (["export", "W/blob.bin", "--out", "W/e"], "W/blob.bin"),
    (["export", "W/empty_dir", "--out", "W/e"], "W/empty_dir"),
    (["export", "W/notes.txt", "--out", "W/e"], "W/notes.txt"),
    (["train", "rppgnet", "--data", "W/notes.txt", "--out", "W/new.safetensors"], "W/notes.txt"),
    (["train", "rppgnet", "--data", "W/data", "--out", "W/new.safetensors", "--init", "W/blob.bin"], "W/blob.bin"),
    (["train", "rppgnet", "--data", "W/data", "--out", "W/new.safetensors", "--init", "W/empty_dir"], "W/empty_dir"),
    (["hr", "W/blob.bin"], "W/blob.bin"),
    (["hr", "W/empty_dir"], "W/empty_dir"),
    (["hr", "W/data/raw/subject01/vid.avi", "--model", "W/blob.bin"], "W/blob.bin"),
    (["eval", "--data", "W/notes.txt"], "W/notes.txt"),
    (["bench", "W/blob.bin"], "W/blob.bin"),
    (["bench", "W/m.safetensors", "--backend", "ort"], "W/m.safetensors"),
    (["bench", "W/m.safetensors", "--baseline", "W/blob.bin"], "W/blob.bin"),
    (["bench", "W/m.safetensors", "--baseline", "W/empty_dir"], "W/empty_dir"),
    (["compare", "W/blob.bin", "W/notes.txt"], "W/blob.bin"),
    (["check-trt", "W/blob.bin"], "W/blob.bin"),
]


@pytest.mark.parametrize("argv,names", BAD_KINDS, ids=[" ".join(a) for a, _ in BAD_KINDS])
def test_input_of_the_wrong_kind(work, capsys, argv, names):
    before = snapshot(work)
    code, err = run_cli(capsys, _argv(argv, work, ""))
    _check(code, err, names.replace("W/", f"{work}/"), "", before, work)


@pytest.mark.parametrize("where", ["notes.txt/run", "/proc/edgerppg-run", "stage"])
def test_pipeline_run_dir(work, capsys, tmp_path, where):
    """`run --run-dir`: an impossible folder, or a folder of a stage's name that `run` did not write."""
    pipe = tmp_path / "p.yaml"
    pipe.write_text("schema: edgerppg-pipeline/1\nname: t\nrun_dir: runs/t\nstages:\n"
                    "  - {name: data, kind: synth, with: {subjects: 1, seconds: 3, size: 32}}\n")
    run_dir = tmp_path / "r"
    if where == "stage":
        (run_dir / "data").mkdir(parents=True)
        (run_dir / "data" / "mine.txt").write_text("keep")
        named = str(run_dir / "data")
    else:
        run_dir = Path(where if where.startswith("/") else work / where)
        named = str(run_dir)
    before = snapshot(tmp_path)
    code, err = run_cli(capsys, ["run", str(pipe), "--run-dir", str(run_dir)])
    assert code == 2 and "Traceback" not in err and named in " ".join(err.split()), err
    assert snapshot(tmp_path) == {**before, **({"r/.partial": None} if where == "stage" else {})}


def test_plots_folder_with_a_foreign_png(work, capsys, tmp_path):
    (tmp_path / "bland_altman.png").write_bytes(b"\x89PNG\r\n\x1a\n someone's picture")
    before = snapshot(tmp_path)
    code, err = run_cli(capsys, ["bench", str(work / "m.safetensors"), "--plots", str(tmp_path)])
    _check(code, err, str(tmp_path / "bland_altman.png"), "--overwrite", before, tmp_path)


def test_prune_recipe_for_another_model_fails_before_the_work(work, capsys, tmp_path):
    """The STVEN recipe's fine-tuning objective does not fit an rPPGNet: one line, before any pruning."""
    import time

    recipe = RECIPE.with_name("stven-structured-snip-10x.yaml")
    start = time.perf_counter()
    code, err = run_cli(capsys, ["prune", str(work / "m.safetensors"), "--recipe", str(recipe), "--data",
                                 str(work / "data"), "--out", str(tmp_path / "p.safetensors")])
    assert code == 2 and "Traceback" not in err and "fine-tunes a cascade" in " ".join(err.split())
    assert time.perf_counter() - start < 15
    assert list(tmp_path.iterdir()) == []


def test_markup_in_paths_and_hints_prints_as_is(tmp_path, capsys):
    odd = tmp_path / "clips[trt]" / "vid[bold].mp4"
    code, err = run_cli(capsys, ["hr", str(odd)])
    assert code == 2 and str(odd) in " ".join(err.split())
    try:
        import tensorrt  # noqa: F401
    except ImportError:  # the hint names the extra: pip install 'edgerppg[trt]'
        export = tmp_path / "export"
        export.mkdir()
        (export / "manifest.json").write_text('{"format": "edgerppg-onnx/1", "file": "model.onnx"}')
        (export / "model.onnx").write_bytes(b"")
        code, err = run_cli(capsys, ["build-engine", str(export), "--out", str(tmp_path / "engine")])
        assert code == 2 and "edgerppg[trt]" in err


def test_quiet_after_the_subcommand(tmp_path, capsys):
    from edgerppg import progress

    code, err = run_cli(capsys, ["env", "-q", "--json"])
    assert code == 0 and progress._enabled is False
    progress.set_enabled(os.environ.get("EDGERPPG_PROGRESS", "1") != "0")


def test_same_kind_is_replaced_and_overwrite_replaces_a_foreign_folder(tmp_path, capsys):
    out = tmp_path / "ds"
    argv = ["synth", str(out), "--subjects", "1", "--seconds", "3", "--size", "32"]
    assert run_cli(capsys, argv)[0] == 0
    first = (out / "manifest.json").read_bytes()
    assert run_cli(capsys, argv + ["--seed", "1"])[0] == 0  # an older synth dataset: replaced
    assert (out / "manifest.json").read_bytes() != first
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "a.txt").write_text("x")
    assert run_cli(capsys, ["synth", str(foreign), "--subjects", "1", "--seconds", "3", "--size", "32"])[0] == 2
    assert (foreign / "a.txt").exists()
    assert run_cli(capsys, ["synth", str(foreign), "--subjects", "1", "--seconds", "3", "--size", "32",
                            "--overwrite"])[0] == 0
    assert not (foreign / "a.txt").exists() and (foreign / "manifest.json").exists()
    mode = os.stat(out).st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o777 & ~umask and (os.stat(out / "manifest.json").st_mode & 0o777) == 0o666 & ~umask
    assert not [p for p in tmp_path.iterdir() if re.match(r"^\..*\.tmp$|^\..*\.old-\d+$", p.name)]
