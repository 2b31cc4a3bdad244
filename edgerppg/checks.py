"""Checks made before a command starts its work: output paths, numbers, text inputs.

A command that will write `--out` calls `check_output` first, so that a long run never ends on an output it
cannot write, and never replaces something edgerppg did not write. An existing output is replaced only when
it is an artifact of the same kind (its manifest says so) and not one of the command's own inputs, or when
the user passed `--overwrite`. Every failure is one `EdgeRPPGError` line naming the path.
"""

from __future__ import annotations

import json
import math
import os
import struct
import tempfile
from pathlib import Path

from edgerppg.errors import EdgeRPPGError

#: kind -> (file or directory, what it is called in messages, recogniser of an existing one)
_DIR_FORMATS = {"synth": "edgerppg-synth/1", "onnx": "edgerppg-onnx/1", "trt": "edgerppg-trt/1"}
_KIND_NAMES = {"synth": "a synthetic dataset", "onnx": "an export directory", "trt": "an engine directory",
               "checkpoint": "a checkpoint", "bench-json": "a bench result", "bench-md": "a bench report",
               "png": "a plot", "plots": "a plot directory"}
PNG_SOFTWARE = "edgerppg"  # the "Software" text of every PNG edgerppg saves; marks a plot it may replace


def check_output(path: str | os.PathLike, kind: str, inputs=(), overwrite: bool = False) -> Path:
    """Raise unless `path` can take an output of `kind` ("synth", "onnx", "trt", "checkpoint", "bench-json",
    "bench-md", "png", "plots"): its folder must be creatable and writable; an existing path must not be one of
    `inputs` (or hold one), and must be an artifact of the same kind unless `overwrite`."""
    if kind not in _KIND_NAMES:
        raise ValueError(f"unknown output kind {kind!r}")
    path = Path(path)
    want_dir = kind in ("synth", "onnx", "trt", "plots")
    resolved = path.resolve()
    for inp in inputs:
        if inp is None:
            continue
        r = Path(inp).resolve()
        if r == resolved or (resolved in r.parents and kind != "plots"):  # plots go into their folder by name
            raise EdgeRPPGError(f"{path}: is an input of this command ({inp}); write the output to another path")
    if path.exists() or path.is_symlink():
        if not want_dir and path.is_dir():
            raise EdgeRPPGError(f"{path}: is a directory; give a file path")
        if kind == "plots" and not path.is_dir():
            raise EdgeRPPGError(f"{path}: exists and is not a directory; give a directory for the plots")
        if want_dir and not path.is_dir() and not overwrite:
            raise EdgeRPPGError(f"{path}: exists and is not a directory; choose another path, or pass --overwrite "
                                "to replace it")
        if path.is_dir() and kind == "plots":
            pass  # plots go into it by name; each existing plot file is checked as "png"
        elif not (overwrite or is_artifact(path, kind)):
            raise EdgeRPPGError(f"{path}: exists and is not {_KIND_NAMES[kind]} written by edgerppg; "
                                "choose another path, or pass --overwrite to replace it")
    _check_creatable(path if kind == "plots" and path.is_dir() else path.parent, path)
    return path


def _check_creatable(folder: Path, path: Path) -> None:
    """Create and remove a probe file in the nearest existing folder above `path`, so a read-only disk, a
    path under a file or a pseudo file system (/proc) fails now, not after the work."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise EdgeRPPGError(f"{path}: {existing} is a file, not a folder; choose an output path in a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".edgerppg-probe.{os.getpid()}.", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise EdgeRPPGError(f"{path}: cannot write in {existing} ({exc.strerror}); choose another output "
                            "path") from None


def is_artifact(path: str | os.PathLike, kind: str) -> bool:
    """Whether `path` holds an edgerppg artifact of `kind`, judged from its manifest (never raises)."""
    path = Path(path)
    try:
        if kind in _DIR_FORMATS:
            return _json(path / "manifest.json").get("format") == _DIR_FORMATS[kind]
        if kind == "checkpoint":
            return _checkpoint_format(path) == "edgerppg-checkpoint/1"
        if kind == "bench-json":
            return _json(path).get("schema") == "edgerppg-bench/1"
        if kind == "bench-md":
            with open(path, "rb") as f:
                return f.readline().rstrip() == b"# edgerppg benchmark"
        if kind == "png":
            return png_software(path).startswith(PNG_SOFTWARE)
    except (OSError, ValueError, UnicodeDecodeError, struct.error, AttributeError):
        return False
    return False


def _json(path: Path) -> dict:
    data = json.loads(path.read_bytes()[: 1 << 24])
    return data if isinstance(data, dict) else {}


def _checkpoint_format(path: Path) -> str | None:
    """The manifest "format" in a safetensors header (None for anything that is not a checkpoint)."""
    try:
        header = read_safetensors_header(path)
    except EdgeRPPGError:
        return None
    meta = header.get("__metadata__") or {}
    return json.loads(meta.get("edgerppg", "{}")).get("format")


def read_safetensors_header(path: Path) -> dict:
    """Parse and validate a safetensors header (without torch or safetensors): clear errors for missing, foreign
    or truncated files. `models.checkpoint.read_manifest` and `is_artifact` both read checkpoints through it."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise EdgeRPPGError(f"{path}: file is too short to be a checkpoint (truncated?); re-save it")
            (n,) = struct.unpack("<Q", head)
            if n > size - 8 or n > 100 * 2**20:
                raise EdgeRPPGError(f"{path}: not a safetensors checkpoint (bad header length); pass a "
                                    ".safetensors file")
            raw = f.read(n)
    except FileNotFoundError:
        raise EdgeRPPGError(f"{path}: no such checkpoint file; check the path") from None
    except IsADirectoryError:
        raise EdgeRPPGError(f"{path}: is a directory, not a checkpoint file; pass the .safetensors file") from None
    try:
        header = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise EdgeRPPGError(f"{path}: not a safetensors checkpoint (unreadable header); pass a .safetensors "
                            "file") from None
    if not isinstance(header, dict):
        raise EdgeRPPGError(f"{path}: not a safetensors checkpoint (header is not a table)")
    try:
        ends = [int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"]
    except (KeyError, TypeError, IndexError, ValueError):
        raise EdgeRPPGError(f"{path}: not a safetensors checkpoint (bad tensor table); pass a .safetensors "
                            "file") from None
    if 8 + n + max(ends, default=0) > size:
        raise EdgeRPPGError(
            f"{path}: checkpoint is truncated ({size} of {8 + n + max(ends)} bytes); re-copy or re-save it"
        )
    return header


def png_software(path: Path) -> str:
    """The "Software" tEXt of a PNG file ('' when there is none)."""
    with open(path, "rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            return ""
        while True:
            head = f.read(8)
            if len(head) < 8:
                return ""
            length, ctype = struct.unpack(">I4s", head)
            if ctype == b"IDAT" or ctype == b"IEND":
                return ""
            body = f.read(length)
            f.read(4)  # CRC
            if ctype == b"tEXt" and body.startswith(b"Software\0"):
                return body.split(b"\0", 1)[1].decode("latin-1")


def check_number(value: float | int | None, option: str, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False) -> None:
    """Raise unless `value` (when given) is a finite number within [low, high] (open ends when asked)."""
    if value is None:
        return
    if not math.isfinite(value):
        raise EdgeRPPGError(f"{option} {value}: give a finite number")
    bad = ((low is not None and (value < low or (low_open and value == low)))
           or (high is not None and (value > high or (high_open and value == high))))
    if bad:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
        raise EdgeRPPGError(f"{option} {value}: must be {' and '.join(x for x in (lo, hi) if x)}")


def check_window(window: float, step: float | None, band: tuple[float, float]) -> None:
    """The HR options of `hr` and `eval`: a positive window and step, a band of positive frequencies."""
    check_number(window, "--window", 0, low_open=True)
    check_number(step, "--step", 0, low_open=True)
    for value in band:
        check_number(value, "--band", 0, low_open=True)
    if band[0] >= band[1]:
        raise EdgeRPPGError(f"--band {band[0]:g} {band[1]:g}: give the low edge first (Hz), e.g. --band 0.7 3.0")


def read_text(path: str | os.PathLike, what: str, hint: str) -> str:
    """A text file's contents, or one line naming it when it is missing, a folder, unreadable or binary."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EdgeRPPGError(f"{path}: no such {what}; {hint}") from None
    except IsADirectoryError:
        raise EdgeRPPGError(f"{path}: is a directory, not a {what}; {hint}") from None
    except UnicodeDecodeError:
        raise EdgeRPPGError(f"{path}: is a binary file, not a {what} (YAML text); {hint}") from None
    except OSError as exc:
        raise EdgeRPPGError(f"{path}: cannot read the {what} ({exc.strerror}); {hint}") from None
