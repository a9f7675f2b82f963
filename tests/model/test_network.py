"""The joint network: chain rule sampling, partial labels, standardisation, ensembles."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from astro_galflow.heads.ensemble import EnsembleSampler, member_blocks, uncertainty_decomposition
from astro_galflow.heads.network import JointNetwork, JointSampler, ordered_parameters
from astro_galflow.params import PARAMETERS


def _perturbed(network):
    with torch.no_grad():
        for p in network.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return network.eval()


def test_ordered_parameters_is_canonical_and_rejects_unknown():
    assert ordered_parameters(["flux_hbeta", "redshift", "oh_12"]) == ("redshift", "oh_12", "flux_hbeta")
    with pytest.raises(ValueError, match="log_mass"):
        ordered_parameters(["log_mass"])


@pytest.mark.parametrize("head", ["flow", "gaussian"])
def test_full_network_shapes_and_loss_with_missing_labels(head):
    torch.manual_seed(0)
    net = JointNetwork(9, PARAMETERS, head, context_dim=16, n_couplings=2, flow_hidden=8)
    x = torch.randn(6, 9)
    eps = torch.randn(6, 4, len(PARAMETERS))
    assert net(x, eps).shape == (6, 4, len(PARAMETERS))
    y = torch.randn(6, len(PARAMETERS))
    y[0, :] = float("nan")
    y[1, 4] = float("nan")
    detectable = torch.tensor([1.0, 0.0, 1.0, float("nan"), 1.0, 0.0])
    loss = net.loss(x, y, detectable)
    assert torch.isfinite(loss)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


def test_metallicity_samples_are_conditioned_on_sampled_core_values():
    """Changing only the core noise changes the O/H draw: p(O/H | y_core, x) with sampled y_core."""
    torch.manual_seed(1)
    net = _perturbed(JointNetwork(5, ["log_mstar", "redshift", "oh_12"], context_dim=16, n_couplings=2, flow_hidden=8))
    x = torch.randn(3, 5)
    eps = torch.randn(3, 4, 3)
    other = eps.clone()
    other[..., :2] = torch.randn(3, 4, 2)
    with torch.no_grad():
        a, b = net(x, eps), net(x, other)
    assert not torch.allclose(a[..., 2], b[..., 2])
    assert net.metallicity.condition_dim == 2


def test_sampler_unstandardises_targets():
    torch.manual_seed(2)
    net = JointNetwork(3, ["redshift"], "gaussian", context_dim=8)
    sampler = JointSampler(net, [1.0, 2.0, 3.0], [2.0, 2.0, 2.0], [0.1], [0.05]).eval()
    features, eps = sampler.example_inputs(4, 7)
    with torch.no_grad():
        out = sampler(features, eps)
        standard = net(sampler.standardise(features), eps)
    torch.testing.assert_close(out, standard * 0.05 + 0.1)


def test_detectability_only_with_metallicity():
    net = JointNetwork(3, ["redshift"], context_dim=8)
    assert net.detectable_probability(torch.zeros(2, 3)) is None
    net = JointNetwork(3, ["redshift", "oh_12"], context_dim=8)
    p = net.detectable_probability(torch.zeros(2, 3))
    assert p.shape == (2,) and ((p > 0) & (p < 1)).all()


@given(st.integers(1, 500), st.integers(1, 7))
def test_member_blocks_partition_the_samples(n_samples, n_members):
    blocks = member_blocks(n_samples, n_members)
    assert len(blocks) == n_members and blocks[0][0] == 0 and blocks[-1][1] == n_samples
    sizes = [b - a for a, b in blocks]
    assert max(sizes) - min(sizes) <= 1
    assert all(blocks[k][1] == blocks[k + 1][0] for k in range(n_members - 1))


@settings(max_examples=25)
@given(st.integers(2, 5), st.integers(0, 2**31 - 1))
def test_uncertainty_decomposition_is_the_law_of_total_variance(n_members, seed):
    rng = np.random.default_rng(seed)
    samples = rng.normal(rng.normal(0, 1, (4, 1)), 1.0, (4, 60 * n_members))
    ale, epi = uncertainty_decomposition(samples, n_members)
    np.testing.assert_allclose(ale**2 + epi**2, samples.var(axis=1), rtol=1e-10)


def test_ensemble_sampler_routes_blocks_to_members():
    torch.manual_seed(3)
    members = [
        JointSampler(
            _perturbed(JointNetwork(3, ["redshift"], "gaussian", context_dim=8)), [0.0] * 3, [1.0] * 3, [0.0], [1.0]
        )
        for _ in range(2)
    ]
    ens = EnsembleSampler(members).eval()
    features, eps = ens.example_inputs(2, 5)
    with torch.no_grad():
        out = ens(features, eps)
        torch.testing.assert_close(out[:, :2], members[0](features, eps[:, :2]))
        torch.testing.assert_close(out[:, 2:], members[1](features, eps[:, 2:]))
