"""The pipeline's bench stage on real numpy backends: report files, summary, and skipping when unchanged."""

import json
import sys
from pathlib import Path

import pytest

import edgerppg.runtime as runtime
from edgerppg.pipeline import run_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from bench_fakes import open_fake, write_fake  # noqa: E402


@pytest.fixture
def fake_runtime(monkeypatch):
    monkeypatch.setattr(runtime, "open_backend", open_fake, raising=False)


def test_bench_stage_writes_reports_and_skips_when_unchanged(tmp_path, fake_runtime):
    dense, small = write_fake(tmp_path / "dense", width=512, layers=3), write_fake(tmp_path / "small", width=16)
    recipe = {"name": "b", "stages": [{"name": "bench", "kind": "bench", "with": {
        "artifacts": [{"path": str(dense), "name": "dense"}, {"path": str(small), "name": "10x"}],
        "methods": [], "isolate": False, "plots": False, "warmup": 1, "iters": 5, "repeats": 2}}]}
    first = run_pipeline(recipe, run_dir=tmp_path / "run")
    assert first["stages"][0]["status"] == "ran" and first["report_md"].endswith("report.md")
    report = json.loads((tmp_path / "run" / "bench" / "report.json").read_text())
    assert [r["name"] for r in report["results"]] == ["dense", "10x"]
    speed = {r["artifact"]: r["speedup"] for r in first["stages"][0]["summary"]["latency"]}
    assert speed["dense"] == pytest.approx(1.0) and speed["10x"] > 1.0
    assert "| dense |" in (tmp_path / "run" / "bench" / "report.md").read_text()
    assert run_pipeline(recipe, run_dir=tmp_path / "run")["stages"][0]["status"] == "unchanged"
