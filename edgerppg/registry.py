"""Name -> object registries (models, backends, scorers, readers, methods, modifiers).

CLI choices and test parametrisation come from `Registry.names()`, never from if/elif chains.
"""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from edgerppg.errors import EdgeRPPGError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection filled by the `register` decorator."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return deco

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            choices = ", ".join(sorted(self._items)) or "none registered"
            raise EdgeRPPGError(f"unknown {self.kind} {name!r}; choose one of: {choices}") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
