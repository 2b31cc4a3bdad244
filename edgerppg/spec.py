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


# Input formats: the model's input x = pixel * scale + offset, pixel in 0..255 in the given channel order.
# edgerppg's own models take "rgb01"; weights trained elsewhere state theirs (edgerppg convert --input).
ORDERS = ("rgb", "bgr")
INPUT_PRESETS: dict[str, tuple[str, float, float]] = {
    "rgb01": ("rgb", 1 / 255, 0.0),
    "bgr01": ("bgr", 1 / 255, 0.0),
    "rgb255": ("rgb", 1.0, 0.0),
    "bgr255": ("bgr", 1.0, 0.0),
    "centered128": ("rgb", 1 / 128, -127.5 / 128),  # (x - 127.5) / 128
    "bgr-centered128": ("bgr", 1 / 128, -127.5 / 128),
    "rgb-11": ("rgb", 2 / 255, -1.0),  # [-1, 1]
    "bgr-11": ("bgr", 2 / 255, -1.0),
}
_DEFAULT_FORMAT = INPUT_PRESETS["rgb01"]


@dataclass(frozen=True)
class ClipSpec:
    """One model input clip, laid out (batch, channels, frames, height, width), and its input format.

    Video arrives in the pipeline as float32 RGB in [0, 1]; the model takes x = pixel * scale + offset (pixel
    in 0..255, channels in `order`). The default (rgb, 1/255, 0) is that [0, 1] RGB itself, and is left out
    of `to_dict()` so the manifests of edgerppg's own models read as before; `to_model()` converts.
    """

    channels: int = 3
    frames: int = 64
    height: int = 128
    width: int = 128
    fps: float = 30.0
    order: str = "rgb"
    scale: float = 1 / 255
    offset: float = 0.0

    def __post_init__(self):
        if self.order not in ORDERS:
            raise EdgeRPPGError(f"clip channel order {self.order!r} is not one of {', '.join(ORDERS)}")
        if not self.scale or self.scale != self.scale:
            raise EdgeRPPGError(f"clip input scale {self.scale!r} must be a non-zero number")

    def shape(self, batch: int = 1) -> tuple[int, int, int, int, int]:
        return (batch, self.channels, self.frames, self.height, self.width)

    @property
    def is_rgb01(self) -> bool:
        """True for the pipeline's own format (no conversion needed)."""
        return (self.order, self.scale, self.offset) == _DEFAULT_FORMAT

    def input_format(self) -> dict:
        """{"order", "scale", "offset", "preset"} (preset None when no named one matches)."""
        fmt = (self.order, self.scale, self.offset)
        preset = next((n for n, v in INPUT_PRESETS.items() if v == fmt), None)
        return {"order": self.order, "scale": self.scale, "offset": self.offset, "preset": preset}

    def to_model(self, video):
        """[0, 1] RGB clips (numpy or torch, (B, C, T, H, W)) -> this model's input format (same type)."""
        if self.is_rgb01:
            return video
        if self.order == "bgr":
            video = video[:, ::-1] if hasattr(video, "strides") else video.flip(1)
        return video * (255.0 * self.scale) + self.offset

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.is_rgb01:
            for k in ("order", "scale", "offset"):
                d.pop(k)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ClipSpec":
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise EdgeRPPGError(f"clip spec has unknown keys {sorted(unknown)}")
        return cls(**d)


def input_preset(name: str) -> dict:
    """{"order", "scale", "offset"} of a named input format, or a one-line error listing the names."""
    if name not in INPUT_PRESETS:
        raise EdgeRPPGError(f"unknown input format {name!r}; choose one of: {', '.join(INPUT_PRESETS)}")
    order, scale, offset = INPUT_PRESETS[name]
    return {"order": order, "scale": scale, "offset": offset}
