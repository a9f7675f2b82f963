"""ONNX Runtime backend: the exported sampler run by ORT's CPU execution provider.

Why it is fast on CPUs (measured in ``benchmarks/bench_backends.py``): ORT's MLAS GEMMs
reach a larger fraction of the machine's matmul rate than the torch build we ship against,
and feeding a few galaxies per call keeps the ``[rows x hidden]`` intermediates of every
coupling in cache instead of streaming fresh 100 MB tensors through memory. Outputs are
written straight into one preallocated array through ORT's I/O binding.
"""

from __future__ import annotations

from pathlib import Path

from astro_galflow.backends.base import Backend, BackendUnavailable

__all__ = ["OnnxRuntimeBackend", "OnnxRuntimeSampler", "DEFAULT_ROWS_PER_CALL"]

#: Samples (matmul rows) per ORT call: small enough that a coupling's hidden activations
#: stay in L2 cache, large enough that the per-call overhead is a few percent (benchmark).
DEFAULT_ROWS_PER_CALL = 2048


class OnnxRuntimeSampler:
    """Callable ``(context, eps) -> samples`` that runs an exported sampler in ORT.

    Parameters
    ----------
    model : bytes or str or pathlib.Path
        Serialized ONNX sampler (see :func:`astro_galflow.backends.export.export_sampler`).
    threads : int
        ORT intra-op threads.
    rows_per_call : int
        Galaxies are fed in chunks of ``max(1, rows_per_call // S)``.
    """

    def __init__(self, model, threads: int = 1, rows_per_call: int = DEFAULT_ROWS_PER_CALL):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        source = str(model) if isinstance(model, Path) else model
        self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        self.rows_per_call = int(rows_per_call)
        self.threads = int(threads)

    def __call__(self, context, eps):
        import numpy as np
        import torch

        context_np = np.ascontiguousarray(context.detach().to("cpu", torch.float32).numpy())
        eps_np = np.ascontiguousarray(eps.detach().to("cpu", torch.float32).numpy())
        n, s, d = eps_np.shape
        out = np.empty((n, s, d), dtype=np.float32)
        step = max(1, self.rows_per_call // max(s, 1))
        binding = self.session.io_binding()
        for start in range(0, n, step):
            stop = min(n, start + step)
            binding.bind_cpu_input("context", context_np[start:stop])
            binding.bind_cpu_input("eps", eps_np[start:stop])
            # A slice along axis 0 of a C-contiguous array is contiguous: ORT writes the
            # chunk's samples in place, no per-chunk allocation or copy.
            chunk = out[start:stop]
            binding.bind_output("samples", "cpu", 0, np.float32, list(chunk.shape), chunk.ctypes.data)
            self.session.run_with_iobinding(binding)
            binding.clear_binding_inputs()
            binding.clear_binding_outputs()
        return torch.from_numpy(out).to(eps.device)


class OnnxRuntimeBackend(Backend):
    """Run samplers through ONNX Runtime on the CPU.

    Options (:class:`~astro_galflow.config.BackendSettings`): ``threads`` (default
    ``torch.get_num_threads()``), ``rows_per_call`` (default
    :data:`DEFAULT_ROWS_PER_CALL`), ``onnx_cache_dir`` (where exports are cached, keyed by
    weights hash and library versions; ``""`` disables; default
    :func:`~astro_galflow.backends.export_cache.default_cache_dir`),
    ``restructure`` (default True: export the
    :func:`~astro_galflow.backends.fast_sampler.restructure`-d sampler).
    """

    name = "onnxruntime"
    devices = ("cpu",)

    def __init__(self, options: dict | None = None):
        self.options = dict(options or {})

    @classmethod
    def available(cls, device: str = "cpu") -> bool:
        if not super().available(device):
            return False
        try:
            import onnxruntime  # noqa: F401
            import onnxscript  # noqa: F401
        except ImportError:
            return False
        return True

    @classmethod
    def versions(cls) -> dict[str, str]:
        import onnx
        import onnxruntime
        import torch

        return {"onnxruntime": onnxruntime.__version__, "onnx": onnx.__version__, "torch": torch.__version__}

    def compile(self, sampler, example_inputs, device: str = "cpu"):
        """Export ``sampler`` (or reuse a cached export) and open an ORT session on it.

        Raises
        ------
        BackendUnavailable
            If ONNX Runtime is not installed or ``device`` is not the CPU.
        """
        import torch

        from astro_galflow.backends.export import export_sampler
        from astro_galflow.backends.export_cache import cache_dir_from, export_key, open_cached
        from astro_galflow.backends.fast_sampler import restructure

        if not self.available(device):
            raise BackendUnavailable(
                f"backend 'onnxruntime' cannot run on device {device!r}: it needs the CPU and the "
                "'onnx' extra (pip install 'astro_galflow[onnx]')"
            )
        example = _exportable_example(example_inputs)
        fast = bool(self.options.get("restructure", True))
        threads = int(self.options.get("threads") or torch.get_num_threads())
        rows = int(self.options.get("rows_per_call") or DEFAULT_ROWS_PER_CALL)
        cache_dir = cache_dir_from(self.options)
        key = export_key("sampler", sampler, variant="fast" if fast else "plain")

        def export(path):
            # restructured (a copy of the weights) only when the cache cannot serve the graph
            return export_sampler(restructure(sampler) if fast else sampler, example, path)

        return open_cached(
            key, export, cache_dir, lambda graph: OnnxRuntimeSampler(graph, threads=threads, rows_per_call=rows)
        )

    def compile_encoder(self, encoder, example_inputs, device: str = "cpu"):
        """Export the image encoder (or reuse a cached export) and open an ORT session on it."""
        from astro_galflow.backends.encoder import onnxruntime_encoder

        return onnxruntime_encoder(encoder, example_inputs[0], self.options)


def _exportable_example(example_inputs):
    # The exporter specialises axes of size 0 or 1 to constants; tracing with at least
    # two galaxies and two samples keeps both axes dynamic.
    context, eps = example_inputs
    n = max(2, context.shape[0])
    s = max(2, eps.shape[1])
    context = context[:1].to("cpu").expand(n, -1).contiguous()
    eps = eps[:1, :1].to("cpu").expand(n, s, -1).contiguous()
    return context, eps
