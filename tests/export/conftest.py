"""Fixtures shared by the export tests: a toy Conv3d model exported once per module."""

import pytest

from toy_models import ToyRPPG


@pytest.fixture(scope="module")
def toy_export(tmp_path_factory):
    from edgerppg.export.exporter import ExportOptions, export_module

    out = tmp_path_factory.mktemp("exp") / "toy"
    manifest = export_module(ToyRPPG(width=8), out, ExportOptions(batch="dynamic", parity_clips=2))
    return out, manifest
