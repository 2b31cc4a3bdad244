"""A toy Conv3d network for pruning tests: BN and InstanceNorm blocks, a residual block, a transposed conv and
two 1x1x1 heads, like a miniature STVEN/rPPGNet."""

import pytest
import torch
from torch import nn


class ToyNet(nn.Module):
    def __init__(self, width: int = 8, norm: str = "bn"):
        super().__init__()
        Norm = nn.BatchNorm3d if norm == "bn" else (lambda c: nn.InstanceNorm3d(c, affine=True))
        self.stem = nn.Sequential(nn.Conv3d(3, width, (1, 3, 3), padding=(0, 1, 1)), Norm(width), nn.ReLU(inplace=True))
        self.down = nn.Sequential(nn.Conv3d(width, 2 * width, (3, 3, 3), stride=(1, 2, 2), padding=1), Norm(2 * width),
                                  nn.ReLU(inplace=True))
        self.res_a = nn.Conv3d(2 * width, 2 * width, (1, 3, 3), padding=(0, 1, 1))
        self.res_na = Norm(2 * width)
        self.res_b = nn.Conv3d(2 * width, 2 * width, (3, 1, 1), padding=(1, 0, 0))
        self.up = nn.ConvTranspose3d(2 * width, width, (1, 4, 4), stride=(1, 2, 2), padding=(0, 1, 1))
        self.up_n = Norm(width)
        self.head = nn.Conv3d(width, 1, 1)
        self.mid_head = nn.Conv3d(2 * width, 1, 1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.stem(x)
        y = self.down(x)
        r = self.res_b(self.relu(self.res_na(self.res_a(y))))
        y = self.relu(y + r)
        mid = self.mid_head(y).mean(dim=(3, 4))[:, 0]
        z = self.relu(self.up_n(self.up(y)))
        return {"rppg": self.head(z).mean(dim=(3, 4))[:, 0], "rppg_mid": mid}


def toy_objective(model, batch):
    out = model(batch["video"])
    return ((out["rppg"] - batch["bvp"]) ** 2).mean() + 0.5 * ((out["rppg_mid"] - batch["bvp"]) ** 2).mean()


def toy_batches(n: int = 2, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return [{"video": torch.rand(2, 3, 4, 16, 16, generator=g), "bvp": torch.randn(2, 4, generator=g)} for _ in range(n)]


@pytest.fixture
def toy():
    torch.manual_seed(0)
    return ToyNet()


@pytest.fixture
def toy_in():
    torch.manual_seed(0)
    return ToyNet(norm="in")
