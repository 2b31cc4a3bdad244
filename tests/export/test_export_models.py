"""Contract: every registered model's deploy form exports with a dynamic batch and passes parity."""

import pytest

from edgerppg.export.exporter import ExportOptions, export_checkpoint
from edgerppg.models import MODELS, create_model, save_checkpoint
from edgerppg.spec import ClipSpec

SMALL_CLIP = ClipSpec(frames=48, height=32, width=32, fps=30.0)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS.names())
def test_registered_model_exports_with_parity(name, tmp_path):
    ckpt = tmp_path / f"{name}.safetensors"
    save_checkpoint(ckpt, create_model(name, "tiny", clip=SMALL_CLIP.to_dict()))
    m = export_checkpoint(ckpt, tmp_path / "out", ExportOptions(batch="dynamic", parity_clips=2))
    assert m["parity"]["passed"], m["parity"]
    assert m["parity"]["max_hr_diff_bpm"] <= 0.5
    assert m["clip"] == SMALL_CLIP.to_dict() and m["inputs"][0]["shape"][0] == "batch"
    assert m["source"]["sha256"] and m["model"]["name"] == name
    assert (tmp_path / "out" / "model.onnx").is_file()


def test_static_cascade_holds_no_folded_label_planes(tmp_path):
    """With a static batch the exporter folds input-shaped constants into initializers; STVEN's label planes
    must come from the input, so no initializer is bigger than the model's largest weight."""
    import onnx
    from onnx import numpy_helper

    model = create_model("cascade", "tiny", clip=SMALL_CLIP.to_dict())
    ckpt = tmp_path / "cascade.safetensors"
    save_checkpoint(ckpt, model)
    export_checkpoint(ckpt, tmp_path / "out", ExportOptions(batch=1, parity_clips=1))
    graph = onnx.load(tmp_path / "out" / "model.onnx").graph
    largest = max(p.numel() for p in model.parameters())
    assert max(numpy_helper.to_array(t).size for t in graph.initializer) <= largest
