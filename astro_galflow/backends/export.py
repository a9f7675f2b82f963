"""Export samplers and encoders to ONNX with the torch dynamo exporter.

A sampler is exported as ``samples = f(context, eps)`` with a dynamic batch axis on both
inputs and a dynamic sample axis on ``eps``, so one graph serves every batch size and
every ``--n-samples``; an encoder as ``latent = f(images)`` with a dynamic batch axis.
The exported graph is what ONNX Runtime runs and what the TensorRT plugin parses.

Exports are keyed by :func:`weights_hash` so that callers (the ONNX Runtime backend, the
TensorRT engine cache) can cache them on disk and know when weights changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import warnings
from pathlib import Path

__all__ = [
    "SAMPLER_INPUTS",
    "SAMPLER_OUTPUTS",
    "ENCODER_INPUTS",
    "ENCODER_OUTPUTS",
    "DEFAULT_OPSET",
    "weights_hash",
    "export_sampler",
    "export_encoder",
    "onnx_operators",
]

#: Input and output names of an exported sampler graph.
SAMPLER_INPUTS = ("context", "eps")
SAMPLER_OUTPUTS = ("samples",)
#: Input and output names of an exported encoder graph.
ENCODER_INPUTS = ("images",)
ENCODER_OUTPUTS = ("latent",)
#: ONNX opset written; TensorRT 10 parses opsets up to 20 (its ONNX parser's README).
DEFAULT_OPSET = 20


def weights_hash(module) -> str:
    """SHA-256 of a module's class, parameter/buffer names, dtypes, shapes and values.

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    str
        64 hex digits; equal for modules with identical weights and class.
    """
    import torch

    digest = hashlib.sha256()
    digest.update(f"{type(module).__module__}.{type(module).__qualname__}".encode())
    for name, tensor in sorted(module.state_dict().items()):
        tensor = tensor.detach().to("cpu").contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        # bfloat16 has no numpy dtype: hash the raw bytes through a same-size int view.
        raw = tensor.view(torch.int16) if tensor.dtype == torch.bfloat16 else tensor
        digest.update(raw.numpy().tobytes())
    return digest.hexdigest()


@contextlib.contextmanager
def _quiet_exporter():
    # The dynamo exporter emits deprecation warnings of its own dependencies and logs
    # about optional torchvision ops; none concern the user, and the test suite turns
    # warnings into errors.
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _export(module, args, dynamic_shapes, input_names, output_names, path, opset):
    import torch

    module = module.eval()
    with _quiet_exporter(), torch.no_grad():
        program = torch.onnx.export(
            module,
            tuple(args),
            dynamo=True,
            dynamic_shapes=dynamic_shapes,
            input_names=list(input_names),
            output_names=list(output_names),
            opset_version=opset,
            optimize=True,
            verbose=False,
        )
    if path is None:
        return program.model_proto.SerializeToString()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _quiet_exporter():
        program.save(str(path))
    return path


def export_sampler(sampler, example_inputs, path=None, *, opset: int = DEFAULT_OPSET):
    """Export a ``(context, eps) -> samples`` module to ONNX.

    Parameters
    ----------
    sampler : torch.nn.Module
        Pure tensor function of context ``(N, C)`` and noise ``(N, S, D)``.
    example_inputs : tuple of torch.Tensor
        ``(context, eps)`` on the CPU; any ``N >= 2`` and ``S >= 2`` (size-1 axes would be
        specialised by the exporter).
    path : str or pathlib.Path, optional
        Where to write the ``.onnx`` file; without it the serialized model is returned.
    opset : int
        ONNX opset version.

    Returns
    -------
    bytes or pathlib.Path
    """
    import torch

    context, eps = example_inputs
    batch = torch.export.Dim("batch")
    samples = torch.export.Dim("samples")
    return _export(
        sampler,
        (context, eps),
        ({0: batch}, {0: batch, 1: samples}),
        SAMPLER_INPUTS,
        SAMPLER_OUTPUTS,
        path,
        opset,
    )


def export_encoder(encoder, example_images, path=None, *, opset: int = DEFAULT_OPSET):
    """Export an image encoder ``images (N, 3, H, W) -> latent (N, L)`` to ONNX.

    Parameters
    ----------
    encoder : torch.nn.Module
        Deterministic at inference (e.g. a VAE encoder returning its mean).
    example_images : torch.Tensor
        ``(N, 3, H, W)`` with ``N >= 2``.
    path : str or pathlib.Path, optional
        Where to write the ``.onnx`` file; without it the serialized model is returned.
    opset : int
        ONNX opset version.

    Returns
    -------
    bytes or pathlib.Path
    """
    import torch

    batch = torch.export.Dim("batch")
    return _export(encoder, (example_images,), ({0: batch},), ENCODER_INPUTS, ENCODER_OUTPUTS, path, opset)


def onnx_operators(model) -> set[tuple[str, str]]:
    """``(domain, op_type)`` of every node of an ONNX model, subgraphs and functions included.

    Parameters
    ----------
    model : bytes, str, pathlib.Path or onnx.ModelProto

    Returns
    -------
    set of tuple of str
        Domain ``""`` is the default ONNX domain.
    """
    import onnx

    if isinstance(model, bytes):
        model = onnx.load_from_string(model)
    elif not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model))
    found: set[tuple[str, str]] = set()

    def visit(graph):
        for node in graph.node:
            found.add((node.domain, node.op_type))
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    visit(attr.g)
                for sub in attr.graphs:
                    visit(sub)

    visit(model.graph)
    for function in model.functions:
        for node in function.node:
            found.add((node.domain, node.op_type))
    return found
