"""What an export produces (`ExportOptions`), validated before any work, and the artifact format it writes."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from edgerppg.errors import EdgeRPPGError
from edgerppg.export.bundle import TARGETS
from edgerppg.export.precision import PRECISIONS
from edgerppg.export.torch_export import EXPORTERS

FORMAT = "edgerppg-onnx/1"


@dataclass(frozen=True)
class ExportOptions:
    """What to export; every field is recorded in the manifest."""

    precision: str = "fp32"
    sparse: bool = False
    batch: int | str = 1  # an int, or "dynamic"
    opset: int = 18  # dynamo exports opset 18 natively; TensorRT 8.6 needs 17 (--exporter torchscript --opset 17)
    exporter: str = "dynamo"  # torch 2.13's default; "torchscript" is the legacy one
    calib: str | None = None
    calib_clips: int = 16
    int8_activations: str = "u8"  # "s8" when the artifact is meant for TensorRT
    conv2d: bool = True  # export factorised 3D convs as 2D ones (export/conv2d.py); same function, faster
    ort_layout: bool = True  # u8 int8, static batch: save ONNX Runtime's CPU layout (export/ort_layout.py)
    target: str | None = None
    parity_clips: int = 4
    seed: int = 0
    hr_tol_bpm: float = 0.5

    def validate(self) -> "ExportOptions":
        PRECISIONS.get(self.precision)
        EXPORTERS.get(self.exporter)
        if self.target is not None:
            TARGETS.get(self.target)
        if self.batch != "dynamic" and (not isinstance(self.batch, int) or self.batch < 1):
            raise EdgeRPPGError(f"--batch {self.batch!r}: give a positive integer or 'dynamic'")
        if not 7 <= self.opset <= 23:
            raise EdgeRPPGError(f"--opset {self.opset}: choose an ONNX opset between 7 and 23 (18 is the default)")
        if self.precision == "int8" and not self.calib:
            raise EdgeRPPGError("--precision int8 needs --calib DIR (real clips to calibrate activation ranges)")
        return self

    @property
    def dynamic(self) -> bool:
        return self.batch == "dynamic"


def options_dict(options: ExportOptions) -> dict:
    return asdict(options)
