"""One contract every registered posterior head must satisfy (zuko's flow tests style)."""

from __future__ import annotations

import math

import pytest
import torch

from astro_galflow.heads import plugin as heads_plugin
from astro_galflow.heads.base import PosteriorHead
from astro_galflow.model_card import load_weights, save_weights
from astro_galflow.registry import Registry

CONTEXT_DIM = 8
# The built-in heads plugin fills the registry exactly as the plugin manager would.
_HEADS = Registry("head", PosteriorHead)
heads_plugin.galflow_register_heads(registry=_HEADS)

# Every registered head with its default parameters, plus the one-parameter variants of
# the heads that take a parameter list (a 1-D flow has no coupling to condition on).
CASES = [(name, None) for name in _HEADS.names()] + [("flow", ("redshift",)), ("gaussian", ("redshift",))]


def _build(name, parameter_names):
    torch.manual_seed(0)
    head = _HEADS.get(name).build(CONTEXT_DIM, parameter_names)
    # Flows start as the identity (zero last layers); perturb every weight so the test
    # sees a non-trivial map of realistic scale.
    with torch.no_grad():
        for p in head.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return head.eval()


def _inputs(head, n=3, s=5, seed=1):
    g = torch.Generator().manual_seed(seed)
    context = torch.randn(n, CONTEXT_DIM, generator=g)
    eps = torch.randn(n, s, head.dim, generator=g)
    condition = torch.randn(n, s, head.condition_dim, generator=g) if head.condition_dim else None
    return context, eps, condition


@pytest.fixture(params=CASES, ids=lambda c: c[0] + ("" if c[1] is None else "-" + "-".join(c[1])))
def head(request):
    return _build(*request.param)


def test_every_registered_head_is_covered():
    assert {name for name, _ in CASES} == set(_HEADS.names())


def test_shapes(head):
    context, eps, condition = _inputs(head)
    samples = head(context, eps, condition)
    assert samples.shape == eps.shape
    assert torch.isfinite(samples).all()
    y = samples[:, 0]
    lp = head.log_prob(context, y, None if condition is None else condition[:, 0])
    assert lp.shape == (context.shape[0],)
    assert torch.isfinite(lp).all()
    assert len(head.parameter_names) == head.dim


def test_log_prob_matches_sampler_jacobian(head):
    """log p(y) = log N(eps) - log|det dy/deps| for y = sampler(eps): the sampler inverts the density."""
    torch.set_default_dtype(torch.float64)
    try:
        head = head.double()
        context, eps, condition = _inputs(head, n=2, s=1)
        context, eps = context.double(), eps.double()
        condition = None if condition is None else condition.double()
        for i in range(context.shape[0]):
            c = context[i : i + 1]
            k = None if condition is None else condition[i : i + 1]
            e = eps[i, 0]

            def sample(e, c=c, k=k):
                return head(c, e.view(1, 1, -1), k).view(-1)

            y = sample(e)
            jac = torch.autograd.functional.jacobian(sample, e)
            logdet = torch.linalg.slogdet(jac).logabsdet
            base = -0.5 * (e @ e + head.dim * math.log(2 * math.pi))
            lp = head.log_prob(c, y.view(1, -1), None if k is None else k[:, 0])
            assert lp.item() == pytest.approx((base - logdet).item(), abs=1e-6)
    finally:
        torch.set_default_dtype(torch.float32)


def test_samples_depend_only_on_their_own_noise(head):
    """Each sample is a function of its galaxy's context and its own eps (shared context projection)."""
    context, eps, condition = _inputs(head, s=6)
    full = head(context, eps, condition)
    part = head(context[1:], eps[1:, 2:4], None if condition is None else condition[1:, 2:4])
    torch.testing.assert_close(part, full[1:, 2:4], rtol=1e-5, atol=1e-5)


def test_seeded_reproducibility(head):
    context, _, condition = _inputs(head)

    def draw(seed):
        eps = torch.randn(3, 5, head.dim, generator=torch.Generator().manual_seed(seed))
        return head(context, eps, condition)

    torch.testing.assert_close(draw(7), draw(7), rtol=0, atol=0)
    assert not torch.allclose(draw(7), draw(8))


def test_save_load_round_trip(head, tmp_path):
    context, eps, condition = _inputs(head)
    save_weights(head, tmp_path / "head.safetensors")
    name = type(head).name
    fresh = _HEADS.get(name).build(CONTEXT_DIM, head.parameter_names if name != "metallicity" else None).eval()
    assert not torch.allclose(fresh(context, eps, condition), head(context, eps, condition))
    load_weights(fresh, tmp_path / "head.safetensors")
    torch.testing.assert_close(fresh(context, eps, condition), head(context, eps, condition), rtol=0, atol=0)
