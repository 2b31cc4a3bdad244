"""Run by tests/train/test_train_ddp.py under `torchrun --nproc_per_node 2`: one epoch of the toy model."""

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from train_toy import ToyModel, ToyObjective, ToySet, toy_save  # noqa: E402

from edgerppg.train.loop import FitOptions, fit  # noqa: E402

out = Path(sys.argv[1])
torch.set_num_threads(1)
torch.manual_seed(int(os.environ["RANK"]))  # different initial weights per rank: DDP must broadcast rank 0's
model = ToyModel()
result = fit(model, ToySet(), ToySet(n=8, seed=1), FitOptions(epochs=1, lr=0.01, batch=4, seed=0),
             objective=ToyObjective(), out=out / "toy.ckpt", save=toy_save)
torch.save({"model": model.state_dict(), "history": result["history"]}, out / f"rank{os.environ['RANK']}.pt")
