"""Read a PyTorch state_dict file (`torch.save`: .pth, .pt, .pkl, .tar) safely, and recognise one on disk.

Files come from the authors' STVEN / rPPGNet training code (Yu et al., ICCV 2019) or from anyone's script
around it, so they arrive in the usual wrappers ({"state_dict": ...}, {"model_state_dict": ...,
"optimizer": ...}, {"G": ...}) and with DataParallel's "module." prefixes. They are read with
`torch.load(weights_only=True)`: a file that needs to run code to unpickle (a whole pickled model, or
anything worse) is refused with one line, and nothing in it is executed.
"""

from __future__ import annotations

import os
import re
import warnings
import zipfile
from pathlib import Path

from edgerppg.errors import EdgeRPPGError
from edgerppg.manifest import sha256_file

# wrapper keys tried in order when the file holds a dict that is not itself a state_dict
WRAPPERS = ("state_dict", "model_state_dict", "model", "net", "network", "generator", "G", "netG", "model_G", "checkpoint",
            "state", "weights", "params", "ema")
# globals whose presence in a pickle means running code, not rebuilding a model class
_CODE = re.compile(r"^(os|posix|nt|subprocess|builtins|__builtin__|sys|shutil|socket|runpy|importlib|pty|"
                   r"code|ctypes|webbrowser)\.|\.(system|popen|eval|exec|getattr|__import__|apply)$")
_MAGIC_ZIP = b"PK\x03\x04"


def is_torch_file(path: str | os.PathLike) -> bool:
    """True when `path` starts like a torch.save file (a zip archive or a bare pickle), read without unpickling."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return False
    return head == _MAGIC_ZIP or (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5)


def guess_family(path: str | os.PathLike) -> str | None:
    """"stven" or "rppgnet" from the parameter names inside a torch file (raw bytes; nothing unpickled)."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if n.endswith("data.pkl")]
                raw = z.read(names[0]) if names else b""
        else:
            with open(path, "rb") as f:
                raw = f.read(8 << 20)
    except (OSError, zipfile.BadZipFile, KeyError):
        return None
    if b"down3Dmain" in raw:
        return "stven"
    if b"ConvSpa1" in raw:
        return "rppgnet"
    return None


def read_state_dict(path: str | os.PathLike, key: str | None = None) -> tuple[dict, dict]:
    """-> (state_dict with "module." prefixes stripped, info {"wrapper", "prefix_stripped", "non_tensors",
    "sha256"}). `key` picks the wrapper entry when the usual names do not apply."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise EdgeRPPGError(f"{path}: no such file; check the path")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols on its way to refusing a file
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError, ... for bad files
        raise _load_error(path, exc) from None
    state, wrapper = _unwrap(path, obj, key)
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    others = sorted(str(k) for k in state if k not in tensors)
    if not tensors:
        raise EdgeRPPGError(f"{path}: the {wrapper or 'top-level'} dict holds no tensors; pass the file that "
                            "torch.save(model.state_dict(), ...) wrote")
    stripped = 0
    while tensors and all(str(k).startswith("module.") for k in tensors):  # DataParallel / DDP, possibly nested
        tensors = {k[len("module."):]: v for k, v in tensors.items()}
        stripped += 1
    tensors = {(k[len("module."):] if k.startswith("module.") else k): v for k, v in tensors.items()}
    info = {"wrapper": wrapper, "prefix_stripped": stripped, "non_tensors": others, "sha256": sha256_file(path)}
    return tensors, info


def _unwrap(path: Path, obj, key: str | None) -> tuple[dict, str | None]:
    """The state_dict inside `obj` and the wrapper path that led to it ("G", "checkpoint.state_dict", ...)."""
    import torch

    trail: list[str] = []
    for _ in range(4):  # wrappers nest at most a few levels ({"checkpoint": {"state_dict": ...}})
        if not isinstance(obj, dict):
            raise EdgeRPPGError(f"{path}: holds a {type(obj).__name__}, not a state_dict; save it with "
                                "torch.save(model.state_dict(), path)")
        n_tensors = sum(isinstance(v, torch.Tensor) for v in obj.values())
        if key is not None and not trail:
            if key not in obj:
                raise EdgeRPPGError(f"{path}: has no entry {key!r}; its keys are: {_keys(obj)}")
            found = key
        elif obj and n_tensors > len(obj) // 2:  # a state_dict, perhaps with a stray int or string
            return obj, ".".join(trail) or None
        else:
            found = next((w for w in WRAPPERS if isinstance(obj.get(w), dict)), None)
        if found is None:
            raise EdgeRPPGError(f"{path}: no state_dict under the usual wrapper keys ({', '.join(WRAPPERS[:5])}, ...) "
                                f"in a dict with keys ({_keys(obj)}); pass --key NAME to pick the entry")
        obj = obj[found]
        trail.append(str(found))
    raise EdgeRPPGError(f"{path}: state_dict wrapped deeper than 4 levels ({'.'.join(trail)}); pass --key NAME")


def _keys(obj: dict) -> str:
    return ", ".join(map(str, list(obj)[:6])) + (", ..." if len(obj) > 6 else "")


def _load_error(path: Path, exc: Exception) -> EdgeRPPGError:
    """One line for a torch file that weights-only loading refused or could not read (nothing was executed)."""
    text = str(exc)
    match = re.search(r"GLOBAL ([\w.]+)", text)
    if match:
        name = match.group(1)
        if name == "torch.storage._load_from_bytes":
            return EdgeRPPGError(f"{path}: written with pickle.dump, whose tensors need code execution to load "
                                 "(refused; nothing was executed); re-save it with torch.save(state_dict, path)")
        if _CODE.search(name) or "is blocked" in text:
            return EdgeRPPGError(f"{path}: refused: unpickling it would run code ({name}); nothing was executed. "
                                 "Only weights-only state_dict files are read")
        return EdgeRPPGError(f"{path}: holds a pickled Python object ({name}), e.g. a whole model, not a "
                             "state_dict; re-save it with torch.save(model.state_dict(), path)")
    opcode = re.search(r"Unsupported operand (\d+)", text)
    if opcode:
        return EdgeRPPGError(f"{path}: not a torch.save state_dict file (pickle opcode {opcode.group(1)} is outside "
                             "weights-only loading); nothing was executed. Re-save it with "
                             "torch.save(model.state_dict(), path)")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "no detail").split(". ")[0]
    return EdgeRPPGError(f"{path}: cannot read as a torch.save file ({type(exc).__name__}: {first[:100]}); "
                         "truncated or not a PyTorch file? Re-copy or re-save it")
