"""Temporary outputs carry their process id; a run killed with -9 leaves them, the next run removes them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgerppg.atomic import atomic_path, remove_stale

ROOT = Path(__file__).resolve().parents[1]


def _dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    out = tmp_path / "m.safetensors"
    dead, alive = _dead_pid(), os.getppid()
    stale_file = tmp_path / f".m.safetensors.{dead}.abc.tmp"
    stale_dir = tmp_path / f".m.safetensors.{dead}.xyz.tmp"
    old = tmp_path / f".m.safetensors.old-{dead}"
    live = tmp_path / f".m.safetensors.{alive}.def.tmp"
    other = tmp_path / f".other.{dead}.abc.tmp"
    stale_file.write_text("half")
    stale_dir.mkdir()
    (stale_dir / "part").write_text("half")
    old.mkdir()
    for p in (live, other):
        p.write_text("keep")
    with atomic_path(out) as tmp:
        assert f".m.safetensors.{os.getpid()}." in tmp.name
        tmp.write_text("new")
    assert out.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, live.name, other.name])
    assert remove_stale(out) == []


def test_killed_synth_leaves_nothing_after_the_next_run(tmp_path):
    out = tmp_path / "ds"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EDGERPPG_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "edgerppg", "synth", str(out), "--subjects", "30", "--seconds",
                             "6", "--size", "48"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        partial = []
        while time.monotonic() < deadline and proc.poll() is None:
            partial = [p for p in tmp_path.glob(f".ds.{proc.pid}.*.tmp") if any(p.rglob("vid.*"))]
            if partial:
                break
            time.sleep(0.2)
        assert partial, "synth wrote no video under a temporary name"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not out.exists() and partial[0].exists()  # killed: the half dataset stays under its temporary name

    from edgerppg.cli.main import main

    try:
        main(["synth", str(out), "--subjects", "1", "--seconds", "3", "--size", "32"])
    except SystemExit as exc:
        assert not exc.code
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]


def _kill_when(proc, pattern: str, folder: Path, timeout: float = 90) -> list[Path]:
    """SIGKILL `proc` as soon as a temporary output of its own (`pattern` with its pid) exists; returns those."""
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            found = list(folder.glob(pattern.format(pid=proc.pid)))
            if found:
                return found
            time.sleep(0.1)
        return []
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


@pytest.mark.slow
def test_killed_export_leaves_nothing_after_the_next_run(tmp_path):
    from edgerppg.cli.main import main
    from edgerppg.models import create_model, save_checkpoint

    ckpt = tmp_path / "m.safetensors"
    save_checkpoint(ckpt, create_model("rppgnet", "tiny"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EDGERPPG_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "edgerppg", "export", str(ckpt), "--out", str(tmp_path / "e")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert _kill_when(proc, ".e.{pid}.*.tmp", tmp_path), "export made no temporary directory"
    assert not (tmp_path / "e").exists()
    try:
        main(["export", str(ckpt), "--out", str(tmp_path / "e")])
    except SystemExit as exc:
        assert not exc.code
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e", "m.safetensors"]


@pytest.mark.slow
def test_train_removes_what_a_killed_train_left(tmp_path):
    """A train killed while writing its checkpoint or state leaves their temporaries; the next run removes them."""
    from edgerppg.cli.main import main
    from edgerppg.data.synth import synthesize

    synthesize(tmp_path / "d", subjects=2, seconds=3, size=32, codecs=["raw"], seed=1)
    dead = _dead_pid()
    for name in (f".m.safetensors.{dead}.a1.tmp", f".m.safetensors.state.pt.{dead}.b2.tmp"):
        (tmp_path / name).write_bytes(b"half-written")
    try:
        main(["train", "rppgnet", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "m.safetensors"),
              "--epochs", "1", "--batch", "2", "--val-fraction", "0.5"])
    except SystemExit as exc:
        assert not exc.code
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "m.safetensors", "m.safetensors.state.pt"]
