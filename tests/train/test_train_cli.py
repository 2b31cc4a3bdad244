"""`edgerppg train`: bad inputs end in one line and exit code 2 (no traceback)."""

import pytest

from edgerppg.cli.main import main
from edgerppg.models import create_model, save_checkpoint


def _run(capsys, *argv):
    with pytest.raises(SystemExit) as exc:
        main(["train", *map(str, argv)])
    err = capsys.readouterr().err
    return exc.value.code, " ".join(err.split())


def test_missing_data_directory(tmp_path, capsys):
    code, err = _run(capsys, "rppgnet", "--data", tmp_path / "nope", "--out", tmp_path / "m.safetensors")
    assert code == 2 and "no such data directory" in err and "Traceback" not in err


def test_checkpoint_of_the_wrong_model(tmp_path, capsys):
    ckpt = tmp_path / "r.safetensors"
    save_checkpoint(ckpt, create_model("rppgnet", "tiny"))
    code, err = _run(capsys, "stven", "--data", tmp_path, "--out", tmp_path / "s.safetensors", "--init", ckpt)
    assert code == 2 and "rppgnet" in err and "stven" in err
    code, err = _run(capsys, "joint", "--data", tmp_path, "--out", tmp_path / "j.safetensors", "--init", ckpt,
                     "--stven", ckpt)
    assert code == 2 and "stven" in err


def test_joint_needs_init_and_variant_must_match(tmp_path, capsys):
    code, err = _run(capsys, "joint", "--data", tmp_path, "--out", tmp_path / "j.safetensors")
    assert code == 2 and "--init" in err
    ckpt = tmp_path / "r.safetensors"
    save_checkpoint(ckpt, create_model("rppgnet", "tiny"))
    code, err = _run(capsys, "rppgnet", "--data", tmp_path, "--out", tmp_path / "m.safetensors", "--init", ckpt,
                     "--variant", "small")
    assert code == 2 and "variant 'tiny'" in err


def test_truncated_checkpoint(tmp_path, capsys):
    ckpt = tmp_path / "r.safetensors"
    save_checkpoint(ckpt, create_model("rppgnet", "tiny"))
    ckpt.write_bytes(ckpt.read_bytes()[:-100])
    code, err = _run(capsys, "rppgnet", "--data", tmp_path, "--out", tmp_path / "m.safetensors", "--init", ckpt)
    assert code == 2 and "truncated" in err


def test_training_repeats_across_processes(tmp_path):
    """Two `edgerppg train` processes with the same seed write the same weights (the model is built after
    seeding: its initial weights came from an unseeded generator before)."""
    import subprocess
    import sys

    from edgerppg.data.synth import synthesize

    data = tmp_path / "d"
    synthesize(data, subjects=3, seconds=5, size=32, codecs=["raw"], seed=2)
    outs = []
    for i in range(2):
        out = tmp_path / f"m{i}.safetensors"
        subprocess.run([sys.executable, "-m", "edgerppg", "--quiet", "train", "rppgnet", "--data", str(data),
                        "--out", str(out), "--variant", "tiny", "--epochs", "1", "--batch", "2", "--no-resume"],
                       check=True, capture_output=True)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


@pytest.mark.slow
def test_resume_refuses_a_state_of_other_data(tmp_path, capsys):
    """A re-run on the same --out resumes only the same data: other data is one line, not the old run's result."""
    from edgerppg.data.synth import synthesize

    for name, seed in (("a", 1), ("b", 2)):
        synthesize(tmp_path / name, subjects=2, seconds=3, size=32, codecs=["raw"], seed=seed)
    out = tmp_path / "m.safetensors"
    code, err = _run(capsys, "rppgnet", "--data", tmp_path / "a", "--out", out, "--epochs", "1", "--batch", "2",
                     "--val-fraction", "0.5")
    assert code == 0, err
    before = out.read_bytes()
    code, err = _run(capsys, "rppgnet", "--data", tmp_path / "b", "--out", out, "--epochs", "2", "--batch", "2",
                     "--val-fraction", "0.5")
    assert code == 2 and "other inputs (data differ)" in err and "--no-resume" in err
    assert out.read_bytes() == before
