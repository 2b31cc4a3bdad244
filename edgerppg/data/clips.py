"""From recordings to model clips: one preprocessing path for training and inference.

`prepare_frames` crops the face, resizes to the model's input and resamples to the model's frame rate;
ClipDataset (training) and predict.predictors.ModelPredictor (inference) both call it, so a model sees the
same pixels in training and in deployment. Prepared frames are cached in memory (and optionally as .npz
files) because training walks the same recordings for many epochs.

HR augmentation (`ClipDataset(hr_aug=p)`): with probability p a training clip is resampled in time so that its
pulse lands on a heart rate drawn uniformly from `HR_AUG_RANGE` (the clip covers `s * T` source frames,
linearly interpolated to T; the pulse and its HR scale by s). A few dozen training subjects leave whole HR
ranges empty (the default pipeline's 10 training subjects had two below 60 bpm), and a model that never saw a
53 bpm pulse reads its second harmonic instead; PhysFormer (Yu et al., CVPR 2022) up/down-samples clips of
rare heart rates for the same reason. Inference never resamples.

Training target (`ClipDataset(target=...)`): "pulse" (default) is the recorded ground-truth pulse, as in the
paper; "fundamental" is that pulse band-passed around the recording's heart rate (0.6-1.4x, zero-phase), i.e.
its fundamental without the harmonics of the systolic peak. Negative Pearson then asks for a sinusoid at the
heart rate, so a model's output carries no harmonic that could out-power the fundamental at low heart rates.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path

import numpy as np

from edgerppg.atomic import atomic_path
from edgerppg.data.face import crop_faces
from edgerppg.data.recording import Recording
from edgerppg.data.skin import skin_masks
from edgerppg.errors import EdgeRPPGError
from edgerppg.signal.hr import heart_rate
from edgerppg.spec import ClipSpec, compression_label

_CACHE: "OrderedDict[str, tuple[np.ndarray, np.ndarray]]" = OrderedDict()
_CACHE_BYTES = 2 << 30  # keep at most ~2 GiB of prepared frames in memory
#: heart rates (bpm) an augmented clip is resampled to, uniformly; inside every band the HR estimators search
HR_AUG_RANGE = (45.0, 150.0)
#: the most a clip is slowed down (0.5: every source frame twice) or sped up (2: every second frame)
HR_AUG_SCALE = (0.5, 2.0)
#: training targets: the recorded pulse, or its fundamental (see the module docstring)
TARGETS = ("pulse", "fundamental")
#: the "fundamental" target's pass band, as multiples of the recording's heart rate
FUNDAMENTAL_BAND = (0.6, 1.4)


def fundamental(pulse: np.ndarray, fps: float, hr_bpm: float | None) -> np.ndarray:
    """The pulse band-passed (zero-phase 2nd-order Butterworth) to FUNDAMENTAL_BAND x its heart rate.

    `hr_bpm` is the recording's mean HR; None: the spectral peak of the pulse itself (signal.hr).
    """
    from scipy.signal import butter, sosfiltfilt

    f0 = (hr_bpm if hr_bpm else heart_rate(pulse, fps)) / 60.0
    lo, hi = FUNDAMENTAL_BAND[0] * f0, min(FUNDAMENTAL_BAND[1] * f0, 0.45 * fps)
    sos = butter(2, [lo, hi], btype="bandpass", fs=fps, output="sos")
    x = np.asarray(pulse, dtype=np.float64)
    return sosfiltfilt(sos, x - x.mean()).astype(np.float32)


def _key(rec: Recording, spec: ClipSpec) -> str:
    p = Path(rec.video_path)
    st = p.stat()
    raw = f"{p.resolve()}|{st.st_mtime_ns}|{st.st_size}|{rec.crop}|{rec.meta.get('frame_range')}|{spec.height}x{spec.width}@{spec.fps}"
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def _remember(key: str, value: tuple[np.ndarray, np.ndarray]) -> None:
    _CACHE[key] = value
    while sum(v[0].nbytes for v in _CACHE.values()) > _CACHE_BYTES and len(_CACHE) > 1:
        _CACHE.popitem(last=False)


def _time_index(n: int, fps: float, target: float) -> np.ndarray:
    """Nearest source frame for every frame at the target rate."""
    count = int(np.floor(n * target / fps))
    return np.minimum(np.round(np.arange(count) * fps / target).astype(int), n - 1)


def prepare_frames(recording: Recording, spec: ClipSpec, cache_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(face crops uint8 (N, H, W, 3) at spec.fps, ground-truth pulse float32 (N,) at spec.fps)."""
    if spec.height != spec.width:
        raise EdgeRPPGError(f"clip spec {spec.height}x{spec.width} is not square; face crops are square")
    key = _key(recording, spec)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    npz = Path(cache_dir) / f"{key}.npz" if cache_dir else None
    if npz is not None and npz.exists():
        with np.load(npz) as z:
            value = (z["frames"], z["bvp"])
    else:
        frames = recording.read_frames()
        crops = crop_faces(frames, size=spec.height, method=recording.crop, source=str(recording.video_path))
        idx = _time_index(len(crops), recording.fps, spec.fps)
        bvp = np.asarray(recording.bvp, dtype=np.float32)
        t_src = np.arange(len(bvp)) / recording.fps
        t_dst = np.arange(len(idx)) / spec.fps
        bvp = np.interp(t_dst, t_src, bvp).astype(np.float32) if len(bvp) else np.zeros(len(idx), np.float32)
        value = (np.ascontiguousarray(crops[idx]), bvp)
        if npz is not None:
            npz.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(npz) as tmp:
                with open(tmp, "wb") as f:
                    np.savez(f, frames=value[0], bvp=value[1])
    _remember(key, value)
    return value


def split_subjects(recordings: list[Recording], val_fraction: float = 0.25, seed: int = 0) -> tuple[list, list]:
    """Subject-independent split: every recording of a held-out subject (in every group) goes to validation."""
    if not 0 <= val_fraction < 1:
        raise EdgeRPPGError(f"validation fraction {val_fraction} must be in [0, 1)")
    subjects = sorted({r.subject for r in recordings})
    rng = np.random.default_rng(seed)
    n_val = int(round(len(subjects) * val_fraction))
    if val_fraction > 0 and len(subjects) > 1:
        n_val = max(1, min(n_val, len(subjects) - 1))
    held = set(rng.permutation(subjects)[:n_val].tolist())
    return [r for r in recordings if r.subject not in held], [r for r in recordings if r.subject in held]


class ClipDataset:
    """T-frame clips of recordings as a torch-style Dataset of dicts (see docs/ARCHITECTURE.md)."""

    def __init__(self, recordings: list[Recording], spec: ClipSpec, stride: int | None = None,
                 pair_group: str | None = None, cache_dir: str | Path | None = None, hr_aug: float = 0.0,
                 target: str = "pulse"):
        _check_options(hr_aug, target)
        self.spec, self.cache_dir, self.pair_group, self.hr_aug = spec, cache_dir, pair_group, float(hr_aug)
        self.target, self._fundamentals = target, {}
        stride = stride or spec.frames
        self.recordings = list(recordings)
        pairs = {(r.subject, r.group): r for r in self.recordings}
        self.items: list[tuple[int, int, Recording | None]] = []
        self._lengths: list[int] = []  # frames usable per recording (its pair partner's too)
        for i, rec in enumerate(self.recordings):
            pair = None
            if pair_group is not None:
                pair = pairs.get((rec.subject, pair_group))
                if pair is None:
                    raise EdgeRPPGError(f"{rec.video_path}: no '{pair_group}' recording of {rec.subject} to pair with; "
                                        f"synthesise with --codec raw,... so every subject has its original")
            n = len(prepare_frames(rec, spec, cache_dir)[0])
            if pair is not None:
                n = min(n, len(prepare_frames(pair, spec, cache_dir)[0]))
            self._lengths.append(n)
            self.items += [(i, s, pair) for s in range(0, n - spec.frames + 1, stride)]
        if not self.items:
            raise EdgeRPPGError(f"no {spec.frames}-frame clip fits in the given recordings; use longer videos")

    def __len__(self) -> int:
        return len(self.items)

    def with_options(self, hr_aug: float | None = None, target: str | None = None) -> "ClipDataset":
        """The same clips with another HR augmentation probability and/or training target (a copy: prepared
        frames are shared)."""
        import copy

        hr_aug = self.hr_aug if hr_aug is None else float(hr_aug)
        target = self.target if target is None else target
        _check_options(hr_aug, target)
        out = copy.copy(self)
        out.hr_aug, out.target, out._fundamentals = hr_aug, target, {}
        return out

    def _pulse(self, i: int, rec: Recording) -> np.ndarray:
        """The training target of recording i at the clip rate (see `target`)."""
        pulse = prepare_frames(rec, self.spec, self.cache_dir)[1]
        if self.target == "pulse":
            return pulse
        if i not in self._fundamentals:
            self._fundamentals[i] = fundamental(pulse, self.spec.fps, rec.hr_bpm)
        return self._fundamentals[i]

    def _video(self, rec: Recording, t: np.ndarray) -> np.ndarray:
        """Frames at (fractional) source positions `t`: linear interpolation between neighbours, uint8."""
        frames = prepare_frames(rec, self.spec, self.cache_dir)[0]
        lo = np.floor(t).astype(int)
        if np.array_equal(lo, t):
            return frames[lo]
        hi = np.minimum(lo + 1, len(frames) - 1)
        w = (t - lo).astype(np.float32)[:, None, None, None]
        mixed = frames[lo].astype(np.float32) * (1.0 - w) + frames[hi].astype(np.float32) * w
        return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)

    def _times(self, rec: Recording, start: int, n: int) -> tuple[np.ndarray, float]:
        """Source frame positions of the clip at `start` (n frames available) and its time scale s."""
        frames = self.spec.frames
        s = 1.0
        if self.hr_aug > 0 and rec.hr_bpm and float(_uniform()) < self.hr_aug:
            target = HR_AUG_RANGE[0] + float(_uniform()) * (HR_AUG_RANGE[1] - HR_AUG_RANGE[0])
            s = float(np.clip(target / float(rec.hr_bpm), *HR_AUG_SCALE))
            s = min(s, (n - 1) / (frames - 1))  # a short recording cannot be sped up past its length
        span = s * (frames - 1)
        start = min(float(start), n - 1 - span)  # near the end, the resampled clip starts earlier
        return start + np.arange(frames) * s, s

    def __getitem__(self, index: int) -> dict:
        import torch

        i, start, pair = self.items[index]
        rec = self.recordings[i]
        pulse = self._pulse(i, rec)
        t, scale = self._times(rec, start, self._lengths[i])
        frames = self._video(rec, t)
        bvp = np.interp(t, np.arange(len(pulse)), pulse).astype(np.float32)
        bvp = (bvp - bvp.mean()) / (bvp.std() + 1e-6)
        skin = skin_masks(frames, size=self.spec.height // 2)
        item = {
            "video": torch.from_numpy(np.ascontiguousarray(frames.transpose(3, 0, 1, 2))).float().div_(255.0),
            "bvp": torch.from_numpy(bvp),
            "skin": torch.from_numpy(skin),
            "label": torch.tensor(compression_label(rec.group), dtype=torch.int64),
            "hr_bpm": torch.tensor(float(rec.hr_bpm) * scale if rec.hr_bpm is not None else float("nan")),
            "subject": rec.subject,
            "group": rec.group,
        }
        if pair is not None:
            original = self._video(pair, t)
            item["target"] = torch.from_numpy(np.ascontiguousarray(original.transpose(3, 0, 1, 2))).float().div_(255.0)
        return item


def _check_options(hr_aug: float, target: str) -> None:
    if not 0.0 <= hr_aug <= 1.0:
        raise EdgeRPPGError(f"HR augmentation probability {hr_aug} must be in [0, 1]")
    if target not in TARGETS:
        raise EdgeRPPGError(f"training target {target!r}: choose one of {', '.join(TARGETS)}")


def _uniform() -> float:
    """One uniform draw from torch's global generator: seeded by the training loop, so augmentation repeats."""
    import torch

    return torch.rand(()).item()
