"""Load state_dicts trained with the authors' public rPPGNet / STVEN code into edgerppg's models.

Yu et al., "Remote Heart Rate Measurement from Highly Compressed Facial Videos: an End-to-end Deep Learning
Solution with Video Enhancement", ICCV 2019. The authors' release is research-only, so nothing of it is
used here but its parameter *names and shapes*, read to write this key mapping. docs/checkpoints.md has the
full table and what differs in computation:

- rPPGNet: our architecture with the widths inferred from the state_dict (`reference_arch`) computes the same
  `rppg`, `rppg_mid` and `skin` (the reference computes part 1 with its global head; we load ConvPart1).
- STVEN: every reference weight has a home of the same shape, but the reference bottleneck blocks differ
  (BatchNorm between the convs, nothing after the temporal conv, no residual), so loaded STVEN weights are
  a warm start for fine-tuning (`edgerppg train stven --init`), not an equivalent network.
"""

from __future__ import annotations

import re

from edgerppg.errors import EdgeRPPGError

# reference ConvSpaN (N = 3..9) -> (stage, block) of our rPPGNet
_RPPG_BLOCKS = {3: (0, 0), 4: (0, 1), 5: (1, 0), 6: (1, 1), 7: (2, 0), 8: (2, 1), 9: (2, 2)}
_ST_PARTS = {"0.spatial_conv": "spatial.conv", "0.bn": "spatial.norm", "0.temporal_conv": "temporal.conv", "1": "temporal.norm"}

RPPGNET_RULES: list[tuple[str, str]] = [
    (r"ConvSpa1\.0\.", "stem.conv."),
    (r"ConvSpa1\.1\.", "stem.norm."),
    *[
        (rf"ConvSpa{n}\.{re.escape(src)}\.", f"stages.{s}.{b}.{dst}.")
        for n, (s, b) in _RPPG_BLOCKS.items()
        for src, dst in _ST_PARTS.items()
    ],
    (r"skin_main\.0\.", "skin.main1.conv."),
    (r"skin_main\.1\.", "skin.main1.norm."),
    (r"skin_main\.3\.", "skin.main2.conv."),
    (r"skin_main\.4\.", "skin.main2.norm."),
    (r"skin_residual\.0\.", "skin.residual.conv."),
    (r"skin_residual\.1\.", "skin.residual.norm."),
    (r"skin_output\.0\.", "skin.out."),
    (r"ConvSpa10\.", "head_mid."),
    (r"ConvSpa11\.", "head."),
    *[(rf"ConvPart{k}\.", f"part_heads.{k - 1}.") for k in range(1, 5)],
]

STVEN_RULES: list[tuple[str, str]] = [
    (r"down3Dmain\.0\.", "enc1.conv."),
    (r"down3Dmain\.1\.(weight|bias)$", r"enc1.norm.\1"),
    (r"down3Dmain\.3\.", "enc2.conv."),
    (r"down3Dmain\.4\.(weight|bias)$", r"enc2.norm.\1"),
    (r"down3Dmain\.6\.", "enc3.conv."),
    (r"down3Dmain\.7\.(weight|bias)$", r"enc3.norm.\1"),
    (r"down3Dmain\.(\d+)\.spatial_conv\.", lambda m: f"blocks.{int(m.group(1)) - 9}.spatial.conv."),
    (r"down3Dmain\.(\d+)\.bn\.(weight|bias)$", lambda m: f"blocks.{int(m.group(1)) - 9}.spatial.norm.{m.group(2)}"),
    (r"down3Dmain\.(\d+)\.temporal_conv\.", lambda m: f"blocks.{int(m.group(1)) - 9}.temporal.conv."),
    (r"layers2\.0\.", "dec1.conv."),
    (r"layers2\.1\.(weight|bias)$", r"dec1.norm.\1"),
    (r"layers3\.0\.", "dec2.conv."),
    (r"layers3\.1\.(weight|bias)$", r"dec2.norm.\1"),
    (r"layers4\.0\.", "out."),
]

RULES = {"rppgnet": RPPGNET_RULES, "stven": STVEN_RULES}


def map_reference_keys(name: str, state_dict: dict) -> tuple[dict, list[str]]:
    """Rename reference keys to ours -> (mapped state_dict, reference keys with no counterpart).

    A leading "module." (DataParallel) is stripped. Unmatched keys are the reference's unused stem
    `ConvSpa` and the running statistics of its instance / batch norms in STVEN (ours have none).
    """
    rules = RULES.get(name)
    if rules is None:
        raise EdgeRPPGError(f"no reference key mapping for model {name!r}; choose one of: {', '.join(RULES)}")
    mapped, dropped = {}, []
    for key, value in state_dict.items():
        bare = key[len("module."):] if key.startswith("module.") else key
        for pattern, repl in rules:
            new, n = re.subn("^" + pattern, repl, bare)
            if n:
                mapped[new] = value
                break
        else:
            dropped.append(key)
    return mapped, dropped


def _shape(sd: dict, key: str) -> tuple[int, ...]:
    if key not in sd:
        raise EdgeRPPGError(f"reference state_dict has no key {key!r}; is it the authors' rPPGNet/STVEN?")
    return tuple(sd[key].shape)


def reference_arch(name: str, state_dict: dict) -> dict:
    """Architecture overrides (for `create_model(name, "paper", **arch)`) read from a reference state_dict."""
    sd = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state_dict.items()}
    if name == "rppgnet":
        stem = _shape(sd, "ConvSpa1.0.weight")[0]
        stages: list[list[list[int]]] = [[], [], []]
        for n, (s, _) in _RPPG_BLOCKS.items():
            stages[s].append([_shape(sd, f"ConvSpa{n}.0.spatial_conv.weight")[0], _shape(sd, f"ConvSpa{n}.0.temporal_conv.weight")[0]])
        return {
            "stem": stem,
            "stages": stages,
            "skin": [_shape(sd, "skin_main.0.weight")[0], _shape(sd, "skin_main.3.weight")[0]],
            "input_norm": "none",  # the authors' network takes the raw clip
        }
    if name == "stven":
        enc1 = _shape(sd, "down3Dmain.0.weight")
        ids = sorted({int(m.group(1)) for k in sd if (m := re.match(r"down3Dmain\.(\d+)\.spatial_conv\.weight$", k))})
        return {
            "labels": enc1[1] - 3,
            "widths": [enc1[0], _shape(sd, "down3Dmain.3.weight")[0], _shape(sd, "down3Dmain.6.weight")[0]],
            "blocks": [[_shape(sd, f"down3Dmain.{i}.spatial_conv.weight")[0], _shape(sd, f"down3Dmain.{i}.temporal_conv.weight")[0]] for i in ids],
            "k_in": list(enc1[2:]),
            "k_out": list(_shape(sd, "layers4.0.weight")[2:]),
        }
    raise EdgeRPPGError(f"no reference key mapping for model {name!r}; choose one of: {', '.join(RULES)}")


def load_reference_state_dict(model, state_dict: dict) -> dict:
    """Load a reference-named state_dict into `model` (shapes must match) -> report of what was loaded.

    Our parameters with no reference counterpart (STVEN's post-temporal instance norms) keep their
    current values. Returns {"loaded": [our keys], "kept": [our keys], "dropped": [reference keys]}.
    """
    from edgerppg.models.checkpoint import load_state_dict_checked

    mapped, dropped = map_reference_keys(model.NAME, state_dict)
    own = model.state_dict()
    unknown = [k for k in mapped if k not in own]
    if unknown:
        raise EdgeRPPGError(f"reference key maps to {unknown[0]!r}, which {model.NAME}/{model.variant} lacks; build "
                            "the model with reference_arch(name, state_dict)")
    kept = [k for k in own if k not in mapped]
    load_state_dict_checked(model, {**own, **mapped}, source=f"reference {model.NAME} state_dict")
    return {"loaded": sorted(mapped), "kept": kept, "dropped": dropped}


def model_from_reference(name: str, state_dict: dict, clip: dict | None = None):
    """-> (our model with the reference's widths and weights, load report). `clip` defaults to the paper's."""
    from edgerppg.models.base import create_model

    arch = reference_arch(name, state_dict)
    if clip is not None:
        arch["clip"] = clip
    model = create_model(name, "paper", **arch)
    return model, load_reference_state_dict(model, state_dict)


def convert_reference_checkpoint(src, name: str, out, clip: dict | None = None) -> dict:
    """Read a reference .pth (torch.load weights_only=True) and write an edgerppg checkpoint -> manifest."""
    from pathlib import Path

    import torch

    from edgerppg.models.checkpoint import save_checkpoint

    src = Path(src)
    try:
        obj = torch.load(src, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise EdgeRPPGError(f"{src}: cannot read as a weights-only torch state_dict ({type(exc).__name__}); "
                            "save it with torch.save(model.state_dict())") from None
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict) or not state:
        raise EdgeRPPGError(f"{src}: holds no state_dict; save it with torch.save(model.state_dict())")
    model, report = model_from_reference(name, state, clip)
    return save_checkpoint(out, model, meta={"training": {"source": "authors' reference code", "file": src.name,
                                                          "reference_dropped": report["dropped"],
                                                          "reference_kept": report["kept"]}})
