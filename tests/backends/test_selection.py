"""Backend selection goes through the backend registry only."""

import pluggy
import pytest
import torch

from astro_galflow import hookspecs
from astro_galflow.backends import plugin as backend_plugin
from astro_galflow.backends.base import Backend, BackendUnavailable
from astro_galflow.backends.onnxruntime import OnnxRuntimeBackend
from astro_galflow.backends.selection import auto_backend, compile_with, describe_backend, resolve_backend
from astro_galflow.config import GalflowConfig
from astro_galflow.registry import Registry, RegistryError

from .conftest import assert_parity

BUILTIN = ("compile", "cuda-graphs", "eager", "onnxruntime")


def _manager():
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    pm.register(backend_plugin, name="astro_galflow.backends.plugin")
    return pm


@pytest.fixture
def registry():
    registry = Registry("backend", Backend)
    _manager().hook.galflow_register_backends(registry=registry)
    return registry


def test_register_backends(registry):
    assert registry.names() == sorted(BUILTIN)
    for name in registry:
        assert registry.get(name).name == name


def test_auto_takes_the_first_preferred_backend_that_runs(registry, monkeypatch):
    assert resolve_backend("auto", "cpu", registry).name == "onnxruntime"
    assert resolve_backend("auto", "cpu", registry, preferred=("eager", "onnxruntime")).name == "eager"
    monkeypatch.setattr(OnnxRuntimeBackend, "available", classmethod(lambda cls, device="cpu": False))
    assert resolve_backend("auto", "cpu", registry).name == "eager"
    # a name no plugin registered is skipped, not an error
    assert auto_backend(registry, "cpu", ("tensorrt", "eager")).name == "eager"


def test_auto_on_cuda_without_cuda(registry):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(BackendUnavailable, match="cuda"):
        resolve_backend("auto", "cuda", registry)


def test_unregistered_name_lists_the_registered_ones(registry):
    with pytest.raises(RegistryError, match="no backend named 'tensorrt'; registered: compile, cuda-graphs"):
        resolve_backend("tensorrt", "cpu", registry)


@pytest.mark.parametrize(("name", "device"), [("onnxruntime", "cuda"), ("cuda-graphs", "cpu")])
def test_backend_that_cannot_run_here_is_explained(registry, small_flow, name, device):
    backend = resolve_backend(name, device, registry)
    with pytest.raises(BackendUnavailable, match=f"cannot run on device '{device}'"):
        compile_with(backend, small_flow.module, small_flow.inputs(2, 2), device, GalflowConfig())


@pytest.mark.parametrize("name", ["auto", "eager", "onnxruntime"])
def test_hook_compiles_with_the_resolved_backend(registry, small_flow, name):
    config = GalflowConfig(backend=name, backend_settings={"threads": 1})
    backend = resolve_backend(name, "cpu", registry)
    compiled = _manager().hook.galflow_compile_head(
        head=small_flow.module,
        example_inputs=small_flow.inputs(2, 3),
        device="cpu",
        config=config,
        backend=backend,
        fallback=backend,
        role="sampler",
    )
    context, eps = small_flow.inputs(5, 11, seed=3)
    with torch.inference_mode():
        assert_parity(compiled(context, eps), small_flow.module(context, eps))
    info = describe_backend(config, compiled)
    assert info["requested"] == name
    assert info["name"] == backend.name
    assert info["versions"]["torch"] == torch.__version__


def test_plugin_hook_wins_over_default(registry, small_flow):
    class Marker:
        @backend_plugin.hookimpl
        def galflow_compile_head(self, head, example_inputs, device, config):
            return "from plugin"

    pm = _manager()
    pm.register(Marker())
    eager = registry.get("eager")
    result = pm.hook.galflow_compile_head(
        head=small_flow.module,
        example_inputs=small_flow.inputs(2, 2),
        device="cpu",
        config=GalflowConfig(),
        backend=eager,
        fallback=eager,
        role="sampler",
    )
    assert result == "from plugin"


def test_describe_a_plugin_sampler_without_backend_info():
    info = describe_backend(GalflowConfig(backend="eager"), object())
    assert info == {"name": "eager", "requested": "eager", "device": "cpu", "versions": {}}
