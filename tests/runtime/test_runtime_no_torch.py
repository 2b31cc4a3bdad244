"""The device runtime without the training stack: `pip install edgerppg` (no extras) runs `hr`, `eval` and
`bench` on an exported artifact in a virtual environment that has no torch.

The environment is a real venv (`python -m venv --without-pip`) whose site-packages holds links to exactly the
distributions that edgerppg's declared runtime dependencies (pyproject.toml `dependencies`) pull in, resolved
from their installed metadata. So the test fails if the runtime imports torch anywhere on these paths, and also
if a runtime dependency is missing from pyproject.toml; it needs no network. The artifact and the video are
made by this process, which has the training stack.
"""

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from edgerppg.cli.main import main

tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python >= 3.11")

ROOT = Path(__file__).resolve().parents[2]
TRAINING_STACK = {"torch", "torch-pruning", "onnxscript", "onnxslim", "imageio-ffmpeg", "matplotlib"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_distributions() -> set[str]:
    """Every distribution the runtime install pulls in: pyproject's dependencies and theirs, no extras."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo, seen = [Requirement(r) for r in project["dependencies"]], set()
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = _norm(req.name)
        if name in seen:
            continue
        seen.add(name)
        todo += [Requirement(r) for r in metadata.distribution(name).requires or []]
    return seen


def make_runtime_venv(path: Path) -> Path:
    """A venv holding links to the runtime distributions (and edgerppg's source); returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    site = next(path.glob("lib/python*/site-packages"))
    for name in runtime_distributions():
        dist = metadata.distribution(name)
        tops = {Path(f).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            src = Path(dist.locate_file(top))
            if src.exists() and not (site / top).exists():
                (site / top).symlink_to(src)
    (site / "edgerppg-src.pth").write_text(f"{ROOT}\n")
    return path / "bin" / "python"


def test_the_runtime_dependencies_leave_out_the_training_stack():
    assert not runtime_distributions() & TRAINING_STACK
    assert {"numpy", "onnxruntime", "opencv-python-headless"} <= runtime_distributions()


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    """(python of the torch-free venv, exported tiny rPPGNet, synthetic dataset)."""
    from edgerppg.data.synth import synthesize
    from edgerppg.models import create_model, save_checkpoint
    from edgerppg.spec import ClipSpec

    tmp = tmp_path_factory.mktemp("device")
    ckpt = tmp / "r.safetensors"
    save_checkpoint(ckpt, create_model("rppgnet", "tiny", clip=ClipSpec(frames=48, height=32, width=32).to_dict()))
    with pytest.raises(SystemExit) as code:
        main(["export", str(ckpt), "--out", str(tmp / "art"), "--target", "jetson"])
    assert code.value.code == 0
    synthesize(tmp / "data", subjects=2, seconds=4, size=32)
    python = make_runtime_venv(tmp / "venv")
    return python, tmp / "art", tmp / "data", ckpt


def _run(python, *args, timeout=300):
    return subprocess.run([str(python), "-m", "edgerppg", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT.parent, env={"EDGERPPG_PROGRESS": "0", "PATH": "/usr/bin:/bin"})


def test_the_venv_has_no_torch(device):
    python = device[0]
    probe = subprocess.run([str(python), "-c", "import torch"], capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named 'torch'" in probe.stderr


def test_hr_eval_and_bench_run_without_torch(device):
    python, art, data, _ = device
    video = next((data / "raw").glob("subject01/vid.*"))
    hr = _run(python, "hr", video, "--model", art, "--crop", "full", "--json")
    assert hr.returncode == 0, hr.stderr
    result = json.loads(hr.stdout)
    assert result["method"] == "art (ort)" and 42 <= result["hr_bpm"] <= 180 and result["frames"] == 120
    ev = _run(python, "eval", "--data", data, "--model", art, "--method", "pos")
    assert ev.returncode == 0, ev.stderr
    assert "pos" in ev.stdout and "art" in ev.stdout
    bench = _run(python, "bench", art, "--data", data, "--warmup", "1", "--iters", "2", "--repeats", "1")
    assert bench.returncode == 0, bench.stderr
    assert "ort" in bench.stdout and "HR error" in bench.stdout
    lint = _run(python, "check-trt", art)
    assert lint.returncode == 0, lint.stderr
    shipped = _run(python, "hr", video, "--model", "cascade-10x", "--crop", "full", "--json")  # package data
    assert shipped.returncode == 0, shipped.stderr
    assert json.loads(shipped.stdout)["method"] == "cascade-10x (ort)"


@pytest.mark.parametrize("args", [
    lambda ck, data: ["train", "rppgnet", "--data", data, "--out", ck.parent / "t.safetensors"],
    lambda ck, data: ["export", ck, "--out", ck.parent / "exp"],
    lambda ck, data: ["hr", next((data / "raw").glob("subject01/vid.*")), "--model", ck],
    lambda ck, data: ["bench", ck, "--iters", "2", "--repeats", "1"],
], ids=["train", "export", "hr-checkpoint", "bench-checkpoint"])
def test_training_stack_commands_name_the_extra(device, args):
    python, _, data, ckpt = device
    proc = _run(python, *args(ckpt, data))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(lines) == 1 and "pip install -c constraints.txt 'edgerppg[train]'" in lines[0]
    assert not (ckpt.parent / "t.safetensors").exists() and not (ckpt.parent / "exp").exists()


def test_the_bundle_runs_live_hr_with_the_runtime_only(device):
    """`run_hr.sh` from the export's jetson bundle, with the torch-free venv's python3 first on PATH."""
    python, art, data, _ = device
    video = next((data / "raw").glob("subject01/vid.*"))
    env = {"EDGERPPG_PROGRESS": "0", "PATH": f"{python.parent}:/usr/bin:/bin"}
    run = subprocess.run(["bash", str(art / "run_hr.sh"), str(video), "--crop", "full"], capture_output=True,
                         text=True, timeout=300, env=env, cwd=ROOT.parent)
    assert run.returncode == 0, run.stderr
    direct = _run(python, "hr", video, "--model", art, "--crop", "full", "--json")
    bundle, cli = json.loads(run.stdout), json.loads(direct.stdout)
    assert bundle["windows"] == cli["windows"] and bundle["hr_bpm"] == cli["hr_bpm"]


@pytest.mark.parametrize("source, engine, expected", [
    ("camera:0", False, "--camera 0 --model {art} --json"),
    ("follow:/tmp/growing.mp4", False, "--follow /tmp/growing.mp4 --model {art} --json"),
    ("rtsp://cam/1", True, "rtsp://cam/1 --model {engine} --json --duration 5"),
])
def test_the_bundle_picks_the_source_and_the_engine(device, tmp_path, source, engine, expected):
    art = device[1]
    engine_dir = tmp_path / "trt"
    if engine:
        engine_dir.mkdir()
        (engine_dir / "model.engine").write_bytes(b"")
    extra = ["--duration", "5"] if engine else []
    run = subprocess.run(["bash", str(art / "run_hr.sh"), source, *extra], capture_output=True, text=True,
                         env={"PYTHON": "echo", "ENGINE_DIR": str(engine_dir), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "-m edgerppg hr " + expected.format(art=art, engine=engine_dir)
