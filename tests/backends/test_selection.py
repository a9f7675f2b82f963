import pluggy
import pytest
import torch

from astro_galflow import hookspecs
from astro_galflow.backends import plugin as backend_plugin
from astro_galflow.backends.base import Backend, BackendUnavailable
from astro_galflow.backends.eager import EagerBackend
from astro_galflow.backends.onnxruntime import OnnxRuntimeBackend
from astro_galflow.backends.selection import (
    BUILTIN_BACKENDS,
    builtin_backend_class,
    compile_head,
    describe_backend,
    resolve_backend,
)
from astro_galflow.config import GalflowConfig
from astro_galflow.registry import Registry

from .conftest import assert_parity


def _manager():
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    pm.register(backend_plugin, name="astro_galflow.backends.plugin")
    return pm


def test_register_backends():
    registry = Registry("backend", Backend)
    _manager().hook.galflow_register_backends(registry=registry)
    assert registry.names() == sorted(BUILTIN_BACKENDS)
    for name in registry:
        assert registry.get(name).name == name


def test_auto_on_cpu_prefers_onnxruntime(monkeypatch):
    assert resolve_backend("auto", "cpu") == "onnxruntime"
    monkeypatch.setattr(OnnxRuntimeBackend, "available", classmethod(lambda cls, device="cpu": False))
    assert resolve_backend("auto", "cpu") == "eager"


def test_auto_on_cuda_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(BackendUnavailable, match="cuda"):
        resolve_backend("auto", "cuda")


@pytest.mark.parametrize(
    ("name", "device", "match"),
    [
        ("nonsense", "cpu", "unknown backend 'nonsense'"),
        ("tensorrt", "cpu", "galflow-tensorrt"),
        ("onnxruntime", "cuda", "cannot run on device 'cuda'"),
        ("cuda-graphs", "cpu", "cannot run on device 'cpu'"),
    ],
)
def test_unusable_requests_are_explained(name, device, match):
    with pytest.raises(BackendUnavailable, match=match):
        resolve_backend(name, device)


@pytest.mark.parametrize("name", ["auto", "eager", "onnxruntime"])
def test_hook_compiles_with_config_backend(small_flow, name):
    config = GalflowConfig(backend=name, options={"backends": {"threads": 1}})
    example = small_flow.inputs(2, 3)
    compiled = _manager().hook.galflow_compile_head(
        head=small_flow.module, example_inputs=example, device="cpu", config=config
    )
    context, eps = small_flow.inputs(5, 11, seed=3)
    with torch.inference_mode():
        assert_parity(compiled(context, eps), small_flow.module(context, eps))
    info = describe_backend(config, compiled)
    assert info["requested"] == name
    assert info["name"] == resolve_backend(name, "cpu")
    assert info["versions"]["torch"] == torch.__version__


def test_plugin_hook_wins_over_default(small_flow):
    class Marker:
        @backend_plugin.hookimpl
        def galflow_compile_head(self, head, example_inputs, device, config):
            return "from plugin"

    pm = _manager()
    pm.register(Marker())
    result = pm.hook.galflow_compile_head(
        head=small_flow.module, example_inputs=small_flow.inputs(2, 2), device="cpu", config=GalflowConfig()
    )
    assert result == "from plugin"


def test_describe_without_compiled():
    info = describe_backend(GalflowConfig(backend="eager"))
    assert info == {"name": "eager", "requested": "eager", "device": "cpu", "versions": EagerBackend.versions()}
    assert describe_backend(GalflowConfig(backend="auto"))["name"] == resolve_backend("auto", "cpu")
    assert describe_backend(GalflowConfig(backend="tensorrt"))["name"] == "tensorrt"


def test_fallback_override_records_request(small_flow):
    config = GalflowConfig(backend="tensorrt")
    compiled = compile_head(small_flow.module, small_flow.inputs(2, 2), "cpu", config, backend="eager")
    assert compiled.backend_info["name"] == "eager"
    assert compiled.backend_info["requested"] == "tensorrt"
    assert builtin_backend_class("eager") is EagerBackend
