"""Subprocess entry point: measure one artifact in a fresh interpreter (`python -m edgerppg.bench.child JOB OUT`).

JOB is `{"path", "spec"}` written by `bench.run._run_child`; OUT receives the `ArtifactResult` as JSON, or
`{"error": message}` with exit code 2 for a user error. A fresh process makes the RSS peak (and the kernel's
ru_maxrss) belong to this artifact alone.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict


def main(job_path: str, out_path: str) -> int:
    from edgerppg.atomic import write_json
    from edgerppg.bench.run import BenchSpec, measure_artifact
    from edgerppg.errors import EdgeRPPGError

    job = json.loads(open(job_path).read())
    spec = job["spec"]
    spec["methods"] = tuple(spec.get("methods", ()))
    try:
        result = measure_artifact(job["path"], BenchSpec(**spec))
    except EdgeRPPGError as exc:
        write_json(out_path, {"error": str(exc)})
        return 2
    write_json(out_path, asdict(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
