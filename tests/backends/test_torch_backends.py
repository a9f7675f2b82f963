import pytest
import torch

from astro_galflow.backends.base import BackendUnavailable
from astro_galflow.backends.compiled import CompileBackend
from astro_galflow.backends.cudagraphs import CudaGraphsBackend
from astro_galflow.backends.eager import EagerBackend

from .conftest import assert_parity


def test_eager_is_the_module(small_flow):
    compiled = EagerBackend().compile(small_flow.module, small_flow.inputs(2, 2))
    context, eps = small_flow.inputs(3, 5)
    with torch.inference_mode():
        expected = small_flow.module(context, eps)
    assert torch.equal(compiled(context, eps), expected)


@pytest.mark.slow
@pytest.mark.skipif(not CompileBackend.available("cpu"), reason="torch.compile needs a C++ compiler on the CPU")
def test_torch_compile_parity(small_flow):
    compiled = CompileBackend().compile(small_flow.module, small_flow.inputs(2, 2))
    for n, s in [(3, 5), (4, 9)]:
        context, eps = small_flow.inputs(n, s, seed=n)
        with torch.inference_mode():
            assert_parity(compiled(context, eps), small_flow.module(context, eps))


def test_cuda_graphs_refuse_cpu(small_flow):
    assert not CudaGraphsBackend.available("cpu")
    with pytest.raises(BackendUnavailable, match="CUDA"):
        CudaGraphsBackend().compile(small_flow.module, small_flow.inputs(2, 2), device="cpu")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_graphs_parity_and_replay(small_flow):
    module = small_flow.module.to("cuda")
    compiled = CudaGraphsBackend().compile(module, small_flow.inputs(2, 2), device="cuda")
    for seed in range(2):  # the second call replays the captured graph with new inputs
        context, eps = small_flow.inputs(6, 50, seed=seed)
        with torch.inference_mode():
            expected = module(context.cuda(), eps.cuda())
        assert_parity(compiled(context, eps), expected)
    assert len(compiled._graphs) == 1
    small_flow.module.to("cpu")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_graphs_mixed_inference_mode(small_flow):
    # Captured inside inference mode, replayed outside it and inside again (the GPU
    # benchmark's call pattern, which once raised on copying into the static inputs).
    module = small_flow.module.to("cuda")
    compiled = CudaGraphsBackend().compile(module, small_flow.inputs(2, 2), device="cuda")
    context, eps = small_flow.inputs(4, 30, seed=3)
    with torch.inference_mode():
        first = compiled(context, eps)
        expected = module(context.cuda(), eps.cuda())
    second = compiled(context, eps)
    with torch.inference_mode():
        third = compiled(context, eps)
    for out in (first, second, third):
        assert_parity(out, expected)
    small_flow.module.to("cpu")
