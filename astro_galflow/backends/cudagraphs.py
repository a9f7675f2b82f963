"""CUDA-graph backend: capture the eager sampler once per input shape and replay it.

Sampling is hundreds of small kernels per call; on a GPU their launch cost, not the
arithmetic, bounds throughput. A captured graph replays them with one launch. Shapes are
few in a run (the batch size and the last, shorter batch), so one graph per shape is kept.
"""

from __future__ import annotations

from astro_galflow.backends.base import Backend, BackendUnavailable

__all__ = ["CudaGraphsBackend", "CudaGraphSampler"]


class CudaGraphSampler:
    """Callable ``(context, eps) -> samples`` replaying per-shape CUDA graphs of ``module``.

    Parameters
    ----------
    module : torch.nn.Module
        The sampler, on ``device``, in eval mode.
    device : str
        A CUDA device.
    warmup : int
        Eager iterations on a side stream before capture (what torch's CUDA-graph notes
        require so that lazy initialisation is not captured).
    """

    def __init__(self, module, device: str = "cuda", warmup: int = 2):
        self.module = module
        self.device = device
        self.warmup = warmup
        self._graphs: dict[tuple, tuple] = {}

    def _capture(self, context, eps):
        import torch

        static_context = context.clone()
        static_eps = eps.clone()
        stream = torch.cuda.Stream(device=self.device)
        stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(stream), torch.inference_mode():
            for _ in range(self.warmup):
                self.module(static_context, static_eps)
        torch.cuda.current_stream(self.device).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.inference_mode(), torch.cuda.graph(graph):
            static_out = self.module(static_context, static_eps)
        return graph, static_context, static_eps, static_out

    def __call__(self, context, eps):
        import torch

        # The static buffers are inference tensors when the graph was captured under
        # inference mode; copying into them is only allowed in inference mode, so every
        # call runs there whatever the caller's mode (found on an H200: a capture inside
        # ``torch.inference_mode()`` followed by a plain call raised).
        with torch.inference_mode():
            context = context.to(self.device)
            eps = eps.to(self.device)
            key = (tuple(context.shape), tuple(eps.shape), context.dtype, eps.dtype)
            if key not in self._graphs:
                self._graphs[key] = self._capture(context, eps)
            graph, static_context, static_eps, static_out = self._graphs[key]
            static_context.copy_(context)
            static_eps.copy_(eps)
            graph.replay()
            # The static output is overwritten by the next replay: hand out a copy.
            return static_out.clone()


class CudaGraphsBackend(Backend):
    """Eager torch on CUDA, captured into CUDA graphs (the ``auto`` choice on CUDA).

    Options (:class:`~astro_galflow.config.BackendSettings`): ``restructure`` (default True: capture the
    :func:`~astro_galflow.backends.fast_sampler.restructure`-d sampler).
    """

    name = "cuda-graphs"
    devices = ("cuda",)

    def __init__(self, options: dict | None = None):
        self.options = dict(options or {})

    @classmethod
    def available(cls, device: str = "cuda") -> bool:
        """Whether a CUDA GPU is visible (the default device of this backend is CUDA)."""
        return super().available(device)

    @classmethod
    def versions(cls) -> dict[str, str]:
        import torch

        return {"torch": torch.__version__, "cuda": str(torch.version.cuda)}

    def compile(self, sampler, example_inputs, device: str = "cuda"):
        """Return a graph-replaying sampler on ``device``.

        Raises
        ------
        BackendUnavailable
            Without a CUDA device.
        """
        if not self.available(device):
            raise BackendUnavailable(f"backend 'cuda-graphs' needs a CUDA device, got {device!r}")
        from astro_galflow.backends.fast_sampler import restructure

        module = sampler.to(device).eval()
        if self.options.get("restructure", True):
            # fewer, larger kernels per graph: the restructured flow
            module = restructure(module)
        return CudaGraphSampler(module, device)
