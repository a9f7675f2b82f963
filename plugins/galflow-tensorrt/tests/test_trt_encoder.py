"""The image encoder on the CPU: the graph TensorRT parses, and the hook's fallback for role "encoder".

No TensorRT here: what the engine will be built from (the ONNX export of the shipped
sim-default encoder, dynamic batch axis) is checked through ONNX Runtime and the
operator table, and the hook's fallback is checked against eager torch.
"""

import json

import pytest
import torch

from astro_galflow.backends.base import BackendUnavailable
from astro_galflow.backends.export import ENCODER_INPUTS, ENCODER_OUTPUTS, export_encoder
from astro_galflow.backends.selection import compile_with
from astro_galflow.config import GalflowConfig
from astro_galflow.models import load_model
from galflow_tensorrt import plugin as trt_plugin
from galflow_tensorrt.backend import TensorRTBackend
from galflow_tensorrt.ops import TENSORRT_MAX_OPSET, unsupported_operators
from galflow_tensorrt.plugin import TensorRTFallbackWarning


@pytest.fixture(scope="module")
def encoder():
    """The shipped sim-default image encoder (cutouts -> [mu, sigma]), as the run compiles it."""
    return load_model("sim-default").image_encoder()


@pytest.fixture(scope="module")
def exported(encoder):
    """Its ONNX export, traced the way the plugin traces it (two zero cutouts)."""
    return export_encoder(encoder, torch.zeros(2, 3, 160, 160))


def _cutouts(encoder, n, seed):
    gen = torch.Generator().manual_seed(seed)
    return encoder.softening * torch.randn((n, 3, 160, 160), generator=gen)


def _relative(a, b):
    return float((a - b).abs().max() / b.abs().max())


def test_export_has_a_dynamic_batch_axis_only(exported):
    import onnx

    graph = onnx.load_from_string(exported).graph
    (images,) = graph.input
    (latent,) = graph.output
    assert (images.name, latent.name) == (ENCODER_INPUTS[0], ENCODER_OUTPUTS[0])
    dims = images.type.tensor_type.shape.dim
    # axis 0 symbolic (the profile's range applies), the cutout shape fixed
    assert dims[0].dim_param and not dims[0].HasField("dim_value")
    assert [d.dim_value for d in dims[1:]] == [3, 160, 160]
    out = latent.type.tensor_type.shape.dim
    assert out[0].dim_param and out[1].dim_value == 64


@pytest.mark.parametrize("n", [1, 3, 9])
def test_export_matches_torch_through_onnxruntime(encoder, exported, n):
    import onnxruntime as ort

    session = ort.InferenceSession(exported, providers=["CPUExecutionProvider"])
    cutouts = _cutouts(encoder, n, seed=n)
    (got,) = session.run(None, {ENCODER_INPUTS[0]: cutouts.numpy()})
    with torch.inference_mode():
        expected = encoder(cutouts)
    assert got.shape == (n, 64)
    assert _relative(torch.from_numpy(got), expected) < 1e-4


def test_exported_encoder_has_only_parseable_operators(exported):
    import onnx

    assert unsupported_operators(exported) == set()
    opsets = {o.domain: o.version for o in onnx.load_from_string(exported).opset_import}
    assert opsets.get("", opsets.get("ai.onnx")) <= TENSORRT_MAX_OPSET


def test_hook_falls_back_for_the_encoder_with_warning(encoder, plugin_manager, backend_registry):
    config = GalflowConfig(backend="tensorrt", backend_settings={"threads": 1})
    registry = backend_registry
    with pytest.warns(TensorRTFallbackWarning, match="falling back to backend 'onnxruntime'"):
        compiled = plugin_manager.hook.galflow_compile_head(
            head=encoder,
            example_inputs=encoder.example_inputs(batch_size=4),
            device="cpu",
            config=config,
            backend=registry.get("tensorrt"),
            fallback=registry.get("onnxruntime"),
            role="encoder",
        )
    assert compiled.backend_info["name"] == "onnxruntime"
    assert compiled.backend_info["requested"] == "tensorrt"
    direct = compile_with(
        registry.get("onnxruntime"), encoder, encoder.example_inputs(4), "cpu", config, role="encoder"
    )
    cutouts = _cutouts(encoder, 5, seed=7)
    with torch.inference_mode():
        expected = encoder(cutouts)
    got = compiled(cutouts)
    assert torch.equal(got, direct(cutouts))  # the same latents as the fallback itself
    assert _relative(got, expected) < 1e-4


def test_hook_leaves_other_backends_encoders_alone(encoder, backend_registry):
    registry = backend_registry
    config = GalflowConfig(backend="eager")
    eager = registry.get("eager")
    example = encoder.example_inputs(2)
    assert trt_plugin.galflow_compile_head(encoder, example, "cpu", config, eager, eager, "encoder") is None


def test_compile_encoder_needs_cuda(encoder):
    with pytest.raises(BackendUnavailable, match="CUDA devices"):
        TensorRTBackend().compile_encoder(encoder, encoder.example_inputs(2), "cpu")


def test_compile_encoder_builds_once_then_loads_from_the_cache(encoder, tmp_path, monkeypatch):
    # TensorRT itself replaced by stand-ins: what is exported, the profile and shape the
    # builder gets, and that a second compile loads the cached engine instead of building
    import onnx

    import galflow_tensorrt.backend as backend_module
    import galflow_tensorrt.engine as engine_module
    from astro_galflow.backends.export import weights_hash
    from galflow_tensorrt.cache import EngineKey
    from galflow_tensorrt.profiles import BatchProfile

    def engine_key(self, module, profile, device, *, role, input_shape, variant):
        return EngineKey(
            weights_hash(module), "stand-in GPU", (9, 0), "0", profile.as_dict(), "fp32", role, input_shape, variant
        )

    builds = []

    def build_encoder_engine(onnx_model, profile, image_shape, precision, workspace_bytes):
        builds.append((onnx_model, profile, image_shape, precision))
        return b"engine %d" % len(builds)

    class StandInEngine:
        def __init__(self, blob, profile, device):
            self.blob, self.profile = blob, profile

    monkeypatch.setattr(backend_module, "unavailable_reason", lambda device: None)
    monkeypatch.setattr(TensorRTBackend, "engine_key", engine_key)
    monkeypatch.setattr(engine_module, "build_encoder_engine", build_encoder_engine)
    monkeypatch.setattr(engine_module, "TensorRTEncoder", StandInEngine)

    backend = TensorRTBackend({"cache_dir": str(tmp_path), "encoder_max_batch": 32}, batch_size=512)
    first = backend.compile_encoder(encoder, encoder.example_inputs(4), "cuda")
    ((graph, profile, image_shape, precision),) = builds
    assert (profile, image_shape, precision) == (BatchProfile(1, 32, 32), (3, 160, 160), "fp32")
    assert onnx.load_from_string(graph).graph.input[0].type.tensor_type.shape.dim[0].dim_param
    assert unsupported_operators(graph) == set()
    second = backend.compile_encoder(encoder, encoder.example_inputs(4), "cuda")
    assert len(builds) == 1 and second.blob == first.blob == b"engine 1"
    (sidecar,) = tmp_path.glob("*.json")
    key = json.loads(sidecar.read_text())["key"]
    assert (key["role"], key["input_shape"], key["variant"]) == ("encoder", [3, 160, 160], "softening=0.02")
