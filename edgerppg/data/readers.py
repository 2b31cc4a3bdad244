"""Dataset readers, registered by name: our synthetic layout, UBFC-rPPG, PURE and MAHNOB-HCI.

Each yields `Recording`s whose ground truth is resampled to the video frame times:
- "edgerppg": `manifest.json` of `edgerppg synth` (groups of UBFC-style subject folders);
- "ubfc": UBFC-rPPG DATASET_2, `subject*/vid.avi` + `ground_truth.txt` (pulse, HR, time in s);
- "pure": PURE, `NN-NN/NN-NN.json` (/FullPackage pulse, /Image timestamps in ns) + `NN-NN/NN-NN/*.png`;
- "mahnob": MAHNOB-HCI sessions, `*.avi` + `*.bdf`; the ECG lead EXG2 (256 Hz) gives R-peaks; frames
  306-2135 are used, as in Yu et al. and Deng & Ramakrishnan; video time 0 = the first Status trigger.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from edgerppg.data.recording import Recording, beats_to_pulse, resample
from edgerppg.data.video import image_files, video_info
from edgerppg.errors import EdgeRPPGError, require
from edgerppg.registry import Registry

READERS: Registry = Registry("dataset reader")
VIDEO_NAMES = ("vid.avi", "vid.mp4", "vid.mkv")
MAHNOB_FRAMES = (306, 2136)


def _video_in(folder: Path) -> Path | None:
    return next((folder / n for n in VIDEO_NAMES if (folder / n).exists()), None)


@READERS.register("edgerppg")
def read_edgerppg(root: Path) -> list[Recording]:
    try:
        manifest = json.loads((root / "manifest.json").read_text())
        entries = manifest["subjects"]
    except (OSError, ValueError, KeyError) as exc:
        raise EdgeRPPGError(f"{root / 'manifest.json'}: unreadable synth manifest ({exc}); re-run edgerppg synth") from None
    out = []
    for e in entries:
        video = root / e["path"]
        bvp, _, _ = read_ubfc_truth(video.parent / "ground_truth.txt")
        out.append(Recording(subject=e["subject"], group=e["group"], video_path=video, fps=float(e["fps"]),
                             bvp=bvp, hr_bpm=float(e["mean_hr_bpm"]), codec=e["codec"], bitrate=e.get("bitrate"),
                             crop=e.get("crop", "full"), meta={"seed": e.get("seed"), "kbps": e.get("kbps")}))
    return out


def read_ubfc_truth(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pulse, HR, time) rows of a UBFC DATASET_2 ground_truth.txt."""
    try:
        rows = [np.array(line.split(), dtype=np.float64) for line in path.read_text().strip().splitlines()[:3]]
    except (OSError, ValueError) as exc:
        raise EdgeRPPGError(f"{path}: unreadable ground truth ({exc}); expected 3 lines: pulse, HR, time") from None
    if len(rows) != 3 or len({len(r) for r in rows}) != 1:
        raise EdgeRPPGError(f"{path}: expected 3 equally long lines (pulse, HR, time in s)")
    return rows[0], rows[1], rows[2]


@READERS.register("ubfc")
def read_ubfc(root: Path) -> list[Recording]:
    out = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        video = _video_in(sub)
        if video is None or not (sub / "ground_truth.txt").exists():
            continue
        bvp, hr, t = read_ubfc_truth(sub / "ground_truth.txt")
        info = video_info(video)
        frame_t = np.arange(info["frames"]) / info["fps"]
        out.append(Recording(subject=sub.name, group=root.name if root.name != sub.name else "ubfc", video_path=video,
                             fps=info["fps"], bvp=resample(bvp, t - t[0], frame_t), hr_bpm=float(np.median(hr)),
                             codec="unknown", crop="haar"))
    return out


@READERS.register("pure")
def read_pure(root: Path) -> list[Recording]:
    out = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and (p / f"{p.name}.json").exists()):
        js = json.loads((sub / f"{sub.name}.json").read_text())
        try:
            pulse_t = np.array([s["Timestamp"] for s in js["/FullPackage"]], dtype=np.float64) * 1e-9
            pulse = np.array([s["Value"]["waveform"] for s in js["/FullPackage"]], dtype=np.float64)
            img_t = np.array([s["Timestamp"] for s in js["/Image"]], dtype=np.float64) * 1e-9
        except (KeyError, TypeError) as exc:
            raise EdgeRPPGError(f"{sub / (sub.name + '.json')}: missing PURE key {exc}; is this a PURE session?") from None
        frames_dir = sub / sub.name
        n = len(image_files(frames_dir))
        img_t = img_t[:n]
        fps = (len(img_t) - 1) / (img_t[-1] - img_t[0])
        out.append(Recording(subject=sub.name, group="pure", video_path=frames_dir, fps=float(fps),
                             bvp=resample(pulse, pulse_t - img_t[0], img_t - img_t[0]), codec="png", crop="haar"))
    return out


def r_peaks(ecg: np.ndarray, fs: float) -> np.ndarray:
    """R-peak times (s) of an ECG lead: band-pass, squared slope, peaks at least 0.33 s apart."""
    from scipy.signal import butter, filtfilt, find_peaks

    b, a = butter(2, [5 / (fs / 2), 20 / (fs / 2)], btype="band")
    energy = np.gradient(filtfilt(b, a, ecg)) ** 2
    peaks, _ = find_peaks(energy, distance=int(0.33 * fs), height=0.3 * np.percentile(energy, 99))
    return peaks / fs


@READERS.register("mahnob")
def read_mahnob(root: Path) -> list[Recording]:
    out = []
    for bdf in sorted(root.rglob("*.bdf")):
        videos = sorted(bdf.parent.glob("*.avi"))
        if not videos:
            continue
        pyedflib = require("pyedflib")
        with pyedflib.EdfReader(str(bdf)) as f:
            labels = f.getSignalLabels()
            if "EXG2" not in labels:
                raise EdgeRPPGError(f"{bdf}: no EXG2 (ECG) channel; is this a MAHNOB-HCI session file?")
            fs = f.getSampleFrequency(labels.index("EXG2"))
            ecg = f.readSignal(labels.index("EXG2"))
            start = 0.0
            if "Status" in labels:
                status = f.readSignal(labels.index("Status"))
                on = np.flatnonzero(np.diff(status) > 0)
                start = (on[0] + 1) / f.getSampleFrequency(labels.index("Status")) if len(on) else 0.0
        info = video_info(videos[0])
        lo, hi = MAHNOB_FRAMES[0], min(MAHNOB_FRAMES[1], info["frames"])
        if hi - lo < 2:
            raise EdgeRPPGError(f"{videos[0]}: {info['frames']} frames, fewer than the 306-2135 window MAHNOB uses")
        frame_t = start + np.arange(lo, hi) / info["fps"]
        beats = r_peaks(ecg, fs)
        if len(beats) < 3:
            raise EdgeRPPGError(f"{bdf}: fewer than 3 R-peaks found in EXG2; check the ECG recording")
        out.append(Recording(subject=bdf.parent.name, group="mahnob", video_path=videos[0], fps=info["fps"],
                             bvp=beats_to_pulse(beats, frame_t), hr_bpm=float(60 / np.median(np.diff(beats))),
                             codec="h264", crop="haar", meta={"frame_range": [lo, hi]}))
    return out


def detect_reader(root: Path) -> str:
    if (root / "manifest.json").exists():
        return "edgerppg"
    if any(root.rglob("*.bdf")):
        return "mahnob"
    subs = [p for p in root.iterdir() if p.is_dir()]
    if any((p / f"{p.name}.json").exists() for p in subs):
        return "pure"
    if any(_video_in(p) and (p / "ground_truth.txt").exists() for p in subs):
        return "ubfc"
    raise EdgeRPPGError(f"{root}: not a dataset edgerppg can read (edgerppg synth, UBFC-rPPG, PURE or MAHNOB-HCI layout)")


def load_dataset(root: str | Path, reader: str = "auto", groups: list[str] | None = None) -> list[Recording]:
    """All recordings under `root`, read with the named reader (or the detected one), optionally by group."""
    root = Path(root)
    if not root.is_dir():
        raise EdgeRPPGError(f"{root}: no such dataset folder; check --data")
    name = detect_reader(root) if reader == "auto" else reader
    recordings = READERS.get(name)(root)
    if groups:
        recordings = [r for r in recordings if r.group in groups]
    if not recordings:
        raise EdgeRPPGError(f"{root}: no recordings found with the {name} reader" + (f" in groups {groups}" if groups else ""))
    return recordings
