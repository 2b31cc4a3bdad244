import pytest


@pytest.fixture(scope="session")
def synth_small(tmp_path_factory):
    """3 subjects x 6 s at 64 px, raw and x264 250k (shared by the data tests)."""
    from edgerppg.data.synth import synthesize

    out = tmp_path_factory.mktemp("synth") / "ds"
    synthesize(out, subjects=3, seconds=6, size=64, codecs=["raw", "x264"], bitrates=["250k"], seed=3)
    return out
