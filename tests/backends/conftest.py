from dataclasses import dataclass

import pytest
import torch

from astro_galflow.heads.ensemble import EnsembleSampler
from astro_galflow.heads.network import JointNetwork, JointSampler
from astro_galflow.params import PARAMETERS

from ._reference_flow import ReferenceRealNVP


@dataclass
class SamplerCase:
    """A ``(context, eps) -> samples`` module and the sizes of its inputs."""

    module: torch.nn.Module
    context_dim: int
    dim: int

    def inputs(self, n, s, seed=0):
        gen = torch.Generator().manual_seed(seed)
        return torch.randn(n, self.context_dim, generator=gen), torch.randn(n, s, self.dim, generator=gen)


def _jitter(module):
    # Trained-looking weights: the heads start as identity flows (zero last layers),
    # which would make parity tests blind to the flow layers.
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return module


def _joint(head, seed, features=6):
    torch.manual_seed(seed)
    network = _jitter(JointNetwork(features, PARAMETERS, head, context_dim=16, n_couplings=2, flow_hidden=16))
    d = len(PARAMETERS)
    return JointSampler(network, torch.zeros(features), torch.ones(features), torch.zeros(d), torch.ones(d)).eval()


def _build(kind):
    d = len(PARAMETERS)
    if kind == "reference-realnvp":
        torch.manual_seed(0)
        return SamplerCase(ReferenceRealNVP(dim=4, context=16, hidden=32, layers=4).eval(), 16, 4)
    if kind == "joint-flow":
        return SamplerCase(_joint("flow", 1), 6, d)
    if kind == "joint-gaussian":
        return SamplerCase(_joint("gaussian", 2), 6, d)
    return SamplerCase(EnsembleSampler([_joint("flow", 3), _joint("flow", 4)]).eval(), 6, d)


SAMPLER_KINDS = ("reference-realnvp", "joint-flow", "joint-gaussian", "ensemble")


@pytest.fixture(scope="session", params=SAMPLER_KINDS)
def case(request):
    """Every sampler shape the backends must run: the heads' joint samplers and a plain RealNVP."""
    return _build(request.param)


@pytest.fixture(scope="session")
def exported(case):
    """The ONNX export of ``case`` (exports are slow: one per sampler for the session)."""
    from astro_galflow.backends.export import export_sampler

    return export_sampler(case.module, case.inputs(3, 5))


@pytest.fixture(scope="session")
def small_flow():
    """A tiny RealNVP, for tests of the machinery around one model."""
    torch.manual_seed(5)
    return SamplerCase(ReferenceRealNVP(dim=4, context=8, hidden=8, layers=2).eval(), 8, 4)


def assert_parity(actual, expected, rtol=1e-5):
    """Equal within ``rtol`` relative to the sample scale (values near 0 have no relative precision)."""
    scale = float(expected.abs().max())
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=rtol * scale)
