"""Import state_dicts trained with the authors' public rPPGNet / STVEN code into edgerppg's models, exactly.

Yu et al., "Remote Heart Rate Measurement from Highly Compressed Facial Videos: an End-to-end Deep Learning
Solution with Video Enhancement", ICCV 2019. The authors' release is research-only, so nothing of it is
used here but its parameter *names and shapes*, read to write this key mapping. docs/checkpoints.md has the
table. The converted models compute what the reference computes in eval mode (tests/models compare them
with outputs of the authors' code on fixture clips):

- rPPGNet: our architecture with the widths read from the state_dict; the reference computes part 1 with
  its global head ConvSpa11 (its ConvPart1 is unused), so part_heads.0 gets ConvSpa11's weights.
- STVEN: built with norm="running", block="reference", io="raw" (models/stven.py): every reference tensor,
  running statistics included, has a home of the same shape and the same role.
- cascade: the two, STVEN first, as the authors' joint model chains them.
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
    *[(rf"ConvPart{k}\.", f"part_heads.{k - 1}.") for k in range(2, 5)],
]
# the reference's part 1 signal comes from ConvSpa11 (= our head): its weights also go to part_heads.0
RPPGNET_COPIES = {"head.": "part_heads.0."}

STVEN_RULES: list[tuple[str, str]] = [
    (r"down3Dmain\.0\.", "enc1.conv."),
    (r"down3Dmain\.1\.", "enc1.norm."),
    (r"down3Dmain\.3\.", "enc2.conv."),
    (r"down3Dmain\.4\.", "enc2.norm."),
    (r"down3Dmain\.6\.", "enc3.conv."),
    (r"down3Dmain\.7\.", "enc3.norm."),
    (r"down3Dmain\.(\d+)\.spatial_conv\.", lambda m: f"blocks.{int(m.group(1)) - 9}.spatial.conv."),
    (r"down3Dmain\.(\d+)\.bn\.", lambda m: f"blocks.{int(m.group(1)) - 9}.spatial.norm."),
    (r"down3Dmain\.(\d+)\.temporal_conv\.", lambda m: f"blocks.{int(m.group(1)) - 9}.temporal.conv."),
    (r"layers2\.0\.", "dec1.conv."),
    (r"layers2\.1\.", "dec1.norm."),
    (r"layers3\.0\.", "dec2.conv."),
    (r"layers3\.1\.", "dec2.norm."),
    (r"layers4\.0\.", "out."),
]

RULES = {"rppgnet": RPPGNET_RULES, "stven": STVEN_RULES}
COPIES = {"rppgnet": RPPGNET_COPIES, "stven": {}}
# reference parameters its forward() never uses: dropping them changes nothing
UNUSED = {"rppgnet": re.compile(r"^(ConvSpa|ConvPart1)\.(weight|bias)$"), "stven": re.compile(r"^$")}
FAMILY_KEYS = {"rppgnet": "ConvSpa1.0.weight", "stven": "down3Dmain.0.weight"}


def map_reference_keys(name: str, state_dict: dict) -> tuple[dict, list[str]]:
    """Rename reference keys to ours -> (mapped state_dict, reference keys with no counterpart).

    A leading "module." (DataParallel) is stripped. Unmatched keys are the reference's unused stem
    `ConvSpa` and its unused ConvPart1 (UNUSED), or keys of another network.
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
    for src, dst in COPIES.get(name, {}).items():
        mapped.update({dst + k[len(src):]: v for k, v in list(mapped.items()) if k.startswith(src)})
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
            "norm": "running",  # InstanceNorm3d(track_running_stats=True): an affine map in eval mode
            "block": "reference",
            "io": "raw",
        }
    raise EdgeRPPGError(f"no reference key mapping for model {name!r}; choose one of: {', '.join(RULES)}")


def load_reference_state_dict(model, state_dict: dict, prefix: str = "") -> dict:
    """Load a reference-named state_dict into `model` (or its submodule at `prefix`, e.g. "stven.") -> report.

    Our parameters with no reference counterpart keep their current values (they are listed as "kept";
    `convert_reference` refuses them unless told to accept). Returns {"loaded": [our keys], "kept": [our
    keys], "dropped": [reference keys], "unused": [dropped keys the reference never uses]}.
    """
    from edgerppg.models.checkpoint import load_state_dict_checked

    name = prefix.rstrip(".") or model.NAME
    mapped, dropped = map_reference_keys(name, state_dict)
    mapped = {prefix + k: v for k, v in mapped.items()}
    own = model.state_dict()
    unknown = [k for k in mapped if k not in own]
    if unknown:
        raise EdgeRPPGError(f"reference key maps to {unknown[0]!r}, which {model.NAME}/{model.variant} lacks; build "
                            "the model with reference_arch(name, state_dict)")
    kept = [k for k in own if k.startswith(prefix) and k not in mapped]
    load_state_dict_checked(model, {**own, **mapped}, source=f"reference {name} state_dict")
    unused = [k for k in dropped if UNUSED[name].match(k.removeprefix("module."))]
    return {"loaded": sorted(mapped), "kept": kept, "dropped": dropped, "unused": unused}


def model_from_reference(name: str, state_dict: dict, clip: dict | None = None):
    """-> (our model with the reference's widths and weights, load report). `clip` defaults to the paper's."""
    from edgerppg.models.base import create_model

    arch = reference_arch(name, state_dict)
    if clip is not None:
        arch["clip"] = clip
    model = create_model(name, "paper", **arch)
    return model, load_reference_state_dict(model, state_dict)


def cascade_from_reference(stven: dict, rppgnet: dict, clip: dict | None = None):
    """-> (cascade of the two reference networks, load report over both)."""
    from edgerppg.models.base import create_model

    sub = {n: reference_arch(n, sd) for n, sd in (("stven", stven), ("rppgnet", rppgnet))}
    model = create_model("cascade", "paper", **({"clip": clip} if clip is not None else {}), **sub)
    reports = [load_reference_state_dict(model, sd, prefix=f"{n}.") for n, sd in (("stven", stven), ("rppgnet", rppgnet))]
    return model, {k: [x for r in reports for x in r[k]] for k in reports[0]}


def reorder_labels(model, best: int) -> list[int]:
    """Make the reference's label `best` our label 0 (what deployment and the cascade use) -> the label order.

    Our label j is the reference's label order[j]: the label planes of STVEN's first conv are permuted, so
    every label still computes what the reference computes for order[j].
    """
    import torch

    stven = model.stven if model.NAME == "cascade" else model
    n = stven.n_labels
    if not 0 <= best < n:
        raise EdgeRPPGError(f"--best-label {best} is out of range: this STVEN has labels 0..{n - 1}")
    order = [best] + [i for i in range(n) if i != best]
    c = stven.clip.channels
    with torch.no_grad():
        w = stven.enc1.conv.weight
        w[:, c:] = w[:, c:][:, order].clone()
    return order


def check_family(name: str, state_dict: dict, source: str) -> None:
    """A one-line error when `state_dict` is the other network of the pair (or neither)."""
    if FAMILY_KEYS[name] in state_dict:
        return
    other = next((n for n, k in FAMILY_KEYS.items() if k in state_dict), None)
    if other is not None:
        raise EdgeRPPGError(f"{source}: holds the authors' {other} ({FAMILY_KEYS[other]}), not {name}; "
                            f"pass --model {other}")
    first = ", ".join(list(state_dict)[:3])
    raise EdgeRPPGError(f"{source}: no key {FAMILY_KEYS[name]!r} (first keys: {first}); is it the authors' {name}?")
