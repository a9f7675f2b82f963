"""Tests that need TensorRT and a CUDA GPU (marker ``gpu``); skipped elsewhere."""

import pytest
import torch

from galflow_tensorrt.backend import TensorRTBackend, unavailable_reason
from galflow_tensorrt.cache import EngineCache

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(unavailable_reason("cuda") is not None, reason=str(unavailable_reason("cuda"))),
]


def _relative(a, b):
    return float((a - b).abs().max() / b.abs().max())


def test_fp32_engine_matches_eager_and_is_cached(joint_sampler, tmp_path, sampler_inputs):
    backend = TensorRTBackend({"cache_dir": str(tmp_path), "max_batch": 8}, batch_size=8, n_samples=64)
    compiled = backend.compile(joint_sampler, sampler_inputs(2, 2), "cuda")
    assert len(list(tmp_path.glob("*.engine"))) == 1
    context, eps = sampler_inputs(19, 64, seed=2)  # 19 galaxies: split 8 + 8 + 3 (padded to min 1)
    with torch.inference_mode():
        expected = joint_sampler.to("cuda")(context.cuda(), eps.cuda())
    got = compiled(context.cuda(), eps.cuda())
    assert got.device.type == "cuda"
    assert _relative(got, expected) < 1e-5
    again = backend.compile(joint_sampler, sampler_inputs(2, 2), "cuda")
    assert torch.equal(again(context.cuda(), eps.cuda()), got)


def test_corrupt_engine_rebuilt(joint_sampler, tmp_path, sampler_inputs):
    backend = TensorRTBackend({"cache_dir": str(tmp_path)}, batch_size=4, n_samples=16)
    backend.compile(joint_sampler, sampler_inputs(2, 2), "cuda")
    engine = next(tmp_path.glob("*.engine"))
    engine.write_bytes(b"garbage")
    with pytest.warns(Warning, match="discarded"):
        compiled = backend.compile(joint_sampler, sampler_inputs(2, 2), "cuda")
    context, eps = sampler_inputs(4, 16)
    assert compiled(context.cuda(), eps.cuda()).shape == (4, 16, eps.shape[-1])
    assert EngineCache(tmp_path).load(backend.engine_key(joint_sampler, compiled.profile, "cuda")) is not None


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_reduced_precision_stays_close(joint_sampler, tmp_path, precision, sampler_inputs):
    if precision == "bf16" and torch.cuda.get_device_capability() < (8, 0):
        pytest.skip("bf16 needs compute capability 8.0")
    backend = TensorRTBackend({"cache_dir": str(tmp_path), "precision": precision}, batch_size=16, n_samples=256)
    compiled = backend.compile(joint_sampler, sampler_inputs(2, 2), "cuda")
    context, eps = sampler_inputs(16, 256, seed=5)
    with torch.inference_mode():
        expected = joint_sampler.to("cuda")(context.cuda(), eps.cuda())
    got = compiled(context.cuda(), eps.cuda())
    # quantiles move by a small fraction of the posterior width
    shift = (got.quantile(0.84, dim=1) - expected.quantile(0.84, dim=1)).abs() / expected.std(dim=1)
    assert float(shift.max()) < 0.1
