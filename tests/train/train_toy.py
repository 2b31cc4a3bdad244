"""A toy regression model, dataset and objective for testing the training loop without the real models."""

from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset

from edgerppg.atomic import atomic_path
from edgerppg.train.objectives import Objective


class ToySet(Dataset):
    """y = x @ w_true + noise, items as dict batches like ClipDataset's."""

    def __init__(self, n=24, dim=4, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, dim, generator=g)
        w = torch.arange(1.0, dim + 1.0)
        self.y = self.x @ w + 0.01 * torch.randn(n, generator=g)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "y": self.y[i], "subject": f"s{i}"}


class ToyModel(nn.Module):
    def __init__(self, dim=4):
        super().__init__()
        self.lin = nn.Linear(dim, 8)
        self.out = nn.Linear(8, 1)

    def forward(self, x):
        return self.out(torch.relu(self.lin(x))).squeeze(-1)


class ToyObjective(Objective):
    name = "toy"
    has_signal = False

    def __call__(self, model, batch):
        return nn.functional.mse_loss(model(batch["x"]), batch["y"])


def toy_save(path: Path, model: nn.Module, meta: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save({"model": model.state_dict(), "meta": meta}, tmp)
