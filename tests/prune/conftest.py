"""Fixtures for the pruning tests; the toy network itself lives in prune_toys.py (a unique module name,
so importing it never picks up another folder's conftest)."""

from prune_toys import toy, toy_in  # noqa: F401  (fixtures)
