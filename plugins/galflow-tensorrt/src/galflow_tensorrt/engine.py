"""Build TensorRT engines from exported ONNX samplers and encoders; run them on torch CUDA tensors.

Written against the TensorRT 10 Python API (``tensorrt.Builder``, ``OnnxParser``,
``IExecutionContext.execute_async_v3``) as documented by NVIDIA; it needs TensorRT and a
CUDA GPU, so it is exercised only by the tests marked ``gpu``. TensorRT 11 (the
``tensorrt-cu12``/``-cu13`` 11.x wheels) keeps that API but builds strongly typed networks
only: its ``BuilderFlag`` has no ``FP16``/``BF16`` and its layers no ``precision`` or
``set_output_type`` (read from the 11.4 Python bindings), so reduced precision is refused
there with :class:`EngineBuildError` rather than failing inside the builder.
"""

from __future__ import annotations

from astro_galflow.backends.export import ENCODER_INPUTS, ENCODER_OUTPUTS, SAMPLER_INPUTS, SAMPLER_OUTPUTS
from galflow_tensorrt.profiles import BatchProfile, ShapeProfile, batch_chunks

__all__ = [
    "EngineBuildError",
    "build_engine",
    "build_encoder_engine",
    "TensorRTSampler",
    "TensorRTEncoder",
    "run_in_chunks",
    "weak_typing_supported",
]

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


def weak_typing_supported(trt) -> bool:
    """Whether this TensorRT lowers FP32 graphs to FP16/BF16 through builder flags (TensorRT < 11)."""
    return hasattr(trt.BuilderFlag, "FP16") and hasattr(trt.BuilderFlag, "BF16")


def _apply_precision(trt, config, network, precision: str) -> None:
    if precision == "fp32":
        config.clear_flag(trt.BuilderFlag.TF32)
        return
    if precision == "tf32":
        config.set_flag(trt.BuilderFlag.TF32)
        return
    if not weak_typing_supported(trt):
        raise EngineBuildError(
            f"precision {precision!r} needs TensorRT's FP16/BF16 builder flags, which TensorRT "
            f"{trt.__version__} no longer has (it builds strongly typed networks only); use "
            "precision 'fp32' or 'tf32', or TensorRT 10"
        )
    config.set_flag(trt.BuilderFlag.FP16 if precision == "fp16" else trt.BuilderFlag.BF16)
    config.set_flag(trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS)
    _pin_transcendentals_to_fp32(network)


def _build(onnx_model: bytes, shapes: dict, precision: str, workspace_bytes: int, what: str) -> bytes:
    # shapes: input name -> (min, opt, max) shape of the single optimisation profile
    import tensorrt as trt

    logger = _logger()
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_model):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EngineBuildError(f"TensorRT's ONNX parser rejected the {what} graph: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_bytes))
    optimisation = builder.create_optimization_profile()
    for name, (lo, opt, hi) in shapes.items():
        optimisation.set_shape(name, lo, opt, hi)
    config.add_optimization_profile(optimisation)
    _apply_precision(trt, config, network, precision)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EngineBuildError(f"TensorRT failed to build the {what} engine (see the TensorRT log above)")
    return bytes(serialized)


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
        With the parser's messages when the graph cannot be parsed, when the build fails,
        or for ``fp16``/``bf16`` on a TensorRT without weak typing (11 and later).
    """
    shapes = {name: profile.shapes(name, feature_dims[name]) for name in SAMPLER_INPUTS}
    return _build(onnx_model, shapes, precision, workspace_bytes, "sampler")


def build_encoder_engine(
    onnx_model: bytes,
    profile: BatchProfile,
    image_shape: tuple[int, ...],
    precision: str = "fp32",
    workspace_bytes: int = DEFAULT_WORKSPACE_BYTES,
) -> bytes:
    """Serialized engine for an exported image encoder ``images (N, *image_shape) -> latent (N, F)``.

    Parameters
    ----------
    onnx_model : bytes
        From :func:`astro_galflow.backends.export.export_encoder` (dynamic batch axis).
    profile : BatchProfile
        Range of the batch axis.
    image_shape : tuple of int
        ``(bands, height, width)`` of one cutout.
    precision : {"fp32", "tf32", "fp16", "bf16"}
        As for :func:`build_engine`; in ``fp16``/``bf16`` the input's asinh scaling and
        the ``exp`` giving sigma stay in FP32.
    workspace_bytes : int
        Builder workspace memory-pool limit (bounds the convolution tactics tried).

    Raises
    ------
    EngineBuildError
        As for :func:`build_engine`.
    """
    shapes = {ENCODER_INPUTS[0]: profile.shapes(image_shape)}
    return _build(onnx_model, shapes, precision, workspace_bytes, "encoder")


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
        self._runtime, self.engine, self.context = _deserialize(engine_bytes, "engine")
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


def _deserialize(engine_bytes: bytes, what: str):
    """``(runtime, engine, execution context)`` of a serialized engine (the runtime must outlive it)."""
    import tensorrt as trt

    runtime = trt.Runtime(_logger())
    engine = runtime.deserialize_cuda_engine(engine_bytes)
    if engine is None:
        raise EngineBuildError(f"TensorRT could not deserialize the cached {what}")
    return runtime, engine, engine.create_execution_context()


def run_in_chunks(rows, profile, execute):
    """Apply ``execute`` to ``rows`` in batches the engine's profile accepts; concatenate the results.

    Parameters
    ----------
    rows : torch.Tensor
        ``(N, ...)``; rows are independent (one galaxy each).
    profile : BatchProfile or ShapeProfile
        Batches longer than ``max_batch`` are split, shorter than ``min_batch`` padded
        with zero rows whose results are dropped (:func:`~galflow_tensorrt.profiles.batch_chunks`).
    execute : callable
        ``batch (B, ...) -> (B, F)`` for ``min_batch <= B <= max_batch``.

    Returns
    -------
    torch.Tensor
        ``(N, F)``; ``(0, 0)`` when ``N`` is 0 (nothing was run, so ``F`` is unknown).
    """
    import torch

    parts = []
    for start, stop, padded in batch_chunks(len(rows), profile):
        batch = rows[start:stop]
        if padded > stop - start:
            batch = torch.cat([batch, batch.new_zeros((padded - (stop - start), *batch.shape[1:]))])
        parts.append(execute(batch)[: stop - start])
    if not parts:
        return rows.new_empty((0, 0))
    return torch.cat(parts) if len(parts) > 1 else parts[0]


class TensorRTEncoder:
    """Callable ``images -> features`` running an encoder engine on torch CUDA tensors.

    Takes what the host's encoder takes (nanomaggie cutouts ``(N, bands, H, W)``, on any
    device) and returns float32 features ``(N, F)`` on the engine's device, like the eager
    encoder on a GPU. Batches are split/padded to the profile; the engine runs on torch's
    current CUDA stream.

    Parameters
    ----------
    engine_bytes : bytes
        A serialized engine (:func:`build_encoder_engine`) for this GPU and TensorRT version.
    profile : BatchProfile
        The profile it was built with.
    device : str
        CUDA device.

    Raises
    ------
    EngineBuildError
        If TensorRT cannot deserialize the engine (another GPU or TensorRT version).
    """

    def __init__(self, engine_bytes: bytes, profile: BatchProfile, device: str = "cuda"):
        self._runtime, self.engine, self.context = _deserialize(engine_bytes, "encoder engine")
        self.profile = profile
        self.device = device
        # the output's last axis is static in the exported graph (its batch axis is -1);
        # trt.Dims is indexed from the front
        shape = self.engine.get_tensor_shape(ENCODER_OUTPUTS[0])
        self.n_features = int(shape[len(shape) - 1])

    def _execute(self, batch):
        import torch

        out = torch.empty((batch.shape[0], self.n_features), device=self.device, dtype=torch.float32)
        stream = torch.cuda.current_stream(self.device)
        self.context.set_input_shape(ENCODER_INPUTS[0], tuple(batch.shape))
        self.context.set_tensor_address(ENCODER_INPUTS[0], batch.data_ptr())
        self.context.set_tensor_address(ENCODER_OUTPUTS[0], out.data_ptr())
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise RuntimeError("TensorRT failed to enqueue the encoder engine")
        return out

    def __call__(self, images):
        import torch

        # row slices of a contiguous tensor are contiguous: the engine reads them in place
        images = images.to(self.device, torch.float32).contiguous()
        return run_in_chunks(images, self.profile, self._execute)
