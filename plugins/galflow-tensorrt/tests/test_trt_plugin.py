from importlib import metadata

import pytest
import torch

from astro_galflow.config import GalflowConfig
from astro_galflow.plugins import ENTRY_POINT_GROUP
from galflow_tensorrt import plugin as trt_plugin
from galflow_tensorrt.backend import TensorRTBackend, unavailable_reason
from galflow_tensorrt.plugin import TensorRTFallbackWarning


def test_entry_point_is_installed():
    names = {ep.name: ep.value for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert names.get("tensorrt") == "galflow_tensorrt.plugin"


def test_registers_tensorrt_backend(backend_registry):
    assert backend_registry.get("tensorrt") is TensorRTBackend
    assert "onnxruntime" in backend_registry


@pytest.mark.parametrize("backend", ["eager", "onnxruntime"])
def test_answers_only_for_tensorrt(joint_sampler, backend, sampler_inputs, backend_registry):
    config = GalflowConfig(backend=backend)
    cls = backend_registry.get(backend)
    answer = trt_plugin.galflow_compile_head(joint_sampler, sampler_inputs(2, 2), "cpu", config, cls, cls, "sampler")
    assert answer is None


def test_falls_back_with_warning_on_cpu(joint_sampler, sampler_inputs, plugin_manager, backend_registry):
    config = GalflowConfig(backend="tensorrt", backend_settings={"threads": 1})
    registry = backend_registry
    with pytest.warns(TensorRTFallbackWarning, match="falling back to backend 'onnxruntime'"):
        compiled = plugin_manager.hook.galflow_compile_head(
            head=joint_sampler,
            example_inputs=sampler_inputs(2, 3),
            device="cpu",
            config=config,
            backend=registry.get("tensorrt"),
            fallback=registry.get("onnxruntime"),
            role="sampler",
        )
    assert compiled.backend_info["name"] == "onnxruntime"
    assert compiled.backend_info["requested"] == "tensorrt"
    context, eps = sampler_inputs(5, 7, seed=1)
    with torch.inference_mode():
        expected = joint_sampler(context, eps)
    torch.testing.assert_close(compiled(context, eps), expected, rtol=1e-5, atol=1e-5 * float(expected.abs().max()))


def test_unavailable_reasons():
    assert "CUDA devices" in unavailable_reason("cpu")
    assert not TensorRTBackend.available("cpu")
    assert "torch" in TensorRTBackend.versions()
