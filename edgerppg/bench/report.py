"""Render a `BenchReport`: table rows, rich tables for the terminal, and the Markdown report.

Rows are built once (plain dicts of numbers) and rendered twice, so the terminal and the Markdown report
always show the same figures. The accuracy table puts each artifact next to the classical POS/CHROM rows
per data group (codec/bitrate), with the band, window and method the HR was measured with, once per window
and once per recording (one HR over the whole clip, as the papers report per video). The paired table
gives every other row's MAE difference from the reference artifact (the slowest scored one: the one "x faster"
is counted against, unless that one is timed only) with a subject-bootstrap 95% interval (`bench.paired`).
Every accuracy row carries n (windows or recordings), its subjects and a 95% interval for its MAE from
resampling subjects, and each group ends with the constant guess (`BenchReport.floor`), the floor a model must
beat; the sweep table lays the per-window MAE out by codec and bitrate (`bench.sweep`).
"""

from __future__ import annotations

from pathlib import Path

from edgerppg.atomic import atomic_path
from edgerppg.bench.gate import overall_metric
from edgerppg.bench.paired import paired_rows, reference_result
from edgerppg.bench.plots import write_plots
from edgerppg.bench.results import BenchReport
from edgerppg.bench.sweep import sweep_rows
from edgerppg.predict.evaluate import interval_of, reached_kbps

METRIC_KEYS = ("mae", "rmse", "mape", "r", "within5", "sd", "n")
LATENCY_COLUMNS = (
    ("artifact", "artifact", None), ("backend", "backend", None), ("precision", "precision", None),
    ("batch", "batch", "d"), ("mean_ms", "mean ms", ".2f"), ("sd_ms", "SD ms", ".2f"), ("min_ms", "min ms", ".2f"),
    ("p50_ms", "p50 ms", ".2f"), ("p90_ms", "p90 ms", ".2f"), ("p99_ms", "p99 ms", ".2f"),
    ("fps", "FPS (frames)", ".0f"), ("clips_per_s", "clips/s", ".1f"), ("speedup", "x faster", ".2f"),
    ("rss_peak_mib", "peak RSS MiB", ".0f"), ("rss_increase_mib", "RSS +MiB", ".0f"), ("gpu_mib", "GPU MiB", ".0f"),
)
# the terminal shows fewer columns than the Markdown report (CI logs are often 80-120 columns wide)
TERMINAL_LATENCY = ("artifact", "backend", "precision", "p50_ms", "p90_ms", "p99_ms", "sd_ms", "fps", "speedup",
                    "rss_peak_mib", "rss_increase_mib", "gpu_mib")
MODEL_COLUMNS = (
    ("artifact", "artifact", None), ("model", "model", None), ("params", "params", ",d"),
    ("nonzeros", "non-zeros", ",d"), ("density", "density", ".3f"), ("macs", "MACs/clip", ",d"),
    ("size_mib", "size MiB", ".2f"), ("precision", "precision", None),
)
ACCURACY_COLUMNS = (("group", "group", None), ("method", "method", None), ("mae", "MAE", ".2f"),
                    ("mae_low", "95% CI low", ".2f"), ("mae_high", "95% CI high", ".2f"),
                    ("one_window", "1 window moves", ".2f"), ("rmse", "RMSE", ".2f"), ("mape", "MAPE %", ".1f"),
                    ("r", "r", ".3f"),
                    ("within5", "% <5 bpm", ".1f"), ("sd", "SD", ".2f"), ("n", "n", "d"),
                    ("subjects", "subjects", "d"), ("no_pulse", "no pulse", "d"))
PAIRED_COLUMNS = (("group", "group", None), ("method", "method", None), ("mae", "MAE", ".2f"),
                  ("mae_reference", "reference MAE", ".2f"), ("delta_mae", "difference", "+.2f"),
                  ("ci_low", "95% CI low", "+.2f"), ("ci_high", "95% CI high", "+.2f"), ("windows", "windows", "d"),
                  ("subjects", "subjects", "d"))


def latency_rows(report: BenchReport) -> list[dict]:
    """One row per artifact; `speedup` is relative to the slowest p50 (the dense reference)."""
    ref = reference_result(report)
    slowest = ref.latency.median_p50_ms if ref is not None else 0.0
    rows = []
    for r in report.results:
        lat, mem = r.latency, r.memory
        rows.append({
            "artifact": r.name, "backend": r.backend, "precision": r.figures.precision, "batch": lat.batch,
            "mean_ms": lat.mean_ms, "sd_ms": lat.sd_ms, "min_ms": lat.min_ms, "p50_ms": lat.p50_ms,
            "p90_ms": lat.p90_ms, "p99_ms": lat.p99_ms, "fps": lat.fps, "clips_per_s": lat.clips_per_s,
            "speedup": slowest / lat.median_p50_ms if lat.median_p50_ms else None,
            "rss_peak_mib": mem.rss_peak_bytes / 2**20, "rss_increase_mib": mem.rss_increase_bytes / 2**20,
            "gpu_mib": None if mem.gpu_bytes is None else mem.gpu_bytes / 2**20,
            "split_ms": lat.split_ms,
        })
    return rows


def model_rows(report: BenchReport) -> list[dict]:
    rows = []
    for r in report.results:
        f = r.figures
        rows.append({"artifact": r.name, "model": " ".join(x for x in (f.model, f.variant) if x) or None,
                     "params": f.params, "nonzeros": f.nonzeros, "density": f.density, "macs": f.macs,
                     "size_mib": None if f.size_bytes is None else f.size_bytes / 2**20, "precision": f.precision})
    return rows


def group_metrics(accuracy: dict | None, level: str = "window") -> dict[str, dict]:
    """{group: metrics} from an `evaluate()` result; "all" holds the metrics over every group.

    `level` "window": one HR per window (the per-window table, the gate's figure); "subject": one HR per
    recording, over the whole clip (the papers' protocol: one HR per video)."""
    if not accuracy:
        return {}
    out = {}
    groups = accuracy.get("groups") or accuracy.get("by_group") or {}
    for name, node in groups.items():
        value = _metrics_of(node) if level == "window" else (node or {}).get(level)
        if value:
            out[name] = value
    if level == "window":
        overall = {k: overall_metric(accuracy, k) for k in METRIC_KEYS}
        if overall["n"] is not None:
            overall["n"] = int(overall["n"])  # a count (overall_metric returns floats)
    else:
        overall = {k: ((accuracy.get("overall") or {}).get(level) or {}).get(k) for k in METRIC_KEYS}
    if any(v is not None for v in overall.values()):
        out["all"] = overall
    return out


def _metrics_of(node) -> dict | None:
    if not isinstance(node, dict):
        return None
    for key in ("window", "per_window", "windows"):
        if isinstance(node.get(key), dict) and "mae" in node[key]:
            return node[key]
    return node if "mae" in node else None


def accuracy_rows(report: BenchReport, level: str = "window") -> list[dict]:
    """Rows (group, method, metrics..., mae_low, mae_high, subjects): every artifact and classical method, then
    the constant guess, grouped by data group; one HR per window (`level="window"`) or per recording
    (`"subject"`); the interval resamples subjects (`predict.evaluate.interval_of`)."""
    named = [(r.name, r.accuracy) for r in report.results] + list(report.classical.items())
    if report.floor:
        named.append((report.floor["predictor"], report.floor))
    table: dict[str, list[dict]] = {}
    for method, acc in named:
        for group, metrics in group_metrics(acc, level).items():
            ci = interval_of(acc, group, level)
            table.setdefault(group, []).append({"group": group, "method": method,
                                                **{k: metrics.get(k) for k in METRIC_KEYS},
                                                "mae_low": ci["mae_low"], "mae_high": ci["mae_high"],
                                                "one_window": ci["one_window"],
                                                "subjects": ci["subjects"] or None,
                                                "no_pulse": _no_pulse(acc, group) if level == "window" else None,
                                                "kbps": reached_kbps(acc, group)})
    order = sorted(g for g in table if g != "all") + (["all"] if "all" in table else [])
    return [row for g in order for row in table[g]]


def _no_pulse(accuracy: dict, group: str) -> int | None:
    """Windows of `group` ("all": every group) without a credible pulse; None for results that predate the count."""
    windows = [w for w in (accuracy or {}).get("windows") or [] if isinstance(w, dict) and "no_pulse" in w]
    if not windows:
        return None
    return sum(bool(w["no_pulse"]) for w in windows if group == "all" or w.get("group") == group)


def _fmt(value, spec) -> str:
    if value is None:
        return "-"
    if spec is None:
        return str(value)
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)


def _render_rows(rows, columns) -> list[list[str]]:
    return [[_fmt(row.get(key), spec) for key, _, spec in columns] for row in rows]


def rich_tables(report: BenchReport) -> list:
    """Rich tables: latency/memory, model figures, accuracy (when measured)."""
    from rich.table import Table

    tables = []
    for title, rows, cols in _sections(report):
        if cols is LATENCY_COLUMNS:
            cols = tuple(c for c in cols if c[0] in TERMINAL_LATENCY)
            if all(r.get("gpu_mib") is None for r in rows):
                cols = tuple(c for c in cols if c[0] != "gpu_mib")
        t = Table(title=title)
        for i, (_, label, spec) in enumerate(cols):
            t.add_column(label, justify="left" if spec is None else "right", no_wrap=i == 0)
        for cells in _render_rows(rows, cols):
            t.add_row(*cells)
        tables.append(t)
    return tables


def _sections(report: BenchReport):
    settings = report.settings
    env = report.environment
    yield (f"latency and memory - {settings.get('device', 'cpu')}, {env.get('cpu', '?')}, "
           f"threads {settings.get('threads') or 'default'}", latency_rows(report), LATENCY_COLUMNS)
    yield "model figures", model_rows(report), MODEL_COLUMNS
    acc = accuracy_rows(report)
    if acc:
        unscored = [r.name for r in report.results if r.path in (settings.get("unscored") or ())]
        yield (f"HR error per window ({settings.get('window', 10)} s windows, welch, band 0.7-3.0 Hz; 1 window moves: "
               "the most dropping one window moves the MAE"
               + (f"; timed, not scored: {', '.join(unscored)}" if unscored else "") + ")",
               acc, ACCURACY_COLUMNS)
    per_recording = accuracy_rows(report, "subject")
    if per_recording:
        yield ("HR error per recording (one HR over each whole clip, welch, band 0.7-3.0 Hz; n = recordings)",
               per_recording, ACCURACY_COLUMNS)
    sweep, columns = sweep_rows(acc)
    if sweep:
        yield "MAE per window by codec and bitrate (bpm; n = windows)", sweep, columns
    paired = paired_rows(report)
    if paired:
        reference = reference_result(report, scored=True).name
        yield (f"MAE difference from {reference} (paired windows, 95% CI from resampling subjects)", paired,
               PAIRED_COLUMNS)


def to_markdown(report: BenchReport, plots: list[str] | None = None) -> str:
    """The Markdown report: settings, environment, then the same tables as the terminal."""
    env, s = report.environment, report.settings
    lines = ["# edgerppg benchmark", "",
             f"- machine: {env.get('cpu')} ({env.get('cores_physical')} cores / {env.get('cores_logical')} threads, "
             f"{env.get('memory_gib')} GiB), {env.get('platform')}",
             f"- settings: device {s.get('device')}, batch {s.get('batch')}, threads {s.get('threads') or 'default'}, "
             f"warm-up {s.get('warmup')}, {s.get('repeats')} x {s.get('iters')} timed calls, "
             f"isolated process per artifact: {s.get('isolate')}",
             "- versions: " + ", ".join(f"{k} {v}" for k, v in env.get("versions", {}).items()), ""]
    for r in report.results:
        if r.providers:
            lines.append(f"- {r.name}: providers {', '.join(r.providers)}")
    for title, rows, cols in _sections(report):
        lines += ["", f"## {title}", "", "| " + " | ".join(label for _, label, _ in cols) + " |",
                  "|" + "|".join("---" if spec is None else "---:" for _, _, spec in cols) + "|"]
        lines += ["| " + " | ".join(cells) + " |" for cells in _render_rows(rows, cols)]
    for r in report.results:
        if r.latency.split_ms:
            parts = ", ".join(f"{k} {v:.3f} ms" for k, v in r.latency.split_ms.items())
            lines.append(f"\n{r.name}: per-call split {parts}")
    for p in plots or []:
        lines += ["", f"![{p}]({p})"]
    return "\n".join(lines) + "\n"


def write_report(report: BenchReport, json_path: str | Path | None = None, md_path: str | Path | None = None,
                 plots_dir: str | Path | None = None) -> list[str]:
    """Write a bench run's files (each atomically): the PNG plots, the JSON (`BenchReport.save`) and the Markdown
    report, which links the plots relative to itself when they sit under its folder. Returns the paths written."""
    plots = write_plots(report, plots_dir, accuracy_rows(report)) if plots_dir else []
    written = list(plots)
    if json_path:
        report.save(json_path)
        written.append(str(json_path))
    if md_path:
        links = [_relative(p, Path(md_path).parent) for p in plots]
        with atomic_path(md_path) as tmp:
            tmp.write_text(to_markdown(report, links))
        written.append(str(md_path))
    return written


def _relative(path: str, folder: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(path)
