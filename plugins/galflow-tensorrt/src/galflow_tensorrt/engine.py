"""Build TensorRT engines from exported ONNX samplers and run them on torch CUDA tensors.

Written against the TensorRT 10 Python API (``tensorrt.Builder``, ``OnnxParser``,
``IExecutionContext.execute_async_v3``) as documented by NVIDIA; it needs TensorRT and a
CUDA GPU, so it is exercised only by the tests marked ``gpu``.
"""

from __future__ import annotations

from astro_galflow.backends.export import SAMPLER_INPUTS, SAMPLER_OUTPUTS
from galflow_tensorrt.profiles import ShapeProfile, batch_chunks

__all__ = ["EngineBuildError", "build_engine", "TensorRTSampler"]

#: Builder workspace limit: the flows' layers need far less; this caps tactic search.
DEFAULT_WORKSPACE_BYTES = 1 << 30


class EngineBuildError(RuntimeError):
    """TensorRT could not parse the ONNX graph or build an engine from it."""


def _logger():
    import tensorrt as trt

    return trt.Logger(trt.Logger.WARNING)


def _pin_transcendentals_to_fp32(network) -> None:
    import tensorrt as trt

    keep = {trt.UnaryOperation.EXP, trt.UnaryOperation.SINH, trt.UnaryOperation.ASINH, trt.UnaryOperation.LOG}
    for index in range(network.num_layers):
        layer = network.get_layer(index)
        if layer.type != trt.LayerType.UNARY:
            continue
        # The Python bindings return the base ILayer; TensorRT's samples cast it this way.
        layer.__class__ = trt.IUnaryLayer
        if layer.op in keep:
            layer.precision = trt.float32
            layer.set_output_type(0, trt.float32)


def build_engine(
    onnx_model: bytes,
    profile: ShapeProfile,
    feature_dims: dict[str, int],
    precision: str = "fp32",
    workspace_bytes: int = DEFAULT_WORKSPACE_BYTES,
) -> bytes:
    """Serialized engine for an exported sampler.

    Parameters
    ----------
    onnx_model : bytes
        From :func:`astro_galflow.backends.export.export_sampler`.
    profile : ShapeProfile
        Batch and sample ranges.
    feature_dims : dict
        Last-axis size of each input, ``{"context": C, "eps": D}``.
    precision : {"fp32", "tf32", "fp16", "bf16"}
        Checked beforehand with :func:`galflow_tensorrt.precision.check_precision`.
    workspace_bytes : int
        Builder workspace memory-pool limit.

    Raises
    ------
    EngineBuildError
        With the parser's messages when the graph cannot be parsed, or when the build fails.
    """
    import tensorrt as trt

    logger = _logger()
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_model):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EngineBuildError(f"TensorRT's ONNX parser rejected the sampler graph: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_bytes))
    optimisation = builder.create_optimization_profile()
    for name in SAMPLER_INPUTS:
        optimisation.set_shape(name, *profile.shapes(name, feature_dims[name]))
    config.add_optimization_profile(optimisation)
    if precision == "fp32":
        config.clear_flag(trt.BuilderFlag.TF32)
    else:
        if precision == "fp16":
            config.set_flag(trt.BuilderFlag.FP16)
        elif precision == "bf16":
            config.set_flag(trt.BuilderFlag.BF16)
        if precision in ("fp16", "bf16"):
            config.set_flag(trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS)
            _pin_transcendentals_to_fp32(network)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EngineBuildError("TensorRT failed to build the sampler engine (see the TensorRT log above)")
    return bytes(serialized)


class TensorRTSampler:
    """Callable ``(context, eps) -> samples`` running a TensorRT engine on torch CUDA tensors.

    Inputs and outputs are torch tensors on the engine's device; the engine is enqueued on
    torch's current CUDA stream, so it orders correctly with surrounding torch work.

    Parameters
    ----------
    engine_bytes : bytes
        A serialized engine for this GPU and TensorRT version.
    profile : ShapeProfile
        The profile it was built with (batches are split/padded to fit).
    device : str
        CUDA device.

    Raises
    ------
    EngineBuildError
        If TensorRT cannot deserialize the engine (another GPU or TensorRT version).
    """

    def __init__(self, engine_bytes: bytes, profile: ShapeProfile, device: str = "cuda"):
        import tensorrt as trt

        self._runtime = trt.Runtime(_logger())
        self.engine = self._runtime.deserialize_cuda_engine(engine_bytes)
        if self.engine is None:
            raise EngineBuildError("TensorRT could not deserialize the cached engine")
        self.context = self.engine.create_execution_context()
        self.profile = profile
        self.device = device

    def __call__(self, context, eps):
        import torch

        context = context.to(self.device, torch.float32).contiguous()
        eps = eps.to(self.device, torch.float32).contiguous()
        n, s, d = eps.shape
        if not self.profile.accepts_samples(s):
            raise ValueError(f"{s} samples lie outside this engine's profile {self.profile}")
        out = torch.empty((n, s, d), device=self.device, dtype=torch.float32)
        stream = torch.cuda.current_stream(self.device)
        for start, stop, padded in batch_chunks(n, self.profile):
            rows = stop - start
            c, e = context[start:stop], eps[start:stop]
            if padded > rows:
                c = torch.cat([c, c.new_zeros((padded - rows, c.shape[1]))])
                e = torch.cat([e, e.new_zeros((padded - rows, s, d))])
                target = torch.empty((padded, s, d), device=self.device, dtype=torch.float32)
            else:
                target = out[start:stop]
            self.context.set_input_shape(SAMPLER_INPUTS[0], tuple(c.shape))
            self.context.set_input_shape(SAMPLER_INPUTS[1], tuple(e.shape))
            self.context.set_tensor_address(SAMPLER_INPUTS[0], c.data_ptr())
            self.context.set_tensor_address(SAMPLER_INPUTS[1], e.data_ptr())
            self.context.set_tensor_address(SAMPLER_OUTPUTS[0], target.data_ptr())
            if not self.context.execute_async_v3(stream.cuda_stream):
                raise RuntimeError("TensorRT failed to enqueue the sampler engine")
            if padded > rows:
                out[start:stop] = target[:rows]
        return out
