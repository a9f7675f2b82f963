import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from galflow_tensorrt.engine import run_in_chunks
from galflow_tensorrt.precision import DEFAULT_PRECISION, PRECISIONS, check_precision
from galflow_tensorrt.profiles import (
    DEFAULT_ENCODER_MAX_BATCH,
    BatchProfile,
    ShapeProfile,
    batch_chunks,
    default_profile,
    encoder_profile,
)


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


def test_encoder_profile_defaults_and_options():
    assert encoder_profile(64) == BatchProfile(1, 64, 64)
    # the host encodes at most 256 cutouts at a time: a larger batch size does not grow the engine
    assert encoder_profile(16384) == BatchProfile(1, DEFAULT_ENCODER_MAX_BATCH, DEFAULT_ENCODER_MAX_BATCH)
    assert encoder_profile(512, {"encoder_max_batch": 1024}) == BatchProfile(1, 1024, 1024)
    assert encoder_profile(512, {"encoder_opt_batch": 32, "encoder_min_batch": 4}) == BatchProfile(4, 32, 256)
    # the samplers' bounds are theirs alone
    assert encoder_profile(128, {"max_batch": 4096, "min_batch": 8}) == BatchProfile(1, 128, 128)
    assert BatchProfile(1, 8, 16).shapes((3, 160, 160)) == ((1, 3, 160, 160), (8, 3, 160, 160), (16, 3, 160, 160))
    assert BatchProfile(1, 8, 16).as_dict() == {"min_batch": 1, "opt_batch": 8, "max_batch": 16}


@pytest.mark.parametrize("bad", [(0, 1, 1), (2, 1, 3), (1, 5, 4)])
def test_invalid_encoder_profiles_are_refused(bad):
    with pytest.raises(ValueError, match="min <= opt <= max"):
        BatchProfile(*bad)


@given(n=st.integers(0, 60), lo=st.integers(1, 6), extra=st.integers(0, 10))
def test_encoder_batches_are_split_and_padded_to_the_profile(n, lo, extra):
    profile = BatchProfile(lo, lo, lo + extra)
    rows = torch.arange(n * 6, dtype=torch.float32).reshape(n, 1, 2, 3)
    seen = []

    def execute(batch):
        # an engine accepts only shapes inside its profile
        assert profile.min_batch <= len(batch) <= profile.max_batch
        seen.append(len(batch))
        return torch.stack([batch.flatten(1).sum(1), batch.flatten(1).amax(1)], dim=1)

    got = run_in_chunks(rows, profile, execute)
    if n == 0:
        assert got.shape == (0, 0) and not seen
        return
    expected = torch.stack([rows.flatten(1).sum(1), rows.flatten(1).amax(1)], dim=1)
    assert torch.equal(got, expected)  # padding rows dropped, order kept
    assert len(seen) == -(-n // profile.max_batch)


class _FakeConfig:
    def __init__(self):
        self.flags = {"TF32"}  # TensorRT enables TF32 by default

    def set_flag(self, flag):
        self.flags.add(flag)

    def clear_flag(self, flag):
        self.flags.discard(flag)


def _fake_trt(*flags, version="11.4.0.106"):
    from types import SimpleNamespace

    return SimpleNamespace(__version__=version, BuilderFlag=SimpleNamespace(**{f: f for f in flags}))


@pytest.mark.parametrize(("precision", "flags"), [("fp32", set()), ("tf32", {"TF32"})])
def test_fp32_and_tf32_need_only_the_tf32_flag(precision, flags):
    from galflow_tensorrt.engine import _apply_precision

    config = _FakeConfig()
    _apply_precision(_fake_trt("TF32"), config, None, precision)
    assert config.flags == flags


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_reduced_precision_refused_on_strongly_typed_tensorrt(precision):
    # TensorRT 11's BuilderFlag has TF32 but no FP16/BF16 (read from the 11.4 bindings)
    from galflow_tensorrt.engine import EngineBuildError, _apply_precision, weak_typing_supported

    trt = _fake_trt("TF32", "STRIP_PLAN")
    assert not weak_typing_supported(trt)
    assert weak_typing_supported(_fake_trt("TF32", "FP16", "BF16", version="10.15.0"))
    with pytest.raises(EngineBuildError, match=f"precision '{precision}'.*11.4.0.106.*strongly typed"):
        _apply_precision(trt, _FakeConfig(), None, precision)
