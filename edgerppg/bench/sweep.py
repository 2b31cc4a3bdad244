"""The bitrate sweep: MAE per codec and bitrate, one row per method (Yu et al., ICCV 2019, sweep x264, x265 and
MPEG-4 at several bitrates; their figure plots MAE against bitrate).

Reads the same accuracy rows the per-window tables show ({"group", method, "mae", "n"}), so the sweep and those
tables never disagree. Group names come from the data (`data.synth.group_name`: "raw", "x264-250k"); lossless
groups (no bitrate) come first, as the reference, then each codec from its lowest bitrate up.
"""

from __future__ import annotations

from edgerppg.data.synth import parse_group


def sweep_groups(groups) -> list[str]:
    """The groups of a sweep in display order: lossless first, then by codec and bitrate; [] when none of them
    has a bitrate (a sweep of lossless data alone would repeat the accuracy table)."""
    groups = [g for g in dict.fromkeys(groups) if g != "all"]
    if not any(parse_group(g)[1] is not None for g in groups):
        return []
    return sorted(groups, key=lambda g: (parse_group(g)[1] is not None, parse_group(g)[0], parse_group(g)[1] or 0.0))


def group_label(group: str) -> str:
    """ "x264-250k" -> "x264 250 kb/s"; other names as they are."""
    codec, kbps = parse_group(group)
    return group if kbps is None else f"{codec} {kbps:g} kb/s"


def sweep_rows(rows: list[dict], name_key: str = "method") -> tuple[list[dict], tuple]:
    """(rows, columns) of the sweep table from accuracy rows: one row per method with "<group>" = MAE and
    "<group> n" = its n; columns as (key, label, format) for `bench.report`'s renderers. ([], ()) for no sweep."""
    groups = sweep_groups(r["group"] for r in rows)
    if not groups:
        return [], ()
    table: dict[str, dict] = {}
    for r in rows:
        if r["group"] in groups:
            row = table.setdefault(r[name_key], {name_key: r[name_key]})
            row[r["group"]], row[f"{r['group']} n"] = r.get("mae"), r.get("n")
    columns = ((name_key, name_key, None),)
    for g in groups:
        columns += ((g, group_label(g), ".2f"), (f"{g} n", "n", "d"))
    return list(table.values()), columns


def sweep_series(rows: list[dict], name_key: str = "method") -> dict[str, dict[str, list[tuple[float, float]]]]:
    """{method: {codec: [(kb/s, MAE), ...] by bitrate, lossless group: [(0.0, MAE)]}} for the plot."""
    groups = set(sweep_groups(r["group"] for r in rows))
    out: dict[str, dict[str, list]] = {}
    for r in rows:
        if r["group"] in groups and r.get("mae") is not None:
            codec, kbps = parse_group(r["group"])
            out.setdefault(r[name_key], {}).setdefault(codec, []).append((kbps or 0.0, float(r["mae"])))
    return {m: {c: sorted(points) for c, points in by.items()} for m, by in out.items()}
