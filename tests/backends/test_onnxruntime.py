import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from astro_galflow.backends import export as export_module
from astro_galflow.backends.base import BackendUnavailable
from astro_galflow.backends.onnxruntime import OnnxRuntimeBackend, OnnxRuntimeSampler

from .conftest import assert_parity


@pytest.fixture(scope="module")
def ort_sampler(exported):
    return OnnxRuntimeSampler(exported, threads=1)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 9), s=st.integers(1, 40), rows=st.integers(1, 100))
def test_chunked_calls_match_eager(case, ort_sampler, n, s, rows):
    context, eps = case.inputs(n, s, seed=n * 100 + s)
    ort_sampler.rows_per_call = rows
    with torch.inference_mode():
        expected = case.module(context, eps)
        # the pipeline calls samplers under inference mode
        got = ort_sampler(context, eps)
    assert got.shape == (n, s, case.dim) and got.dtype == torch.float32
    assert_parity(got, expected)


def test_same_noise_same_samples(case, ort_sampler):
    context, eps = case.inputs(4, 16)
    assert torch.equal(ort_sampler(context, eps), ort_sampler(context, eps))


def test_export_cache_is_reused(small_flow, tmp_path, monkeypatch):
    backend = OnnxRuntimeBackend({"onnx_cache_dir": str(tmp_path), "threads": 1})
    first = backend.compile(small_flow.module, small_flow.inputs(2, 2))
    assert len(list(tmp_path.glob("sampler-*.onnx"))) == 1

    def refuse(*args, **kwargs):
        raise AssertionError("exported again although the cache holds this model")

    monkeypatch.setattr(export_module, "export_sampler", refuse)
    second = backend.compile(small_flow.module, small_flow.inputs(2, 2))
    context, eps = small_flow.inputs(3, 7)
    assert torch.equal(first(context, eps), second(context, eps))


def test_corrupt_cached_export_is_replaced(small_flow, tmp_path):
    from astro_galflow.exceptions import GalflowWarning

    backend = OnnxRuntimeBackend({"onnx_cache_dir": str(tmp_path), "threads": 1})
    backend.compile(small_flow.module, small_flow.inputs(2, 2))
    (path,) = tmp_path.glob("sampler-*.onnx")
    path.write_bytes(b"not an onnx model")
    with pytest.warns(GalflowWarning, match="discarded the cached export .*recorded"):
        compiled = backend.compile(small_flow.module, small_flow.inputs(2, 2))
    context, eps = small_flow.inputs(3, 4)
    with torch.inference_mode():
        assert_parity(compiled(context, eps), small_flow.module(context, eps))
    assert path.stat().st_size > 100


def test_refuses_cuda():
    with pytest.raises(BackendUnavailable, match="onnxruntime"):
        OnnxRuntimeBackend().compile(None, None, device="cuda")


def test_versions():
    versions = OnnxRuntimeBackend.versions()
    assert set(versions) == {"onnxruntime", "onnx", "torch"}
    assert all(versions.values())


def test_sampler_threads_feed_one_threaded_calls(case, exported):
    # cores are used by data parallelism: each ORT call runs on its caller's thread
    sampler = OnnxRuntimeSampler(exported, threads=2, rows_per_call=8)
    assert sampler.session.get_session_options().intra_op_num_threads == 1
    single = OnnxRuntimeSampler(exported, threads=1, rows_per_call=8)
    context, eps = case.inputs(7, 5)
    # chunks depend on rows_per_call alone, so the thread count cannot change a sample
    assert torch.equal(sampler(context, eps), single(context, eps))


def test_rows_per_call_counts_per_ensemble_member(exported):
    sampler = OnnxRuntimeSampler(exported, rows_per_call=4096, groups=3)
    assert sampler.galaxies_per_call(1000) == 12
    assert OnnxRuntimeSampler(exported, rows_per_call=4096).galaxies_per_call(1000) == 4
    assert sampler.galaxies_per_call(100_000) == 1


def test_backend_counts_ensemble_members(small_flow, tmp_path):
    from astro_galflow.heads.ensemble import EnsembleSampler

    ensemble = EnsembleSampler([small_flow.module, small_flow.module]).eval()
    compiled = OnnxRuntimeBackend({"onnx_cache_dir": str(tmp_path), "threads": 2}).compile(
        ensemble, small_flow.inputs(2, 4)
    )
    assert compiled.groups == 2
    context, eps = small_flow.inputs(5, 6)
    with torch.inference_mode():
        assert_parity(compiled(context, eps), ensemble(context, eps))


def test_available_does_not_import_the_exporter():
    # a run with cached exports never exports: it must not pay for importing onnxscript
    import subprocess
    import sys

    code = (
        "import sys; from astro_galflow.backends.onnxruntime import OnnxRuntimeBackend as B; "
        "assert B.available('cpu'); assert 'onnxscript' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
