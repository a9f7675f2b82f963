import pluggy
import pytest
import torch

from astro_galflow import hookspecs
from astro_galflow.backends import plugin as builtin_backends
from astro_galflow.backends.base import Backend
from astro_galflow.heads.network import JointNetwork, JointSampler
from astro_galflow.params import PARAMETERS
from astro_galflow.registry import Registry
from galflow_tensorrt import plugin as trt_plugin


@pytest.fixture(scope="module")
def joint_sampler():
    """A small joint sampler (core, metallicity and lines flows) with non-trivial weights."""
    torch.manual_seed(0)
    network = JointNetwork(6, PARAMETERS, context_dim=16, n_couplings=4, flow_hidden=16)
    with torch.no_grad():
        for p in network.parameters():
            p.add_(0.1 * torch.randn_like(p))
    d = len(PARAMETERS)
    return JointSampler(network, torch.zeros(6), torch.ones(6), torch.zeros(d), torch.ones(d)).eval()


def _inputs(n, s, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 6, generator=gen), torch.randn(n, s, len(PARAMETERS), generator=gen)


@pytest.fixture
def sampler_inputs():
    """``sampler_inputs(n, s, seed=0) -> (features, eps)`` for :func:`joint_sampler`."""
    return _inputs


@pytest.fixture
def plugin_manager():
    """A plugin manager with the built-in backends and this plugin (no other entry points)."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    pm.register(builtin_backends, name="astro_galflow.backends.plugin")
    pm.register(trt_plugin, name="tensorrt")
    return pm


@pytest.fixture
def backend_registry(plugin_manager):
    """The backend registry that manager fills (built-ins and ``tensorrt``)."""
    registry = Registry("backend", Backend)
    plugin_manager.hook.galflow_register_backends(registry=registry)
    return registry
