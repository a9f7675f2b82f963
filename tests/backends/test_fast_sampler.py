import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from astro_galflow.backends.fast_sampler import FastRealNVP, restructure
from astro_galflow.heads.coupling import ConditionalRealNVP

from .conftest import assert_parity


@settings(max_examples=20, deadline=None)
@given(
    dim=st.integers(2, 6),
    n_layers=st.integers(1, 5),
    n=st.integers(1, 4),
    s=st.integers(1, 30),
    seed=st.integers(0, 2**16),
)
def test_fast_flow_equals_flow(dim, n_layers, n, s, seed):
    torch.manual_seed(seed)
    flow = ConditionalRealNVP(dim, 5, n_layers=n_layers, hidden=8).eval()
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.3 * torch.randn_like(p))
    context, eps = torch.randn(n, 5), torch.randn(n, s, dim)
    fast = restructure(flow)
    assert isinstance(fast, FastRealNVP)
    with torch.inference_mode():
        assert_parity(fast(context, eps), flow(context, eps))


def test_every_sampler_kind(case):
    fast = restructure(case.module)
    context, eps = case.inputs(3, 17, seed=9)
    with torch.inference_mode():
        assert_parity(fast(context, eps), case.module(context, eps))
    n_flows = sum(isinstance(m, ConditionalRealNVP) for m in case.module.modules())
    assert sum(isinstance(m, FastRealNVP) for m in fast.modules()) == n_flows
    if n_flows == 0:
        assert fast is case.module  # nothing to restructure: no copy


def test_original_untouched():
    flow = ConditionalRealNVP(4, 3, n_layers=2, hidden=4)
    before = {k: v.clone() for k, v in flow.state_dict().items()}
    restructure(flow)
    assert all(torch.equal(before[k], v) for k, v in flow.state_dict().items())


def test_onnxruntime_option(tmp_path):
    import onnx

    from astro_galflow.backends.onnxruntime import OnnxRuntimeBackend

    torch.manual_seed(0)
    flow = ConditionalRealNVP(4, 3, n_layers=2, hidden=4).eval()
    context, eps = torch.randn(3, 3), torch.randn(3, 5, 4)
    with torch.inference_mode():
        expected = flow(context, eps)
    nodes = {}
    for restructured in (True, False):
        options = {"restructure": restructured, "threads": 1, "onnx_cache_dir": str(tmp_path / str(restructured))}
        compiled = OnnxRuntimeBackend(options).compile(flow, (torch.randn(2, 3), torch.randn(2, 2, 4)))
        assert_parity(compiled(context, eps), expected)
        (path,) = (tmp_path / str(restructured)).glob("*.onnx")
        assert ("fast" in path.name) == restructured
        nodes[restructured] = len(onnx.load(path).graph.node)
    assert nodes[True] < nodes[False]
