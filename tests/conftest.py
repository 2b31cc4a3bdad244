"""Shared test settings: one torch thread, no progress bars, seeded RNGs."""

import os

os.environ.setdefault("EDGERPPG_PROGRESS", "0")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    try:
        import torch
    except ImportError:  # pragma: no cover
        yield
        return
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
