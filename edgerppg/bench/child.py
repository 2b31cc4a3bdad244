"""Subprocess entry point: measure one artifact in a fresh interpreter (`python -m edgerppg.bench.child JOB OUT
[serve]`); with `serve` it times one repeat per "time" line on stdin (an interleaved run, `bench.run`).

JOB is `{"path", "spec"}` written by `bench.run._run_child`; OUT receives the `ArtifactResult` as JSON, or
`{"error": message}` with exit code 2 for a user error. A fresh process makes the RSS peak (and the kernel's
ru_maxrss) belong to this artifact alone.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

from edgerppg.atomic import write_json
from edgerppg.bench.run import REPLY, BenchSpec, measure_artifact
from edgerppg.errors import EdgeRPPGError, missing_extra


def _say(word: str) -> None:
    sys.stdout.write(f"{REPLY} {word}\n")
    sys.stdout.flush()


def _rounds():
    """The parent's schedule (`bench.run._run_interleaved`): one round per "time" line, until "finish"."""
    _say("ready")
    for line in sys.stdin:
        if line.strip() != "time":
            return
        yield
        _say("timed")


def main(job_path: str, out_path: str, mode: str = "once") -> int:
    job = json.loads(open(job_path).read())
    spec = job["spec"]
    spec["methods"] = tuple(spec.get("methods", ()))
    try:
        result = measure_artifact(job["path"], BenchSpec(**spec), rounds=_rounds() if mode == "serve" else None)
    except EdgeRPPGError as exc:
        write_json(out_path, {"error": str(exc)})
        return 2
    except ModuleNotFoundError as exc:  # a torch checkpoint on a runtime-only install
        error = missing_extra(exc, f"{job['path']}: benchmarking a checkpoint")
        if error is None:
            raise
        write_json(out_path, {"error": str(error)})
        return 2
    write_json(out_path, asdict(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
