"""Which recordings each training kind learns from (no video is read: recordings are stand-ins)."""

from pathlib import Path
from types import SimpleNamespace

from edgerppg.train.kinds import KINDS


def _recs():
    return [SimpleNamespace(group=g, subject=s) for g in ("raw", "x264-250k") for s in ("s1", "s2")]


def test_rppgnet_learns_raw_by_default_and_every_named_group_with_groups():
    kind = KINDS.get("rppgnet")()
    assert {r.group for r in kind.select(_recs(), Path("d"))} == {"raw"}
    chosen = kind.select(_recs(), Path("d"), ["raw", "x264-250k"])
    assert {r.group for r in chosen} == {"raw", "x264-250k"} and len(chosen) == 4


def test_joint_learns_compressed_clips_paired_with_raw():
    kind = KINDS.get("joint")()
    chosen = kind.select(_recs(), Path("d"))
    assert [r.group for r in chosen if kind.learns_from(r)] == ["x264-250k", "x264-250k"]


def test_joint_learns_the_originals_too_when_groups_name_raw():
    kind = KINDS.get("joint")()
    chosen = kind.select(_recs(), Path("d"), ["raw", "x264-250k"])
    assert sorted(r.group for r in chosen if kind.learns_from(r)) == ["raw", "raw", "x264-250k", "x264-250k"]
    only_compressed = KINDS.get("joint")()
    chosen = only_compressed.select(_recs(), Path("d"), ["x264-250k"])
    assert [r.group for r in chosen if only_compressed.learns_from(r)] == ["x264-250k", "x264-250k"]
