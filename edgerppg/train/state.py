"""Resumable training state: everything a killed run needs to continue from its last finished epoch.

The state file sits beside the output checkpoint (`<out>.state.pt`) and holds the model and optimiser state,
the epoch, the best validation metric so far, the history and the RNG states (torch, numpy, python). It is
written atomically after every epoch and read with `torch.load(weights_only=True)`: no code is unpickled.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from edgerppg.atomic import atomic_path
from edgerppg.errors import EdgeRPPGError

FORMAT = "edgerppg-train-state/1"
#: what the run learns from (keys of a checkpoint's "training" meta): a state resumes only the same data and model
RESUME_INPUTS = ("kind", "data", "groups", "train_subjects", "val_subjects", "train_clips", "hr_aug", "spectral",
                 "target", "init", "stven")


def state_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".state.pt")


def fingerprint(model: torch.nn.Module) -> list[list]:
    """Parameter names and shapes: a state file only resumes the architecture it was written for."""
    return [[name, list(p.shape)] for name, p in model.state_dict().items()]


def rng_states() -> dict:
    """Torch, numpy (legacy global) and python RNG states as tensors and plain numbers (weights_only-safe)."""
    _, key, pos, has_gauss, gauss = np.random.get_state()
    version, py_state, py_gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {"key": torch.from_numpy(key.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss),
                  "gauss": float(gauss)},
        "python": {"version": version, "state": list(py_state), "gauss": py_gauss},
    }


def set_rng_states(s: dict) -> None:
    torch.set_rng_state(s["torch"])
    n = s["numpy"]
    np.random.set_state(("MT19937", n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    p = s["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))


def save_state(path: Path, model, optimizer, epoch: int, best: dict, history: list, config: dict) -> None:
    """Write the state atomically (a kill mid-write keeps the previous epoch's file)."""
    obj = {
        "format": FORMAT,
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "best": best,
        "history": history,
        "rng": rng_states(),
        "fingerprint": fingerprint(model),
        "config": config,
    }
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_state(path: Path, model, optimizer, config: dict, inputs: dict | None = None) -> dict:
    """Restore model, optimiser and RNGs from `path`; returns the state (epoch, best, history). `inputs`: the data
    and starting checkpoints of this run (RESUME_INPUTS), which must match those the state was written with."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated or foreign file
        raise EdgeRPPGError(f"{path}: not a readable training state ({exc}); delete it or pass --no-resume") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise EdgeRPPGError(f"{path}: not an edgerppg training state; delete it or pass --no-resume")
    if obj["fingerprint"] != fingerprint(model):
        raise EdgeRPPGError(f"{path}: training state is for another architecture; delete it or pass --no-resume")
    changed = {k for k in ("objective", "lr", "batch", "seed", "schedule") if obj["config"].get(k) != config.get(k)}
    if changed:
        raise EdgeRPPGError(
            f"{path}: training state was written with different {', '.join(sorted(changed))}; "
            "delete it or pass --no-resume"
        )
    saved = obj["config"].get("inputs")
    if saved is not None and inputs is not None:
        differ = sorted(k for k in set(saved) | set(inputs) if saved.get(k) != inputs.get(k))
        if differ:
            raise EdgeRPPGError(f"{path}: training state is of a run on other inputs ({', '.join(differ)} differ); "
                                "pass --no-resume to start afresh, or another --out")
    model.load_state_dict(obj["model"])
    optimizer.load_state_dict(obj["optimizer"])
    set_rng_states(obj["rng"])
    return obj
