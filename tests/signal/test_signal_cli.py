"""`edgerppg hr` and `edgerppg eval` end to end on tiny videos written here (drawn face through Haar, synth data)."""

import json

import numpy as np
import pytest
from cli_runner import run

BPM = 78.0


def _face_frame(w, h, cx, cy, s, skin):
    import cv2

    img = np.full((h, w, 3), (60, 80, 70), np.uint8)
    cv2.ellipse(img, (cx, cy - int(0.55 * s)), (int(0.95 * s), int(0.9 * s)), 0, 180, 360, (40, 30, 25), -1)
    cv2.ellipse(img, (cx, cy), (int(0.8 * s), int(1.05 * s)), 0, 0, 360, skin, -1)
    for dx in (-1, 1):
        ex, ey = cx + dx * int(0.35 * s), cy - int(0.2 * s)
        cv2.ellipse(img, (ex, ey), (int(0.17 * s), int(0.08 * s)), 0, 0, 360, (245, 245, 245), -1)
        cv2.circle(img, (ex, ey), int(0.07 * s), (30, 20, 20), -1)
        cv2.line(img, (ex - int(0.2 * s), ey - int(0.17 * s)), (ex + int(0.2 * s), ey - int(0.2 * s)), (50, 35, 30), 3)
    cv2.ellipse(img, (cx, cy + int(0.5 * s)), (int(0.28 * s), int(0.08 * s)), 0, 0, 360, (150, 60, 60), -1)
    return cv2.GaussianBlur(img, (5, 5), 0)


@pytest.fixture(scope="module")
def face_video(tmp_path_factory):
    """12 s of a drawn face (found by OpenCV's Haar cascade) whose skin colour pulses at BPM, drifting sideways."""
    import cv2

    path = tmp_path_factory.mktemp("hr") / "face.avi"
    fps, n = 30.0, 360
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (200, 160))
    t = np.arange(n) / fps
    pulse = np.sin(2 * np.pi * BPM / 60 * t)
    for i in range(n):
        skin = np.array([200.0, 150.0, 120.0]) * (1 + 0.02 * pulse[i] * np.array([0.4, 1.0, 0.7]))
        frame = _face_frame(200, 160, 100 + int(6 * np.sin(2 * np.pi * 0.1 * t[i])), 82, 38, tuple(skin.tolist()))
        writer.write(np.ascontiguousarray(frame[..., ::-1]))
    writer.release()
    return path


@pytest.mark.parametrize("method", ["pos", "chrom"])
def test_hr_json_on_a_face_video_through_haar(capsys, face_video, method):
    code, out, _ = run(capsys, "hr", face_video, "--method", method, "--json", "--window", "6", "--step", "3")
    assert code == 0
    res = json.loads(out)
    assert {"hr_bpm", "method", "fps", "frames", "band", "window", "windows"} <= set(res)
    assert res["method"] == method and res["fps"] == pytest.approx(30.0) and res["frames"] == 360
    assert abs(res["hr_bpm"] - BPM) < 2.0
    assert len(res["windows"]) == 3 and all(abs(w["hr_bpm"] - BPM) < 3.0 for w in res["windows"])


def test_hr_table_and_plot(capsys, face_video, tmp_path):
    png = tmp_path / "out" / "pulse.png"
    code, out, _ = run(capsys, "hr", face_video, "--plot", png)
    assert code == 0 and "bpm" in out and png.read_bytes()[:4] == b"\x89PNG"
    assert not [p for p in png.parent.iterdir() if p.name.startswith(".")]  # no temp file left
    code, _, err = run(capsys, "hr", face_video, "--plot", tmp_path / "pulse.xyz")
    assert code == 2 and "pulse.xyz" in err and not (tmp_path / "pulse.xyz").exists()


def test_hr_bad_inputs_exit_2_with_one_line(capsys, tmp_path):
    garbage = tmp_path / "broken.avi"
    garbage.write_bytes(b"not a video at all" * 10)
    blank = tmp_path / "blank.avi"
    for args in (["hr", tmp_path / "missing.avi"], ["hr", garbage], ["hr"], ["hr", garbage, "--method", "ica"]):
        code, out, err = run(capsys, *args)
        assert code == 2, args
        assert err.strip().startswith("error:") and len(err.strip().splitlines()) == 1, err
    import cv2

    writer = cv2.VideoWriter(str(blank), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (96, 96))
    for _ in range(90):
        writer.write(np.full((96, 96, 3), 90, np.uint8))
    writer.release()
    code, _, err = run(capsys, "hr", blank)  # no face anywhere: says so and suggests --crop center
    assert code == 2 and "--crop center" in err


def test_hr_follow_fixed_file_gives_updates(capsys, face_video):
    code, out, _ = run(capsys, "hr", "--follow", face_video, "--duration", "8", "--window", "6", "--json")
    updates = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(updates) >= 6
    assert [u["t_s"] for u in updates] == sorted(u["t_s"] for u in updates)
    assert 180 <= updates[-1]["frames"] <= 360 and updates[-1]["window_s"] == pytest.approx(6.0)
    assert abs(np.median([u["hr_bpm"] for u in updates]) - BPM) < 3.0 and updates[-1]["fps_processing"] > 0


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    from edgerppg.data.synth import synthesize

    out = tmp_path_factory.mktemp("synth") / "s"
    synthesize(out, subjects=2, seconds=12, size=64, codecs=["raw"])
    return out


def test_eval_table_json_classical_side_by_side(capsys, synth_dir):
    code, out, _ = run(capsys, "eval", "--data", synth_dir, "--method", "pos", "--method", "green", "--json")
    assert code == 0
    table = json.loads(out)
    floor = table["floor"]["predictor"]
    assert [(r["predictor"], r["group"]) for r in table["rows"]] == [("pos", "raw"), ("green", "raw"), (floor, "raw")]
    assert table["band"] == [0.7, 3.0] and table["window"] == 10.0 and table["method"] == "welch"
    pos = table["rows"][0]
    assert pos["n"] == 2 and pos["mae"] < 3.0
    code, out, _ = run(capsys, "eval", "--data", synth_dir)
    assert code == 0 and "MAE" in out and "pos" in out


def test_eval_sweep_floor_and_intervals_end_to_end(capsys, synth_dir, tmp_path):
    """x264 at two bitrates: the sweep table and plot, every row with its interval, the floor from --train-data."""
    from edgerppg.data.synth import synthesize

    data = tmp_path / "x264"
    synthesize(data, subjects=2, seconds=10, size=32, codecs=["raw", "x264"], bitrates=["250k", "500k"], seed=7)
    code, out, _ = run(capsys, "eval", "--data", data, "--method", "pos", "--train-data", synth_dir, "--json",
                       "--plots", tmp_path / "plots")
    assert code == 0
    table = json.loads(out)
    floor = table["floor"]
    assert floor["predictor"] == "constant (train median)" and 40 < floor["guess_bpm"] < 180
    assert [(r["predictor"], r["group"]) for r in table["rows"]] == [
        (p, g) for p in ("pos", floor["predictor"]) for g in ("raw", "x264-250k", "x264-500k")]
    for r in table["rows"]:
        assert r["n"] == 2 and r["subjects"] == 2 and r["mae_low"] <= r["mae"] <= r["mae_high"]
        assert r["kbps"] > 0  # the rate the encoder reached, from the manifest
    assert table["plots"] == [str(tmp_path / "plots" / "mae_vs_bitrate.png")]
    assert (tmp_path / "plots" / "mae_vs_bitrate.png").stat().st_size > 5000
    code, out, _ = run(capsys, "eval", "--data", data, "--method", "pos", "--train-data", synth_dir)
    text = " ".join(out.split())
    assert code == 0 and "95% CI" in text and "MAE per window by codec and bitrate" in text
    assert f"{floor['guess_bpm']:.1f} bpm for every window, the training set's median true HR" in text


def test_eval_missing_dataset_exits_2(capsys, tmp_path):
    code, _, err = run(capsys, "eval", "--data", tmp_path / "nothing")
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_eval_missing_training_data_exits_2(capsys, synth_dir, tmp_path):
    code, _, err = run(capsys, "eval", "--data", synth_dir, "--train-data", tmp_path / "nothing")
    assert code == 2 and "--train-data is not a directory" in err and len(err.strip().splitlines()) == 1


def test_hr_follow_growing_file(capsys, face_video, tmp_path):
    """A recording still being written: its bytes arrive in chunks while `hr --follow` reads; every frame
    that has arrived is read once (no re-reads after the reopen), and the HR comes out right."""
    import threading
    import time
    from pathlib import Path

    data = Path(face_video).read_bytes()
    growing = tmp_path / "growing.avi"
    chunks = np.array_split(np.frombuffer(data, np.uint8), 12)
    growing.write_bytes(chunks[0].tobytes())

    def writer():
        with open(growing, "ab") as f:
            for c in chunks[1:]:
                time.sleep(0.35)
                f.write(c.tobytes())
                f.flush()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        code, out, err = run(capsys, "hr", "--follow", growing, "--duration", "10", "--window", "6", "--json")
    finally:
        thread.join()
    updates = [json.loads(line) for line in out.splitlines()]
    assert code == 0, err
    assert len(updates) >= 6 and [u["frames"] for u in updates] == sorted(u["frames"] for u in updates)
    assert 300 <= updates[-1]["frames"] <= 360  # the frames written after the reader reached the end were picked up
    assert abs(np.median([u["hr_bpm"] for u in updates]) - BPM) < 3.0
