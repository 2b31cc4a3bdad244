"""Progress bars for long work (training, pruning, fine-tuning, benchmarking, synthesis).

Library code reports progress through these helpers; they draw a rich bar on stderr, so stdout stays clean
for `--json`. Set EDGERPPG_PROGRESS=0 (or call `set_enabled(False)`) to silence them.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
_enabled = os.environ.get("EDGERPPG_PROGRESS", "1") != "0"


def set_enabled(flag: bool) -> None:
    global _enabled
    _enabled = flag


def _progress():
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=Console(stderr=True),
        transient=False,
        disable=not _enabled,
    )


class Task:
    """A running bar: `advance(n)` and `update(status="loss 0.12")`."""

    def __init__(self, progress, task_id):
        self._p, self._id = progress, task_id

    def advance(self, n: float = 1, status: str | None = None) -> None:
        kw = {} if status is None else {"status": status}
        self._p.update(self._id, advance=n, **kw)

    def update(self, status: str) -> None:
        self._p.update(self._id, status=status)


@contextlib.contextmanager
def task(description: str, total: float | None) -> Iterator[Task]:
    """A progress bar as a context manager."""
    with _progress() as p:
        yield Task(p, p.add_task(description, total=total, status=""))


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with task(description, total) as t:
        for item in items:
            yield item
            t.advance()
