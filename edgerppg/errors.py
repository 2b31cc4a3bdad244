"""User-facing errors.

An `EdgeRPPGError` carries one sentence that names the file at fault and what to do about it. The CLI
prints it as a single line and exits non-zero; library code raises it instead of printing or exiting.
"""


class EdgeRPPGError(Exception):
    """A bad input or environment, explained in one line for the user."""


class MissingDependencyError(EdgeRPPGError):
    """An optional dependency is not installed; the message names the extra to install."""


def require(module: str, extra: str | None = None):
    """Import an optional dependency lazily, or raise a one-line error naming what installs it: the extra of
    `EXTRA_OF` (the one list of which extra provides which module), else the runtime install itself."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = extra or EXTRA_OF.get(module.split(".")[0])
        raise MissingDependencyError(f"{module} is not installed ({exc}); install it with: {_install(extra)}") from None


#: top-level modules outside the runtime install, and the extra that installs each
EXTRA_OF: dict[str, str] = {
    "torch": "train", "torch_pruning": "train", "onnxscript": "train", "onnxslim": "train",
    "imageio_ffmpeg": "train", "matplotlib": "plot", "pyedflib": "mahnob", "tensorrt": "trt", "pycuda": "trt",
}


def missing_extra(exc: ImportError, what: str = "this") -> MissingDependencyError | None:
    """The one-line error for an import of a module that an extra provides, or None for any other import error.

    `pip install edgerppg` is the device runtime; the training stack (torch, ...) is the `train` extra. A
    command that reaches it on a runtime-only install ends here instead of in a traceback.
    """
    top = (getattr(exc, "name", None) or "").split(".")[0]
    if not isinstance(exc, ModuleNotFoundError) or top not in EXTRA_OF:
        return None
    extra = EXTRA_OF[top]
    return MissingDependencyError(
        f"{what} needs {top}, which this install lacks (the runtime-only `pip install edgerppg`); "
        f"install the '{extra}' extra: {_install(extra)}"
    )


def _install(extra: str | None) -> str:
    """The install command for an extra (the train extra holds torch: pinned through constraints.txt), or for
    a runtime dependency that went missing."""
    if extra is None:
        return "pip install --force-reinstall edgerppg"
    return f"pip install {'-c constraints.txt ' if extra == 'train' else ''}'edgerppg[{extra}]'"
