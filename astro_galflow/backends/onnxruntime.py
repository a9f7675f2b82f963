"""ONNX Runtime backend: the exported sampler run by ORT's CPU execution provider.

Why it is fast on CPUs (measured in ``benchmarks/bench_backends.py``): ORT's MLAS GEMMs
reach a larger fraction of the machine's matmul rate than the torch build we ship against,
and feeding a few galaxies per call keeps the ``[rows x hidden]`` intermediates of every
coupling in cache instead of streaming fresh 100 MB tensors through memory. Outputs are
written straight into one preallocated array through ORT's I/O binding.

Cores are used by data parallelism, not by ORT's intra-op threads: the session runs each
call on the calling thread (``intra_op_num_threads = 1``) and ``threads`` Python threads
feed it disjoint chunks of galaxies (ORT releases the GIL while it runs). The flow's
GEMMs are small (a few thousand rows by 64); splitting each of them across an intra-op
pool costs a synchronisation per operator, about 1,500 of them per call for the shipped
ensembles, and on a shared machine a descheduled pool thread stalls every one of them
(``benchmarks/bench_user_path.py`` and the docs' benchmark page measure the difference).
"""

from __future__ import annotations

from pathlib import Path

from astro_galflow.backends.base import Backend, BackendUnavailable

__all__ = [
    "OnnxRuntimeBackend",
    "OnnxRuntimeSampler",
    "OnnxRuntimeEncoder",
    "onnxruntime_encoder",
    "DEFAULT_ROWS_PER_CALL",
    "session_options",
    "ChunkRunner",
]

#: Matmul rows per ORT call and per sampler group (ensemble member): galaxies are fed
#: ``rows_per_call * groups // S`` at a time. Throughput is flat from about 2,000 to
#: 8,000 rows; below it the per-operator overhead of the ~1,500-node graphs shows.
DEFAULT_ROWS_PER_CALL = 4096


def session_options():
    """ORT session options of the built-in CPU sessions: one thread per call, sequential."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return options


class ChunkRunner:
    """Runs ``work(start, stop)`` over ``[0, n)`` in chunks on ``threads`` threads.

    Chunks are fixed by ``step`` alone, so results do not depend on ``threads``.
    The pool is created on first use and reused.
    """

    def __init__(self, threads: int):
        self.threads = max(1, int(threads))
        self._pool = None

    def __call__(self, n: int, step: int, work) -> None:
        starts = range(0, n, max(1, int(step)))
        if self.threads == 1 or len(starts) == 1:
            for start in starts:
                work(start, min(n, start + step))
            return
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="galflow-ort")
        # list() re-raises the first exception a chunk raised
        list(self._pool.map(lambda start: work(start, min(n, start + step)), starts))

    def __getstate__(self):
        return {"threads": self.threads, "_pool": None}


class OnnxRuntimeSampler:
    """Callable ``(context, eps) -> samples`` that runs an exported sampler in ORT.

    Parameters
    ----------
    model : bytes or str or pathlib.Path
        Serialized ONNX sampler (see :func:`astro_galflow.backends.export.export_sampler`).
    threads : int
        Threads feeding the session chunks of galaxies in parallel (each call runs on
        one thread; see the module docstring).
    rows_per_call : int
        Matmul rows per call and per group: galaxies are fed in chunks of
        ``max(1, rows_per_call * groups // S)``.
    groups : int
        Independent sub-samplers that split the ``S`` samples of a galaxy between them
        (the members of an :class:`~astro_galflow.heads.ensemble.EnsembleSampler`): each
        runs ``S / groups`` rows per galaxy.
    """

    def __init__(self, model, threads: int = 1, rows_per_call: int = DEFAULT_ROWS_PER_CALL, groups: int = 1):
        import onnxruntime as ort

        source = str(model) if isinstance(model, Path) else model
        self.session = ort.InferenceSession(source, session_options(), providers=["CPUExecutionProvider"])
        self.rows_per_call = int(rows_per_call)
        self.groups = max(1, int(groups))
        self.threads = int(threads)
        self._runner = ChunkRunner(self.threads)

    def galaxies_per_call(self, n_samples: int) -> int:
        """Galaxies per ORT call at ``n_samples`` samples each."""
        return max(1, self.rows_per_call * self.groups // max(int(n_samples), 1))

    def __call__(self, context, eps):
        import numpy as np
        import torch

        context_np = np.ascontiguousarray(context.detach().to("cpu", torch.float32).numpy())
        eps_np = np.ascontiguousarray(eps.detach().to("cpu", torch.float32).numpy())
        n, s, d = eps_np.shape
        out = np.empty((n, s, d), dtype=np.float32)

        def work(start, stop):
            binding = self.session.io_binding()
            binding.bind_cpu_input("context", context_np[start:stop])
            binding.bind_cpu_input("eps", eps_np[start:stop])
            # A slice along axis 0 of a C-contiguous array is contiguous: ORT writes the
            # chunk's samples in place, no per-chunk allocation or copy.
            chunk = out[start:stop]
            binding.bind_output("samples", "cpu", 0, np.float32, list(chunk.shape), chunk.ctypes.data)
            self.session.run_with_iobinding(binding)

        self._runner(n, self.galaxies_per_call(s), work)
        return torch.from_numpy(out).to(eps.device)


class OnnxRuntimeBackend(Backend):
    """Run samplers through ONNX Runtime on the CPU.

    Options (:class:`~astro_galflow.config.BackendSettings`): ``threads`` (threads feeding
    the session, default ``torch.get_num_threads()``), ``rows_per_call`` (default
    :data:`DEFAULT_ROWS_PER_CALL`, counted per ensemble member), ``onnx_cache_dir`` (where exports are cached, keyed by
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
        import importlib.util

        # found, not imported: importing onnxscript (the exporter's) takes 1-3 s of every
        # run, and a run whose exports are cached never calls it
        return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnxscript"))

    @classmethod
    def versions(cls) -> dict[str, str]:
        from importlib.metadata import version

        import onnxruntime
        import torch

        # onnx's installed version, not onnx.__version__: importing onnx costs half a second
        return {"onnxruntime": onnxruntime.__version__, "onnx": version("onnx"), "torch": torch.__version__}

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
            key,
            export,
            cache_dir,
            lambda graph: OnnxRuntimeSampler(graph, threads=threads, rows_per_call=rows, groups=_groups(sampler)),
        )

    def compile_encoder(self, encoder, example_inputs, device: str = "cpu"):
        """Export the image encoder (or reuse a cached export) and open an ORT session on it."""
        return onnxruntime_encoder(encoder, example_inputs[0], self.options)


def _groups(sampler) -> int:
    # an ensemble splits each galaxy's samples between its members (heads/ensemble.py)
    members = getattr(sampler, "members", None)
    return len(members) if members is not None else 1


def _exportable_example(example_inputs):
    # The exporter specialises axes of size 0 or 1 to constants; tracing with at least
    # two galaxies and two samples keeps both axes dynamic.
    context, eps = example_inputs
    n = max(2, context.shape[0])
    s = max(2, eps.shape[1])
    context = context[:1].to("cpu").expand(n, -1).contiguous()
    eps = eps[:1, :1].to("cpu").expand(n, s, -1).contiguous()
    return context, eps


class OnnxRuntimeEncoder:
    """Callable ``images -> features`` running an exported encoder in ONNX Runtime.

    Like :class:`~astro_galflow.backends.onnxruntime.OnnxRuntimeSampler`, each call runs
    on one thread and ``threads`` threads feed the session disjoint chunks of images.

    Parameters
    ----------
    model : bytes or str
        From :func:`astro_galflow.backends.export.export_encoder`.
    threads : int
        Threads feeding the session in parallel.
    images_per_call : int
        Images per ORT call (bounds the memory of the convolution activations).
    """

    def __init__(self, model, threads: int = 1, images_per_call: int = 32, preprocess=None):
        import onnxruntime as ort

        self.session = ort.InferenceSession(model, session_options(), providers=["CPUExecutionProvider"])
        self.images_per_call = int(images_per_call)
        self.preprocess = preprocess
        self._runner = ChunkRunner(threads)

    def __call__(self, images):
        import numpy as np
        import torch

        array = np.ascontiguousarray(images.detach().to("cpu", torch.float32).numpy())
        parts = {}
        preprocess = self.preprocess

        def work(start, stop):
            # numpy ufuncs release the GIL: the feeding threads preprocess in parallel too
            chunk = array[start:stop] if preprocess is None else np.ascontiguousarray(preprocess(array[start:stop]))
            parts[start] = self.session.run(None, {"images": chunk})[0]

        self._runner(len(array), self.images_per_call, work)
        if not parts:
            return torch.empty((0, 0))
        return torch.from_numpy(np.concatenate([parts[k] for k in sorted(parts)]))


def onnxruntime_encoder(encoder, example_images, options: dict):
    """``images -> features`` through ONNX Runtime, the export cached on disk.

    Parameters
    ----------
    encoder : torch.nn.Module
        Pure ``images -> features`` module (e.g. :class:`~astro_galflow.encoders.vae.ImageFeatures`).
    example_images : torch.Tensor
        ``(N, bands, H, W)``, ``N >= 2``.
    options : dict
        Backend options (``threads``, ``onnx_cache_dir``).
    """
    import torch

    from astro_galflow.backends.export import export_encoder
    from astro_galflow.backends.export_cache import cache_dir_from, export_key, open_cached

    module = encoder.eval()
    threads = int(options.get("threads") or torch.get_num_threads())
    cache_dir = cache_dir_from(options)
    shape = "x".join(str(n) for n in example_images.shape[1:])
    split = getattr(encoder, "split_preprocessing", None)
    if split is not None:
        # the pixel scaling on the host (numpy), the network in the graph (see ImageFeatures)
        preprocess, module = split()
        example = torch.from_numpy(preprocess(example_images.to("cpu").numpy()))
        key = export_key("encoder", module, variant=f"{shape}-host-preprocessed")
    else:
        preprocess, example = None, example_images.to("cpu")
        # the graph fixes the image shape and the (non-weight) asinh softening
        key = export_key("encoder", module, variant=f"{shape}-soft{getattr(encoder, 'softening', 'none')}")

    def export(path):
        return export_encoder(module, example, path)

    return open_cached(
        key, export, cache_dir, lambda graph: OnnxRuntimeEncoder(graph, threads=threads, preprocess=preprocess)
    )
