"""Runtime fixtures: a toy Conv3d model exported once (ONNX) and saved as a checkpoint-free artifact."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "export"))


@pytest.fixture(scope="module")
def toy_artifact(tmp_path_factory):
    from toy_models import ToyRPPG

    from edgerppg.export.exporter import ExportOptions, export_module

    out = tmp_path_factory.mktemp("rt") / "toy"
    export_module(ToyRPPG(width=8), out, ExportOptions(batch="dynamic", parity_clips=2))
    return out


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    from edgerppg.models import create_model, save_checkpoint

    path = tmp_path_factory.mktemp("ck") / "stven-tiny.safetensors"
    save_checkpoint(path, create_model("stven", "tiny"))
    return path
