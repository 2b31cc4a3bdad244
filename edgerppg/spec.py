"""The clip contract shared by data, models, export and bench.

A model variant owns its `ClipSpec`; every other stage reads it from the model or the artifact manifest
instead of taking shape flags of its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from edgerppg.errors import EdgeRPPGError

# STVEN's compression labels are quality levels, independent of the codec: 0 = original / "enhance to
# best quality", then falling bitrate. A group such as "x265-500k" maps to the level of its bitrate.
COMPRESSION_LEVELS: tuple[str, ...] = ("raw", "1000k", "500k", "250k")


def compression_label(group: str) -> int:
    """Map a data group name ("raw", "x264-250k", "mpeg4-1000k", ...) to STVEN's label index."""
    if group in ("raw", "", None):
        return 0
    rate = group.rsplit("-", 1)[-1]
    if rate in COMPRESSION_LEVELS:
        return COMPRESSION_LEVELS.index(rate)
    try:
        kbps = float(rate.rstrip("kK"))
    except ValueError:
        raise EdgeRPPGError(f"data group {group!r} has no bitrate suffix like '-250k'; rename it") from None
    levels = [float(x.rstrip("k")) for x in COMPRESSION_LEVELS[1:]]
    return 1 + min(range(len(levels)), key=lambda i: abs(levels[i] - kbps))


@dataclass(frozen=True)
class ClipSpec:
    """One model input clip: float32 RGB in [0, 1], laid out (batch, channels, frames, height, width)."""

    channels: int = 3
    frames: int = 64
    height: int = 128
    width: int = 128
    fps: float = 30.0

    def shape(self, batch: int = 1) -> tuple[int, int, int, int, int]:
        return (batch, self.channels, self.frames, self.height, self.width)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ClipSpec":
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise EdgeRPPGError(f"clip spec has unknown keys {sorted(unknown)}")
        return cls(**d)
