"""Checkpoints: one safetensors file = the weights + the architecture manifest in its header metadata.

Used for the STVEN / rPPGNet / cascade models of Yu et al. (ICCV 2019). Nothing is unpickled: the weights
are raw safetensors buffers and the manifest (`"edgerppg"` key of the header metadata) is JSON:

    {"format": "edgerppg-checkpoint/1", "model", "variant", "arch" (create_model(**arch) rebuilds it),
     "clip", "transforms", "training", "metrics", "recipe_hash", "version", "versions", ...extra meta}

Loading rebuilds the architecture from the manifest, re-applies recorded transforms (models.TRANSFORMS,
e.g. "n2nskip"), then loads the weights strictly. Every failure is one `EdgeRPPGError` line naming the file.
See docs/checkpoints.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from edgerppg import __version__
from edgerppg.atomic import atomic_path
from edgerppg.checks import read_safetensors_header
from edgerppg.errors import EdgeRPPGError
from edgerppg.manifest import versions
from edgerppg.models.base import TRANSFORMS, create_model
from edgerppg.models.torchfile import guess_family, is_torch_file

FORMAT = "edgerppg-checkpoint/1"
META_KEY = "edgerppg"
_RESERVED = ("format", "model", "variant", "arch", "clip", "version", "versions")


def save_checkpoint(path: str | os.PathLike, model, meta: dict | None = None) -> dict:
    """Write `model` (an EdgeModel) and its manifest atomically to `path`; returns the manifest.

    `meta` adds keys such as "training", "metrics", "recipe_hash", "transforms" (a list of
    {"type": name, ...params} re-applied on load; defaults to `model.edgerppg_transforms` if set).
    """
    from safetensors.torch import save_file

    meta = dict(meta or {})
    clash = [k for k in _RESERVED if k in meta]
    if clash:
        raise ValueError(f"checkpoint meta may not set {clash}: they are read from the model")
    arch = model.arch_config()
    manifest = {
        "format": FORMAT,
        "model": arch["name"],
        "variant": arch["variant"],
        "arch": arch,
        "clip": arch["clip"],
        "transforms": list(getattr(model, "edgerppg_transforms", [])),
        "training": {},
        "metrics": {},
        "recipe_hash": None,
        **meta,
        "version": __version__,
        "versions": versions(),
    }
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={META_KEY: json.dumps(manifest, default=str)})
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # a normal file mode, not the temp file's 0600
    return manifest


def read_manifest(path: str | os.PathLike) -> dict:
    """The manifest of a checkpoint, after checking the file is a complete safetensors file."""
    path = Path(path)
    try:
        header = read_safetensors_header(path)
    except EdgeRPPGError:
        if is_torch_file(path):  # the authors' .pth (or any torch.save file): say how to import it
            raise EdgeRPPGError(torch_file_hint(path)) from None
        raise
    meta = header.get("__metadata__") or {}
    if META_KEY not in meta:
        raise EdgeRPPGError(
            f"{path}: safetensors file without an edgerppg manifest; if it holds the authors' reference "
            "weights, save them with torch.save(state_dict) and import them with edgerppg convert"
        )
    try:
        manifest = json.loads(meta[META_KEY])
    except json.JSONDecodeError:
        raise EdgeRPPGError(f"{path}: checkpoint manifest is not valid JSON; re-save the checkpoint") from None
    if manifest.get("format") != FORMAT:
        raise EdgeRPPGError(f"{path}: checkpoint format {manifest.get('format')!r} is not {FORMAT!r}; re-save it")
    return manifest


def torch_file_hint(path: Path) -> str:
    """The one line every command gives for a torch.save file: what it is and the command that imports it."""
    family = guess_family(path) or "rppgnet|stven"
    return (f"{path} is a PyTorch state_dict, not an edgerppg checkpoint; import it with: edgerppg convert {path} "
            f"--model {family} --out {path.with_suffix('.safetensors').name}")


def load_checkpoint(path: str | os.PathLike, expect: str | dict | None = None):
    """-> (model in eval mode, manifest). `expect` = model name or {"model": ..., "variant": ...} to insist on."""
    from safetensors.torch import load_file

    path = Path(path)
    manifest = read_manifest(path)
    _check_expect(path, manifest, expect)
    try:
        model = create_model(**dict(manifest["arch"]))
    except EdgeRPPGError as exc:
        raise EdgeRPPGError(f"{path}: cannot rebuild the recorded architecture ({exc})") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise EdgeRPPGError(f"{path}: manifest 'arch' is damaged ({type(exc).__name__}: {exc}); re-save it") from None
    model = _apply_transforms(path, model, manifest.get("transforms") or [])
    try:
        state = load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types
        raise EdgeRPPGError(f"{path}: unreadable weights ({exc}); the file is damaged, re-save it") from None
    load_state_dict_checked(model, state, source=str(path))
    return model.eval(), manifest


def load_state_dict_checked(model, state: dict, source: str) -> None:
    """load_state_dict(strict) whose failures name the first missing, unexpected or mis-shaped key."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        what = f"missing key {missing[0]!r}" if missing else f"unexpected key {unexpected[0]!r}"
        raise EdgeRPPGError(
            f"{source}: weights do not fit {_describe(model)} ({what}, {len(missing)} missing, "
            f"{len(unexpected)} unexpected); use a checkpoint of this architecture"
        )
    for key, ref in own.items():
        if tuple(state[key].shape) != tuple(ref.shape):
            raise EdgeRPPGError(
                f"{source}: weight {key!r} has shape {tuple(state[key].shape)} but {_describe(model)} needs "
                f"{tuple(ref.shape)}; use a checkpoint of this architecture"
            )
    model.load_state_dict(state, strict=True)


def _describe(model) -> str:
    return f"{getattr(model, 'NAME', type(model).__name__)}/{getattr(model, 'variant', '?')}"


def _check_expect(path: Path, manifest: dict, expect) -> None:
    if expect is None:
        return
    want = {"model": expect} if isinstance(expect, str) else dict(expect)
    for key, value in want.items():
        if value is not None and manifest.get(key) != value:
            raise EdgeRPPGError(
                f"{path}: checkpoint holds {manifest.get('model')}/{manifest.get('variant')} but {key} "
                f"{value!r} is needed; pass a {value} checkpoint"
            )


def _apply_transforms(path: Path, model, transforms: list[dict]):
    """Re-apply recorded architecture transforms (registered in models.TRANSFORMS) before loading weights."""
    if not transforms:
        return model
    for entry in transforms:
        params = dict(entry)
        kind = params.pop("type", None)
        if kind not in TRANSFORMS:
            raise EdgeRPPGError(
                f"{path}: unknown model transform {kind!r}; known: {', '.join(TRANSFORMS.names()) or 'none'}"
            )
        model = TRANSFORMS.get(kind)(model, **params) or model
    model.edgerppg_transforms = [dict(t) for t in transforms]
    return model
