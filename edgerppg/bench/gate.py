"""Compare two bench results: the side-by-side table of `edgerppg compare` and the CI regression gate.

Latency is compared on `median_p50_ms`, the median over repeats of each repeat's p50, because one run on
a shared machine can be unlucky; HR MAE is compared on the per-window MAE over all data. A metric regresses
when current > baseline x (1 + max_regression) (and, for MAE, by more than `mae_slack_bpm` too, so float
noise between library versions on a near-zero error cannot fail CI). docs/benchmarking.md explains how to
pick `max_regression` from the run-to-run noise measured on the CI machine.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgerppg.bench.results import ArtifactResult, BenchReport
from edgerppg.errors import EdgeRPPGError

# (key, label, getter, higher_is_better)
COMPARE_METRICS = (
    ("median_p50_ms", "p50 latency (ms, median of repeats)", lambda r: r.latency.median_p50_ms, False),
    ("mean_ms", "mean latency (ms)", lambda r: r.latency.mean_ms, False),
    ("p90_ms", "p90 latency (ms)", lambda r: r.latency.p90_ms, False),
    ("p99_ms", "p99 latency (ms)", lambda r: r.latency.p99_ms, False),
    ("fps", "FPS (video frames/s)", lambda r: r.latency.fps, True),
    ("rss_peak_mib", "peak RSS (MiB)", lambda r: r.memory.rss_peak_bytes / 2**20, False),
    ("rss_increase_mib", "RSS over idle (MiB)", lambda r: r.memory.rss_increase_bytes / 2**20, False),
    ("size_mib", "size on disk (MiB)", lambda r: None if r.figures.size_bytes is None else r.figures.size_bytes / 2**20, False),
    ("macs", "MACs per clip", lambda r: r.figures.macs, False),
    ("mae", "HR MAE (bpm)", lambda r: overall_metric(r.accuracy, "mae"), False),
)


def overall_metric(accuracy: dict | None, key: str = "mae"):
    """One metric over all data from a `predict.evaluate.evaluate` result (per-window level preferred)."""
    if not accuracy:
        return None
    for path in (("overall", "window"), ("overall", "per_window"), ("window", "all"), ("per_window", "all"),
                 ("overall",), ("window",), ("per_window",), ()):
        node = accuracy
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(key), (int, float)):
            return float(node[key])
    return None


def match_results(a: BenchReport, b: BenchReport) -> list[tuple[ArtifactResult, ArtifactResult]]:
    """Pair results by (name, backend), then by name, then by position when both hold one result."""
    pairs = []
    by_key = {(r.name, r.backend): r for r in b.results}
    by_name = {r.name: r for r in b.results}
    for r in a.results:
        other = by_key.get((r.name, r.backend)) or by_name.get(r.name)
        if other is None and len(a.results) == len(b.results) == 1:
            other = b.results[0]
        if other is not None:
            pairs.append((r, other))
    return pairs


def compare_reports(a: BenchReport, b: BenchReport) -> list[dict]:
    """Rows `{artifact, backend, metric, label, a, b, ratio}` with ratio = b / a."""
    pairs = match_results(a, b)
    if not pairs:
        raise EdgeRPPGError("compare: the two results share no artifact name; benchmark the same artifacts in both")
    rows = []
    for ra, rb in pairs:
        for key, label, get, higher in COMPARE_METRICS:
            va, vb = get(ra), get(rb)
            if va is None and vb is None:
                continue
            ratio = vb / va if isinstance(va, (int, float)) and isinstance(vb, (int, float)) and va else None
            rows.append({"artifact": ra.name, "backend": ra.backend, "metric": key, "label": label,
                         "a": va, "b": vb, "ratio": ratio, "higher_is_better": higher})
    return rows


@dataclass
class Regression:
    artifact: str
    metric: str
    baseline: float
    current: float
    ratio: float
    limit: float


def check_regression(current: BenchReport, baseline: BenchReport, max_regression: float = 0.10,
                     mae_slack_bpm: float = 0.05) -> list[Regression]:
    """Regressions of p50 latency (median over repeats) and HR MAE beyond `max_regression`."""
    if not 0 <= max_regression < 10:
        raise EdgeRPPGError(f"--max-regression {max_regression}: use a fraction such as 0.10 (10%)")
    pairs = match_results(current, baseline)
    if not pairs:
        raise EdgeRPPGError("baseline: it holds none of the benchmarked artifacts; re-save it with "
                            "`edgerppg bench ... --json-out FILE`")
    found = []
    for cur, base in pairs:
        limit = 1.0 + max_regression
        lc, lb = cur.latency.median_p50_ms, base.latency.median_p50_ms
        if lb > 0 and lc > lb * limit:
            found.append(Regression(cur.name, "median_p50_ms", lb, lc, lc / lb, limit))
        mc, mb = overall_metric(cur.accuracy), overall_metric(base.accuracy)
        if mc is not None and mb is not None and mc > mb * limit and mc - mb > mae_slack_bpm:
            found.append(Regression(cur.name, "mae", mb, mc, mc / mb if mb else float("inf"), limit))
    return found
