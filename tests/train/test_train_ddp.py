"""DistributedDataParallel: `fit` under torchrun with 2 CPU processes (gloo) trains one shared model."""

import os
import subprocess
import sys
from pathlib import Path

import torch

SCRIPT = Path(__file__).with_name("train_ddp_script.py")


def test_fit_under_torchrun_two_processes(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "EDGERPPG_PROGRESS": "0"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(SCRIPT), str(tmp_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for k in r0["model"]:
        assert torch.equal(r0["model"][k], r1["model"][k]), k  # gradients were all-reduced, start was broadcast
    assert r0["history"] == r1["history"] and len(r0["history"]) == 1  # rank 0's validation reached rank 1
    # only rank 0 wrote the checkpoint and the state; no temp files were left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rank0.pt", "rank1.pt", "toy.ckpt", "toy.ckpt.state.pt"]
    saved = torch.load(tmp_path / "toy.ckpt", weights_only=True)
    assert saved["meta"]["training"]["world"] == 2
