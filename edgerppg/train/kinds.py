"""What `edgerppg train KIND` trains: the model, the data groups and the checkpoints it starts from.

Yu et al. (ICCV 2019) train rPPGNet on original videos, STVEN on (compressed, original) pairs, and then the
cascade jointly (STVEN updated through the frozen rPPGNet). Each kind is registered in `KINDS`; importing this
module is cheap (torch is imported inside the methods), so the CLI lists the choices from the registry.
"""

from __future__ import annotations

from pathlib import Path

from edgerppg.errors import EdgeRPPGError
from edgerppg.manifest import sha256_file
from edgerppg.registry import Registry

KINDS: Registry[type["TrainKind"]] = Registry("training kind")
RAW = "raw"


class TrainKind:
    """A training recipe: which model to build and which recordings (and pairs) it learns from."""

    model_name = ""
    #: Adam learning rate when `--lr` is not given: the paper's 1e-4 (fine-tuning STVEN through a trained rPPGNet)
    default_lr = 1e-4
    #: the clip dataset pairs each recording with the same clip of this group (`batch["target"]`)
    pair_group: str | None = None

    def select(self, recordings: list, data: Path, groups: list[str] | None = None) -> list:
        """The recordings this kind needs: those it learns from plus, for pairs, their `pair_group` partners.

        `groups`: the groups the user asked for (`--groups`); `recordings` are already limited to them.
        """
        raise NotImplementedError

    def groups_to_read(self, groups: list[str] | None) -> list[str] | None:
        """The data groups to load for `--groups`: those named plus, for pairs, `pair_group` (None: all)."""
        if groups and self.pair_group and self.pair_group not in groups:
            return [*groups, self.pair_group]  # the pair partners are read too
        return groups

    def learns_from(self, recording) -> bool:
        """Whether clips of `recording` are training inputs (pair partners are only targets)."""
        return self.pair_group is None or recording.group != self.pair_group

    def build(self, variant: str | None, init: Path | None, stven: Path | None):
        """-> (model, provenance dict) from the variant or the starting checkpoints."""
        raise NotImplementedError


def _groups(recordings: list) -> list[str]:
    return list(dict.fromkeys(r.group for r in recordings))


def _load(path: Path, expect):
    from edgerppg.models import load_checkpoint

    model, manifest = load_checkpoint(path, expect=expect)
    return model.train(), {"path": str(path), "sha256": sha256_file(path), "model": manifest["model"],
                           "variant": manifest["variant"]}


def _check_variant(variant: str | None, model, path: Path) -> None:
    if variant is not None and variant != model.variant:
        raise EdgeRPPGError(f"{path}: checkpoint is variant {model.variant!r}, not {variant!r}; drop --variant or pass "
                            f"a {variant} checkpoint")


class _Single(TrainKind):
    """One model trained from scratch (the variant) or fine-tuned from `--init`."""

    def build(self, variant, init, stven):
        if stven is not None:
            raise EdgeRPPGError(f"--stven is only used by joint training, not by {self.model_name}")
        if init is None:
            from edgerppg.models import create_model

            return create_model(self.model_name, variant or "tiny"), {}
        model, prov = _load(init, self.model_name)
        _check_variant(variant, model, init)
        return model, {"init": prov}


@KINDS.register("rppgnet")
class RPPGNetKind(_Single):
    """rPPGNet (Eq. 8) on the original ("raw") videos, on every group when the data has no raw group, or on the
    groups named by `--groups` (e.g. raw,x264-250k: an rPPGNet that has seen compressed clips, without STVEN)."""

    model_name = "rppgnet"
    #: from scratch, tiny rPPGNet at 1e-4 ended 10 epochs at 43 bpm validation MAE (issue 19); 1e-3 trains
    #: (the default pipeline's rppgnet stage)
    default_lr = 1e-3

    def select(self, recordings, data, groups=None):
        if groups:
            return recordings
        raw = [r for r in recordings if r.group == RAW]
        return raw or recordings


def _compressed_with_raw(recordings: list, data: Path, what: str) -> list:
    """The compressed recordings plus the raw recordings they pair with (ClipDataset pairs within its list)."""
    groups = _groups(recordings)
    if RAW not in groups:
        raise EdgeRPPGError(f"{data}: no {RAW!r} group; {what} trains on (compressed, original) pairs, so synthesise "
                            f"the data with a raw group (edgerppg synth)")
    compressed = [r for r in recordings if r.group != RAW]
    if not compressed:
        raise EdgeRPPGError(f"{data}: only a {RAW!r} group; {what} needs compressed groups such as x264-250k")
    subjects = {r.subject for r in compressed}
    return compressed + [r for r in recordings if r.group == RAW and r.subject in subjects]


@KINDS.register("stven")
class STVENKind(_Single):
    """STVEN (Eq. 3-4) on every compressed group, each clip paired with the same clip of the raw group."""

    model_name = "stven"
    pair_group = RAW

    def select(self, recordings, data, groups=None):
        return _compressed_with_raw(recordings, data, "STVEN")


@KINDS.register("joint")
class JointKind(TrainKind):
    """STVEN through a frozen trained rPPGNet (Eq. 9-10), written as a cascade checkpoint.

    `init`: the trained rPPGNet (or a cascade to continue); `stven`: an optional pre-trained STVEN.
    """

    model_name = "cascade"
    pair_group = RAW
    #: whether the original clips are inputs too (`--groups` naming raw): STVEN then also learns to leave
    #: clean video as it is, which it sees at inference with the same label 0. The paper's step uses compressed
    #: clips only (the default).
    raw_inputs = False

    def select(self, recordings, data, groups=None):
        self.raw_inputs = bool(groups) and RAW in groups
        return _compressed_with_raw(recordings, data, "joint training")

    def learns_from(self, recording) -> bool:
        return self.raw_inputs or recording.group != RAW

    def build(self, variant, init, stven):
        if init is None:
            raise EdgeRPPGError("joint training needs --init with a trained rPPGNet checkpoint (edgerppg train rppgnet)")
        from edgerppg.models import read_manifest

        if read_manifest(init).get("model") == "cascade":
            model, prov = _load(init, "cascade")
            _check_variant(variant, model, init)
            if stven is not None:
                raise EdgeRPPGError(f"{init}: a cascade checkpoint already holds STVEN; drop --stven")
            return model, {"init": prov}
        rppgnet, prov = _load(init, "rppgnet")
        _check_variant(variant, rppgnet, init)
        provenance = {"init": prov}
        stven_model = None
        if stven is not None:
            stven_model, provenance["stven"] = _load(stven, "stven")
            if stven_model.clip != rppgnet.clip:
                raise EdgeRPPGError(f"{stven}: STVEN clip {stven_model.clip} differs from rPPGNet's {rppgnet.clip}; "
                                    "train STVEN with the same variant")
        return _cascade(rppgnet, stven_model), provenance


def _cascade(rppgnet, stven):
    """A cascade holding the given rPPGNet (and STVEN, else a fresh one of the same variant) weights."""
    from edgerppg.models import create_model

    def sub(model):
        return {k: v for k, v in model.arch_config().items() if k not in ("name", "variant", "clip")}

    arch = {"rppgnet": sub(rppgnet), "clip": rppgnet.clip.to_dict()}
    if stven is not None:
        arch["stven"] = sub(stven)
    cascade = create_model("cascade", rppgnet.variant, **arch)
    cascade.rppgnet.load_state_dict(rppgnet.state_dict())
    if stven is not None:
        cascade.stven.load_state_dict(stven.state_dict())
    return cascade
