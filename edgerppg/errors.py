"""User-facing errors.

An `EdgeRPPGError` carries one sentence that names the file at fault and what to do about it. The CLI
prints it as a single line and exits non-zero; library code raises it instead of printing or exiting.
"""


class EdgeRPPGError(Exception):
    """A bad input or environment, explained in one line for the user."""


class MissingDependencyError(EdgeRPPGError):
    """An optional dependency is not installed; the message names the extra to install."""


def require(module: str, extra: str):
    """Import an optional dependency lazily, or raise a one-line error naming the extra that provides it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module} is not installed ({exc}); install it with: pip install 'edgerppg[{extra}]'"
        ) from None
