"""`edgerppg convert`: a state_dict from the authors' STVEN / rPPGNet code (Yu et al., ICCV 2019) -> an
edgerppg checkpoint (safetensors + manifest) that computes what the reference computes in eval mode.

The spec names the network (rppgnet, stven, or the cascade of both files), the clip and input format the
weights were trained with, and STVEN's label of the best quality. Every reference tensor either lands in
the model or is one the reference never uses; anything else (a missing tensor, a foreign one) is a
difference, refused unless `accept_differences` is set, and then recorded in the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edgerppg.errors import EdgeRPPGError
from edgerppg.models.checkpoint import save_checkpoint
from edgerppg.models.reference import (
    cascade_from_reference,
    check_family,
    model_from_reference,
    reorder_labels,
)
from edgerppg.models.torchfile import read_state_dict
from edgerppg.spec import ClipSpec, input_preset

CONVERTIBLE = ("rppgnet", "stven", "cascade")
PAPER_CLIP = {"frames": 64, "height": 128, "width": 128, "fps": 30.0}


@dataclass
class ConvertSpec:
    """What `edgerppg convert` was asked: files, network, clip, input format, STVEN's best label."""

    model: str
    out: Path
    src: Path | None = None
    stven: Path | None = None
    rppgnet: Path | None = None
    clip: dict = field(default_factory=lambda: dict(PAPER_CLIP))
    input_format: str | None = None  # a preset name (spec.INPUT_PRESETS); order/scale/offset override it
    order: str | None = None
    scale: float | None = None
    offset: float | None = None
    best_label: int = 0
    key: str | None = None
    accept_differences: bool = False

    def files(self) -> dict[str, Path]:
        """{network name: file} after checking the combination of arguments."""
        if self.model not in CONVERTIBLE:
            raise EdgeRPPGError(f"--model {self.model!r} cannot be converted; choose one of: {', '.join(CONVERTIBLE)}")
        if self.model == "cascade":
            if self.src is not None or self.stven is None or self.rppgnet is None:
                raise EdgeRPPGError("--model cascade takes --stven S.pth and --rppgnet R.pth (and no SRC)")
            return {"stven": Path(self.stven), "rppgnet": Path(self.rppgnet)}
        if self.src is None or self.stven is not None or self.rppgnet is not None:
            raise EdgeRPPGError(f"--model {self.model} takes one SRC file (--stven/--rppgnet are for --model cascade)")
        if self.model == "rppgnet" and self.best_label:
            raise EdgeRPPGError("--best-label is STVEN's; rPPGNet has no labels (drop it, or use --model stven/cascade)")
        return {self.model: Path(self.src)}

    def clip_spec(self) -> ClipSpec:
        fmt = input_preset(self.input_format or "rgb01")
        for key in ("order", "scale", "offset"):
            if getattr(self, key) is not None:
                fmt[key] = getattr(self, key)
        return ClipSpec.from_dict({**PAPER_CLIP, **self.clip, **fmt})


def convert_reference(spec: ConvertSpec) -> dict:
    """Convert and write `spec.out` atomically -> {"out", "manifest", "report"} (report: loaded, kept,
    dropped, unused, differences, labels, files)."""
    out = Path(spec.out)
    if out.suffix != ".safetensors":
        raise EdgeRPPGError(f"--out {out}: an edgerppg checkpoint is a .safetensors file; name it {out.stem}.safetensors")
    files = spec.files()
    clip = spec.clip_spec()
    states, sources = {}, []
    for name, path in files.items():
        state, info = read_state_dict(path, spec.key)
        check_family(name, state, str(path))
        states[name] = state
        sources.append({"network": name, "file": path.name, **info})
    clip_dict = clip.to_dict()
    if spec.model == "cascade":
        model, report = cascade_from_reference(states["stven"], states["rppgnet"], clip_dict)
    else:
        model, report = model_from_reference(spec.model, states[spec.model], clip_dict)
    labels = reorder_labels(model, spec.best_label) if spec.model != "rppgnet" else None
    differences = _differences(report)
    if differences and not spec.accept_differences:
        raise EdgeRPPGError(f"{', '.join(str(p) for p in files.values())}: the converted model would differ from "
                            f"the reference ({differences[0]}{'; ...' if len(differences) > 1 else ''}); pass "
                            "--accept-differences to convert anyway (the manifest records it)")
    summary = {k: len(report[k]) for k in ("loaded", "kept", "dropped", "unused")}
    meta = {
        "training": {"source": "authors' reference code", "file": sources[0]["file"],
                     "reference_dropped": report["dropped"], "reference_kept": report["kept"]},
        "converted": {"from": "authors' reference state_dict (Yu et al., ICCV 2019)", "files": sources,
                      "labels": labels, "input": clip.input_format(), "counts": summary,
                      "differences": differences, "exact": not differences},
    }
    manifest = save_checkpoint(out, model.eval(), meta=meta)
    return {"out": str(out), "manifest": manifest,
            "report": {**report, "differences": differences, "labels": labels, "files": sources, "counts": summary}}


def _differences(report: dict) -> list[str]:
    """Why the converted model would not compute the reference's function (empty when it does)."""
    diffs = [f"{k} has no tensor in the file and keeps its initial value" for k in report["kept"]]
    diffs += [f"{k} is not a tensor of this network" for k in report["dropped"] if k not in report["unused"]]
    return diffs
