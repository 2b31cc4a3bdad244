"""The bitrate sweep: MAE per codec and bitrate, one row per method (Yu et al., ICCV 2019, sweep x264, x265 and
MPEG-4 at several bitrates; their figure plots MAE against bitrate).

Reads the same accuracy rows the per-window tables show ({"group", method, "mae", "n"}), so the sweep and those
tables never disagree. Group names come from the data (`data.synth.group_name`: "raw", "x264-250k"); lossless
groups (no bitrate) come first, as the reference, then each codec from its lowest bitrate up.

Rows may carry "kbps", the rate the encoder reached (`predict.evaluate.reached_kbps`). An encoder can fall far
short of the asked rate (`data.synth.shortfalls`: MPEG-4 at 64 px), and then groups at different asked rates can be
the same video. The table names such a group with the rate reached beside the asked one, and the plot puts its
points at the rate reached.
"""

from __future__ import annotations

from edgerppg.data.synth import SHORTFALL, parse_group


def sweep_groups(groups) -> list[str]:
    """The groups of a sweep in display order: lossless first, then by codec and bitrate; [] when none of them
    has a bitrate (a sweep of lossless data alone would repeat the accuracy table)."""
    groups = [g for g in dict.fromkeys(groups) if g != "all"]
    if not any(parse_group(g)[1] is not None for g in groups):
        return []
    return sorted(groups, key=lambda g: (parse_group(g)[1] is not None, parse_group(g)[0], parse_group(g)[1] or 0.0))


def group_label(group: str, reached: float | None = None) -> str:
    """ "x264-250k" -> "x264 250 kb/s"; "mpeg4 250 kb/s (46 reached)" when the encoder reached under
    `SHORTFALL` of it; other names as they are."""
    codec, kbps = parse_group(group)
    if kbps is None:
        return group
    return f"{codec} {kbps:g} kb/s" + (f" ({reached:.0f} reached)" if _short(kbps, reached) else "")


def _short(asked: float, reached: float | None) -> bool:
    return reached is not None and reached < SHORTFALL * asked


def _reached(rows: list[dict]) -> dict[str, float]:
    """{group: the rate its encoder reached} from the first row of each group that knows it."""
    out: dict[str, float] = {}
    for r in rows:
        if r.get("kbps") is not None:
            out.setdefault(r["group"], float(r["kbps"]))
    return out


def sweep_rows(rows: list[dict], name_key: str = "method") -> tuple[list[dict], tuple]:
    """(rows, columns) of the sweep table from accuracy rows: one row per method with "<group>" = MAE and
    "<group> n" = its n; columns as (key, label, format) for `bench.report`'s renderers. ([], ()) for no sweep."""
    groups = sweep_groups(r["group"] for r in rows)
    if not groups:
        return [], ()
    reached = _reached(rows)
    table: dict[str, dict] = {}
    for r in rows:
        if r["group"] in groups:
            row = table.setdefault(r[name_key], {name_key: r[name_key]})
            row[r["group"]], row[f"{r['group']} n"] = r.get("mae"), r.get("n")
    columns = ((name_key, name_key, None),)
    for g in groups:
        columns += ((g, group_label(g, reached.get(g)), ".2f"), (f"{g} n", "n", "d"))
    return list(table.values()), columns


def sweep_series(rows: list[dict], name_key: str = "method") -> dict[str, dict[str, list[tuple[float, float]]]]:
    """{method: {codec: [(kb/s, MAE), ...] by bitrate, lossless group: [(0.0, MAE)]}} for the plot; kb/s is the
    asked rate, or the one reached where that fell short of it (`group_label`)."""
    groups = set(sweep_groups(r["group"] for r in rows))
    reached = _reached(rows)
    out: dict[str, dict[str, list]] = {}
    for r in rows:
        if r["group"] in groups and r.get("mae") is not None:
            codec, kbps = parse_group(r["group"])
            got = reached.get(r["group"])
            x = 0.0 if kbps is None else (got if _short(kbps, got) else kbps)
            out.setdefault(r[name_key], {}).setdefault(codec, []).append((x, float(r["mae"])))
    return {m: {c: sorted(points) for c, points in by.items()} for m, by in out.items()}
