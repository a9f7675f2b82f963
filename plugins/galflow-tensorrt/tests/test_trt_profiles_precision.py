import pytest
from hypothesis import given
from hypothesis import strategies as st

from galflow_tensorrt.precision import DEFAULT_PRECISION, PRECISIONS, check_precision
from galflow_tensorrt.profiles import ShapeProfile, batch_chunks, default_profile


@st.composite
def profiles(draw):
    lo = draw(st.integers(1, 8))
    hi = draw(st.integers(lo, 64))
    return ShapeProfile(lo, draw(st.integers(lo, hi)), hi, 1, 10, 10)


@given(n=st.integers(0, 500), profile=profiles())
def test_chunks_cover_every_galaxy_once_and_fit(n, profile):
    chunks = batch_chunks(n, profile)
    covered = [i for start, stop, _ in chunks for i in range(start, stop)]
    assert covered == list(range(n))
    for start, stop, padded in chunks:
        assert profile.min_batch <= padded <= profile.max_batch
        assert padded >= stop - start


def test_profile_shapes_and_defaults():
    profile = default_profile(256, 1000, {"max_batch": 1024, "unrelated": 3})
    assert profile.max_batch == 1024 and profile.opt_batch == 256
    assert profile.shapes("context", 70) == ((1, 70), (256, 70), (1024, 70))
    assert profile.shapes("eps", 9) == ((1, 1, 9), (256, 1000, 9), (1024, 1000, 9))
    assert profile.accepts_samples(1000) and not profile.accepts_samples(1001)


@pytest.mark.parametrize("bad", [(0, 1, 1, 1, 1, 1), (2, 1, 3, 1, 1, 1), (1, 1, 1, 5, 4, 6)])
def test_invalid_profiles_are_refused(bad):
    with pytest.raises(ValueError, match="min <= opt <= max"):
        ShapeProfile(*bad)


@pytest.mark.parametrize(
    ("precision", "capability", "expected"),
    [
        (None, (7, 5), DEFAULT_PRECISION),
        ("FP16", (7, 5), "fp16"),
        ("bf16", (9, 0), "bf16"),
        ("tf32", (8, 6), "tf32"),
        ("fp32", (6, 1), "fp32"),
    ],
)
def test_precision_policy(precision, capability, expected):
    assert check_precision(precision, capability) == expected


@pytest.mark.parametrize(("precision", "capability"), [("bf16", (7, 5)), ("fp16", (6, 1)), ("int8", (9, 0))])
def test_precision_refused(precision, capability):
    with pytest.raises(ValueError, match="precision"):
        check_precision(precision, capability)


def test_default_is_fp32():
    assert DEFAULT_PRECISION == "fp32" and DEFAULT_PRECISION in PRECISIONS


def test_engine_set_builds_one_engine_per_sample_range():
    from galflow_tensorrt.backend import EngineSet

    built = []

    class FakeEngine:
        def __init__(self, profile):
            self.profile = profile
            built.append(profile)

        def __call__(self, context, eps):
            return (self.profile, eps.shape)

    class Eps:
        def __init__(self, s):
            self.shape = (3, s, 4)

    engines = EngineSet(FakeEngine, lambda s: default_profile(8, s), default_profile(8, 1000))
    assert len(built) == 1 and engines.profile.max_samples == 1000
    assert engines(None, Eps(1000))[0] is built[0]
    assert engines(None, Eps(10))[0] is built[0]  # inside the first profile: no new engine
    profile, _ = engines(None, Eps(4000))
    assert len(built) == 2 and profile.max_samples == 4000 and profile.opt_samples == 4000
    assert engines(None, Eps(3000))[0] is built[1]
    assert len(built) == 2
