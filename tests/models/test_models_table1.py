"""The `paper` variants reproduce Table 1 of Yu et al. (ICCV 2019), layer by layer.

The expected tables are written from the paper's text (see docs/ARCHITECTURE.md and the model files):
(layer, kernel, stride, out channels, output T x H x W) for a 64 x 128 x 128 clip. Shapes are checked on the
meta device, so no arithmetic runs.
"""

import pytest
import torch

from edgerppg.models import create_model
from edgerppg.spec import COMPRESSION_LEVELS

T = 64
RPPGNET = [  # rPPGNet: batch norm + ReLU after every conv but the heads
    ("stem.conv", (1, 5, 5), (1, 1, 1), 32, (T, 128, 128)),
    ("stages.0.0.spatial.conv", (1, 3, 3), (1, 1, 1), 32, (T, 64, 64)),   # ST block 1 @64x64
    ("stages.0.0.temporal.conv", (3, 1, 1), (1, 1, 1), 32, (T, 64, 64)),
    ("skin.main1.conv", (1, 3, 3), (1, 1, 1), 16, (T, 64, 64)),          # skin branch, main path
    ("skin.main2.conv", (1, 3, 3), (1, 1, 1), 8, (T, 64, 64)),
    ("skin.residual.conv", (1, 1, 1), (1, 1, 1), 8, (T, 64, 64)),        # skin branch, residual path
    ("skin.out", (1, 3, 3), (1, 1, 1), 1, (T, 64, 64)),                  # sigmoid skin map, 64x64
    ("stages.1.0.spatial.conv", (1, 3, 3), (1, 1, 1), 64, (T, 32, 32)),  # ST block 2 @32x32
    ("stages.1.0.temporal.conv", (3, 1, 1), (1, 1, 1), 64, (T, 32, 32)),
    ("stages.1.1.spatial.conv", (1, 3, 3), (1, 1, 1), 64, (T, 32, 32)),  # ST block 3 -> mid-level signal
    ("stages.1.1.temporal.conv", (3, 1, 1), (1, 1, 1), 64, (T, 32, 32)),
    ("head_mid", (1, 1, 1), (1, 1, 1), 1, (T, 1, 1)),
    ("stages.2.0.spatial.conv", (1, 3, 3), (1, 1, 1), 64, (T, 16, 16)),  # ST blocks 4-5 @16x16
    ("stages.2.0.temporal.conv", (3, 1, 1), (1, 1, 1), 64, (T, 16, 16)),
    ("stages.2.1.spatial.conv", (1, 3, 3), (1, 1, 1), 64, (T, 16, 16)),
    ("stages.2.1.temporal.conv", (3, 1, 1), (1, 1, 1), 64, (T, 16, 16)),
    ("head", (1, 1, 1), (1, 1, 1), 1, (T, 1, 1)),                        # SGAP + 1x1x1 conv -> rPPG
] + [(f"part_heads.{k}", (1, 1, 1), (1, 1, 1), 1, (T, 16, 16)) for k in range(4)]  # partition, N=4

STVEN = [  # STVEN: instance norm + ReLU after every conv but the last
    ("enc1.conv", (3, 7, 7), (1, 1, 1), 64, (T, 128, 128)),
    ("enc2.conv", (3, 4, 4), (1, 2, 2), 128, (T, 64, 64)),
    ("enc3.conv", (4, 4, 4), (2, 2, 2), 512, (T // 2, 32, 32)),
] + [
    row
    for i in range(6)  # Table 1: 6 ST blocks at 512
    for row in (
        (f"blocks.{i}.spatial.conv", (1, 3, 3), (1, 1, 1), 512, (T // 2, 32, 32)),
        (f"blocks.{i}.temporal.conv", (3, 1, 1), (1, 1, 1), 512, (T // 2, 32, 32)),
    )
] + [
    ("dec1.conv", (4, 4, 4), (2, 2, 2), 128, (T, 64, 64)),    # transposed
    ("dec2.conv", (1, 4, 4), (1, 2, 2), 64, (T, 128, 128)),   # transposed
    ("out", (1, 7, 7), (1, 1, 1), 3, (T, 128, 128)),          # then tanh + input
]


def _shapes(model, inputs, names):
    seen = {}
    modules = dict(model.named_modules())
    hooks = [modules[n].register_forward_hook(lambda m, i, o, n=n: seen.__setitem__(n, tuple(o.shape))) for n in names]
    with torch.no_grad():
        out = model(*inputs)
    for h in hooks:
        h.remove()
    return seen, out


@pytest.mark.parametrize("name,table", [("rppgnet", RPPGNET), ("stven", STVEN)])
def test_paper_layers_match_table1(name, table):
    with torch.device("meta"):
        model = create_model(name, "paper")
        inputs = model.example_inputs_train(1) if name == "stven" else model.example_inputs(1)
    assert model.clip.shape(1) == (1, 3, T, 128, 128)
    modules = dict(model.named_modules())
    seen, _ = _shapes(model, inputs, [row[0] for row in table])
    for layer, kernel, stride, cout, out_thw in table:
        conv = modules[layer]
        assert (tuple(conv.kernel_size), tuple(conv.stride), conv.out_channels) == (kernel, stride, cout), layer
        assert seen[layer] == (1, cout, *out_thw), layer
    convs = {n for n, m in modules.items() if isinstance(m, (torch.nn.Conv3d, torch.nn.ConvTranspose3d))}
    assert convs == {row[0] for row in table}  # no layer beyond Table 1


def test_paper_norms_and_io():
    with torch.device("meta"):
        rppg, stven = create_model("rppgnet", "paper"), create_model("stven", "paper")
        out = rppg(*rppg.example_inputs(1))
        video = stven(*stven.example_inputs_train(1))
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "rppg": (1, T), "rppg_mid": (1, T), "parts": (1, 4, T), "skin": (1, T, 64, 64)
    }
    assert tuple(video.shape) == (1, 3, T, 128, 128)
    assert stven.enc1.conv.in_channels == 3 + len(COMPRESSION_LEVELS)  # video + one-hot label planes
    assert isinstance(stven.dec1.conv, torch.nn.ConvTranspose3d)
    assert all(not m.track_running_stats and m.affine for m in stven.modules() if isinstance(m, torch.nn.InstanceNorm3d))
    assert not any(isinstance(m, torch.nn.BatchNorm3d) for m in stven.modules())
    assert not any(isinstance(m, torch.nn.InstanceNorm3d) for m in rppg.modules())
    relus = [m for m in (*rppg.modules(), *stven.modules()) if isinstance(m, torch.nn.ReLU)]
    assert relus and not any(m.inplace for m in relus)
