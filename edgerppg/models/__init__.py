"""models stage: STVEN, rPPGNet and their cascade (Yu et al., ICCV 2019), registry and checkpoints.

    from edgerppg.models import create_model, MODELS, variants
    model = create_model("rppgnet", "tiny")
    out = model(video)                      # {"rppg", "rppg_mid", "parts", "skin"}
    deployed = model.deploy().eval()        # forward(video) -> rppg (B, T)

See docs/ARCHITECTURE.md "models" for the contract and docs/checkpoints.md for the checkpoint format.
"""

from edgerppg.models import cascade, rppgnet, skips, stven  # noqa: F401  (register the families and N2NSkip)
from edgerppg.models.base import MODELS, TRANSFORMS, DeployOutput, EdgeModel, ModelSpec, create_model, variants
from edgerppg.models.cascade import Cascade
from edgerppg.models.checkpoint import load_checkpoint, read_manifest, save_checkpoint
from edgerppg.models.rppgnet import RPPGNet
from edgerppg.models.stven import STVEN

__all__ = [
    "MODELS",
    "TRANSFORMS",
    "Cascade",
    "DeployOutput",
    "EdgeModel",
    "ModelSpec",
    "RPPGNet",
    "STVEN",
    "create_model",
    "load_checkpoint",
    "read_manifest",
    "save_checkpoint",
    "variants",
]
