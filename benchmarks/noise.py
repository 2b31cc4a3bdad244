"""Run-to-run noise of `edgerppg bench` results, and the --max-regression it suggests.

    for i in 1 2 3 4 5; do edgerppg bench ARTIFACT --repeats 5 --json-out noise-$i.json; done
    python benchmarks/noise.py noise-*.json

For every artifact it prints the median p50 of each run, the largest relative deviation of a run from the
median of all runs, and a threshold of 2x that deviation (at least 5%): an unchanged artifact stays inside
it, a real slow-down of that size is caught. See docs/benchmarking.md.
"""

from __future__ import annotations

import statistics
import sys

from edgerppg.bench.results import BenchReport


def noise(paths: list[str]) -> dict[str, dict]:
    runs: dict[str, list[float]] = {}
    for p in paths:
        for r in BenchReport.load(p).results:
            runs.setdefault(f"{r.name} [{r.backend}]", []).append(r.latency.median_p50_ms)
    out = {}
    for name, values in runs.items():
        mid = statistics.median(values)
        dev = max(abs(v / mid - 1) for v in values) if mid else 0.0
        out[name] = {"runs": len(values), "median_p50_ms": values, "max_rel_dev": dev,
                     "suggested_max_regression": max(0.05, round(2 * dev, 2))}
    return out


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: python benchmarks/noise.py RUN1.json RUN2.json [...]  (at least two runs)")
    for name, n in noise(sys.argv[1:]).items():
        values = ", ".join(f"{v:.2f}" for v in n["median_p50_ms"])
        print(f"{name}: p50 per run [{values}] ms, max deviation {n['max_rel_dev']:.1%}, "
              f"suggested --max-regression {n['suggested_max_regression']:.2f}")
