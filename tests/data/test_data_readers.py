"""Dataset readers on tiny fixtures written in each dataset's real on-disk format."""

import json

import numpy as np
import pytest

from edgerppg.data import READERS, load_dataset
from edgerppg.errors import EdgeRPPGError

FPS = 30.0


def write_avi(path, n, size=32, fps=FPS):
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (size, size))
    for i in range(n):
        writer.write(np.full((size, size, 3), 80 + (i % 50), np.uint8))
    writer.release()


def test_ubfc(tmp_path):
    sub = tmp_path / "subject1"
    sub.mkdir()
    write_avi(sub / "vid.avi", 90)
    t = np.arange(0, 3.2, 1 / 60)  # ground truth at 60 Hz, resampled to the 30 fps frames
    lines = [np.sin(2 * np.pi * 1.2 * t), np.full_like(t, 72.0), t]
    (sub / "ground_truth.txt").write_text("\n".join(" ".join(f"{v:.6e}" for v in row) for row in lines))
    (rec,) = load_dataset(tmp_path)
    assert rec.subject == "subject1" and rec.fps == pytest.approx(FPS) and rec.hr_bpm == 72.0
    assert rec.bvp.shape == (90,)
    np.testing.assert_allclose(rec.bvp[:5], np.sin(2 * np.pi * 1.2 * np.arange(5) / FPS), atol=1e-3)
    assert rec.read_frames().shape == (90, 32, 32, 3)


def test_pure(tmp_path):
    import cv2

    sess = tmp_path / "01-01"
    (sess / "01-01").mkdir(parents=True)
    t0 = 1_392_643_993_642_815_000
    img_ns = [t0 + int(i * 1e9 / FPS) for i in range(40)]
    for ns in img_ns:
        cv2.imwrite(str(sess / "01-01" / f"Image{ns}.png"), np.full((24, 24, 3), 100, np.uint8))
    pulse_ns = [t0 + int(i * 1e9 / 60) for i in range(90)]
    js = {"/FullPackage": [{"Timestamp": ns, "Value": {"waveform": float(i)}} for i, ns in enumerate(pulse_ns)],
          "/Image": [{"Timestamp": ns} for ns in img_ns]}
    (sess / "01-01.json").write_text(json.dumps(js))
    (rec,) = load_dataset(tmp_path)
    assert rec.group == "pure" and rec.fps == pytest.approx(FPS, rel=1e-3)
    np.testing.assert_allclose(rec.bvp[:4], [0, 2, 4, 6], atol=0.05)  # 60 Hz ramp at 30 fps frames
    assert rec.read_frames().shape == (40, 24, 24, 3)


def test_mahnob(tmp_path):
    pyedflib = pytest.importorskip("pyedflib")
    sess = tmp_path / "Sessions" / "10"
    sess.mkdir(parents=True)
    write_avi(sess / "P1-Rec1.avi", 2200, size=16, fps=61.0)
    fs, seconds, hr = 256, 40, 66.0
    t = np.arange(fs * seconds) / fs
    ecg = np.zeros_like(t)
    for beat in np.arange(0.5, seconds, 60 / hr):
        ecg += np.exp(-0.5 * ((t - beat) / 0.01) ** 2)  # R waves
    status = (t >= 2.0).astype(float)  # trigger at 2 s
    headers = []
    for label, sig in (("EXG2", ecg), ("Status", status)):
        headers.append({"label": label, "dimension": "uV", "sample_frequency": fs, "physical_max": 10.0,
                        "physical_min": -10.0, "digital_max": 8388607, "digital_min": -8388608})
    with pyedflib.EdfWriter(str(sess / "Part_1_S_Trial1_emotion.bdf"), 2, file_type=pyedflib.FILETYPE_BDFPLUS) as w:
        w.setSignalHeaders(headers)
        w.writeSamples([ecg, status])
    (rec,) = load_dataset(tmp_path)
    assert rec.meta["frame_range"] == [306, 2136] and rec.hr_bpm == pytest.approx(hr, abs=1.0)
    from edgerppg.signal.hr import heart_rate

    assert heart_rate(rec.bvp, rec.fps) == pytest.approx(hr, abs=1.5)
    assert len(rec.read_frames()) == 2136 - 306


def test_registry_and_errors(tmp_path):
    assert READERS.names() == ["edgerppg", "mahnob", "pure", "ubfc"]
    with pytest.raises(EdgeRPPGError, match="no such dataset folder"):
        load_dataset(tmp_path / "nope")
    with pytest.raises(EdgeRPPGError, match="not a dataset edgerppg can read"):
        load_dataset(tmp_path)
