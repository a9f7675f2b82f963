import pytest
import torch

from astro_galflow.backends.encoder import EncoderFeatures
from astro_galflow.backends.export import export_encoder, export_sampler
from astro_galflow.encoders.vae import ImageVAE
from galflow_tensorrt.ops import TENSORRT_MAX_OPSET, TENSORRT_ONNX_OPS, unsupported_operators


def test_exported_sampler_is_parseable(joint_sampler, sampler_inputs):
    assert unsupported_operators(export_sampler(joint_sampler, sampler_inputs(2, 3))) == set()


def test_exported_vae_encoder_is_parseable():
    vae = ImageVAE(3, 4, (4, 4, 4)).eval()
    model = export_encoder(EncoderFeatures(vae), torch.zeros(2, 3, 160, 160))
    assert unsupported_operators(model) == set()


def test_check_catches_unsupported_ops_and_opsets():
    import onnx
    from onnx import helper

    node = helper.make_node("Unique", ["x"], ["y"])
    custom = helper.make_node("FusedMatMul", ["x", "x"], ["z"], domain="com.microsoft")
    graph = helper.make_graph(
        [node, custom],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [None])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", TENSORRT_MAX_OPSET + 1)])
    assert unsupported_operators(model) == {"Unique", "com.microsoft:FusedMatMul", f"opset>{TENSORRT_MAX_OPSET}"}


@pytest.mark.parametrize("op", ["MatMul", "Gemm", "Exp", "Tanh", "Sigmoid", "Sinh", "Asinh", "Conv", "LeakyRelu"])
def test_flow_and_vae_ops_listed(op):
    assert op in TENSORRT_ONNX_OPS
