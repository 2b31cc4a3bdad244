"""Video reading errors, face crop, skin masks and the clip dataset."""

import numpy as np
import pytest

from edgerppg.data import load_dataset
from edgerppg.data.clips import ClipDataset, prepare_frames, split_subjects
from edgerppg.data.face import crop_faces
from edgerppg.data.skin import skin_masks
from edgerppg.data.video import read_video
from edgerppg.errors import EdgeRPPGError
from edgerppg.spec import ClipSpec

SPEC = ClipSpec(frames=64, height=32, width=32)


def test_video_errors(tmp_path, synth_small):
    with pytest.raises(EdgeRPPGError, match="no such video file"):
        read_video(tmp_path / "missing.avi")
    (tmp_path / "empty.avi").write_bytes(b"")
    with pytest.raises(EdgeRPPGError, match="empty"):
        read_video(tmp_path / "empty.avi")
    (tmp_path / "junk.mp4").write_bytes(b"not a video" * 100)
    with pytest.raises(EdgeRPPGError, match="not a readable video|no frame"):
        read_video(tmp_path / "junk.mp4")
    src = (synth_small / "raw" / "subject01" / "vid.avi").read_bytes()
    (tmp_path / "cut.avi").write_bytes(src[: len(src) // 3])
    with pytest.raises(EdgeRPPGError, match="truncated|not a readable|no frame"):
        read_video(tmp_path / "cut.avi")


def test_crop_methods_and_no_face(synth_small):
    rec = load_dataset(synth_small, groups=["raw"])[0]
    frames = rec.read_frames()
    assert crop_faces(frames, 32, "full").shape == (180, 32, 32, 3)
    assert crop_faces(frames, 32, "center").shape == (180, 32, 32, 3)
    noise = np.random.default_rng(0).integers(0, 255, (20, 64, 64, 3), dtype=np.uint8)
    with pytest.raises(EdgeRPPGError, match="no face found.*--crop center"):
        crop_faces(noise, 32, "haar", source="noise.avi")
    with pytest.raises(EdgeRPPGError, match="unknown crop"):
        crop_faces(frames, 32, "eyes")


def test_haar_finds_a_rendered_face():
    from edgerppg.data.synth import render_subject

    frames, _ = render_subject(0, 0, 3, 30.0, 128)
    crops = crop_faces(frames, 64, "haar")
    assert crops.shape == (90, 64, 64, 3)
    # the crop is mostly skin, the full frame is not
    assert skin_masks(crops[:5], 32).mean() > skin_masks(frames[:5], 32).mean()


def test_prepare_frames_resamples_to_spec_fps(synth_small):
    rec = load_dataset(synth_small, groups=["raw"])[0]
    frames, bvp = prepare_frames(rec, ClipSpec(frames=64, height=32, width=32, fps=15.0))
    assert frames.shape == (90, 32, 32, 3) and bvp.shape == (90,)
    np.testing.assert_allclose(bvp, rec.bvp[::2], atol=1e-5)


def test_clip_dataset_items_and_pairs(synth_small):
    recs = load_dataset(synth_small)
    ds = ClipDataset(recs, SPEC, pair_group="raw")
    assert len(ds) == 6 * 2  # 6 recordings x 2 clips of 64 frames in 180
    item = ds[len(ds) - 1]
    assert item["video"].shape == (3, 64, 32, 32) and 0 <= float(item["video"].min()) <= float(item["video"].max()) <= 1
    assert item["bvp"].shape == (64,) and abs(float(item["bvp"].mean())) < 1e-4
    assert item["skin"].shape == (64, 16, 16) and set(np.unique(item["skin"].numpy())) <= {0.0, 1.0}
    assert item["target"].shape == item["video"].shape
    assert int(item["label"]) == (3 if item["group"] == "x264-250k" else 0)
    raw_only = [r for r in recs if r.group == "x264-250k"]
    with pytest.raises(EdgeRPPGError, match="no 'raw' recording"):
        ClipDataset(raw_only, SPEC, pair_group="raw")


def test_split_is_subject_independent(synth_small):
    recs = load_dataset(synth_small)
    train, val = split_subjects(recs, 0.34, seed=0)
    assert {r.subject for r in train}.isdisjoint({r.subject for r in val})
    assert len(train) + len(val) == len(recs) and len(val) == 2


def test_hr_augmentation_resamples_clip_and_pulse_together(synth_small):
    import torch

    from edgerppg.data.clips import HR_AUG_RANGE, HR_AUG_SCALE

    recs = load_dataset(synth_small)
    plain, aug = ClipDataset(recs, SPEC, pair_group="raw"), ClipDataset(recs, SPEC, pair_group="raw", hr_aug=1.0)
    torch.manual_seed(0)
    first = [aug[i] for i in range(len(aug))]
    torch.manual_seed(0)
    assert all(torch.equal(a["video"], b["video"]) for a, b in zip(first, (aug[i] for i in range(len(aug)))))
    scales = []
    for index, item in enumerate(first):
        rec = aug.recordings[aug.items[index][0]]
        s = float(item["hr_bpm"]) / rec.hr_bpm
        scales.append(s)
        assert HR_AUG_SCALE[0] - 1e-6 <= s <= HR_AUG_SCALE[1] + 1e-6
        if HR_AUG_SCALE[0] < s < HR_AUG_SCALE[1]:
            assert HR_AUG_RANGE[0] - 1e-3 <= float(item["hr_bpm"]) <= HR_AUG_RANGE[1] + 1e-3
        # the pulse is the source pulse read every s frames from some start: find that start
        frames, pulse = prepare_frames(rec, SPEC)
        span = s * (SPEC.frames - 1)
        best = max(np.corrcoef(np.interp(t0 + np.arange(SPEC.frames) * s, np.arange(len(pulse)), pulse),
                               item["bvp"].numpy())[0, 1] for t0 in np.arange(0, len(pulse) - span, 0.25))
        assert best > 0.999
        assert item["video"].shape == item["target"].shape == plain[index]["video"].shape
    assert np.std(scales) > 0.1  # really resampled, at many different rates
    # probability 0 is the plain dataset, frame for frame
    torch.manual_seed(0)
    assert all(torch.equal(plain[i]["video"], aug.with_options(hr_aug=0.0)[i]["video"]) for i in range(len(aug)))
    with pytest.raises(EdgeRPPGError, match="must be in"):
        ClipDataset(recs, SPEC, hr_aug=1.5)


def test_fundamental_target_keeps_the_heart_rate_and_drops_its_harmonics():
    from edgerppg.data.clips import fundamental
    from edgerppg.data.pulse import make_pulse
    from edgerppg.signal.hr import heart_rate, power_spectrum

    fps = 30.0
    pulse = make_pulse(np.random.default_rng(0), 20.0, fps, hr_bpm=54.0)
    f0 = pulse.mean_hr_bpm / 60.0

    def second_over_first(x):
        freqs, power = power_spectrum(x, fps, band=(0.5, 5.0))
        at = lambda hz: power[np.abs(freqs - hz) < 0.1].max()  # noqa: E731
        return at(2 * f0) / at(f0)

    base = fundamental(pulse.bvp, fps, pulse.mean_hr_bpm)
    assert second_over_first(pulse.bvp) > 0.2  # the peaky waveform has a strong second harmonic
    assert second_over_first(base) < 0.02
    assert abs(heart_rate(base, fps) - pulse.mean_hr_bpm) < 1.5
    assert np.corrcoef(base, pulse.bvp)[0, 1] > 0.7
    # without a known HR the pulse's own spectral peak is used
    np.testing.assert_allclose(fundamental(pulse.bvp, fps, None), base, atol=0.05 * np.abs(base).max())


def test_clip_dataset_target_option(synth_small):
    recs = load_dataset(synth_small, groups=["raw"])
    plain = ClipDataset(recs, SPEC)
    fund = plain.with_options(target="fundamental")
    assert torch_equal(plain[0]["video"], fund[0]["video"]) and not torch_equal(plain[0]["bvp"], fund[0]["bvp"])
    assert abs(float(fund[0]["bvp"].mean())) < 1e-4 and plain.target == "pulse"
    with pytest.raises(EdgeRPPGError, match="choose one of pulse, fundamental"):
        ClipDataset(recs, SPEC, target="sine")


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a, b))
