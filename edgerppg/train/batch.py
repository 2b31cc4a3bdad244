"""A training batch is a dict of tensors (video, bvp, skin, label, ...) and plain values (subject, group)."""

from __future__ import annotations

import torch


def to_device(batch: dict, device: torch.device) -> dict:
    """The batch with every tensor on `device` (non-tensor values as they are)."""
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}
