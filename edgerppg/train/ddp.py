"""Distributed data parallel helpers: `fit` runs unchanged on one process or under `torchrun`.

When launched by `torchrun` (env RANK / WORLD_SIZE), the process group is initialised with gloo on CPU and
nccl on CUDA, each rank gets a DistributedSampler shard, the training step is wrapped in
DistributedDataParallel, and only rank 0 writes files and draws progress bars.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass
class DistContext:
    """Where this process sits: rank, world size and the device it trains on."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")
    owns_group: bool = False  # True when `setup` created the process group (and `teardown` must end it)

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_distributed() -> bool:
    """True under `torchrun` (or any launcher that sets RANK and WORLD_SIZE) with more than one process."""
    return "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: str | torch.device = "cpu") -> DistContext:
    """Initialise the process group when launched distributed; otherwise a single-process context."""
    device = torch.device(device)
    if not launched_distributed():
        return DistContext(device=device)
    import torch.distributed as dist

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    owns = False
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        owns = True
    return DistContext(rank=dist.get_rank(), world=dist.get_world_size(), device=device, owns_group=owns)


def wrap(module: torch.nn.Module, ctx: DistContext) -> torch.nn.Module:
    """DistributedDataParallel around `module` when distributed (gradients all-reduced), else `module`."""
    if not ctx.enabled:
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def broadcast(obj, ctx: DistContext):
    """Rank 0's `obj` on every rank (validation runs on rank 0 only; every rank must agree on the result)."""
    if not ctx.enabled:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        import torch.distributed as dist

        dist.barrier()


def teardown(ctx: DistContext) -> None:
    """End the process group if `setup` started it."""
    if ctx.enabled and ctx.owns_group:
        import torch.distributed as dist

        dist.destroy_process_group()
