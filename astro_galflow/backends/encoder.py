"""Compiled image encoders: the VAE's ``images -> [mu, sigma]`` through ONNX Runtime or torch.

The encoder is the other large cost of the full pipeline (~0.24 GFLOP per 3x160x160
cutout for the paper's VAE); on CPUs ONNX Runtime runs its convolutions faster than the
torch build we ship against (``benchmarks/bench_backends.py``).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["EncoderFeatures", "OnnxRuntimeEncoder", "eager_encoder", "onnxruntime_encoder"]


class EncoderFeatures(nn.Module):
    """Pure ``images -> features`` module around an encoder's ``features`` method (for export)."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Features ``(N, F)`` of scaled images ``(N, bands, H, W)``."""
        return self.encoder.features(images)


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

    def __init__(self, model, threads: int = 1, images_per_call: int = 32):
        import onnxruntime as ort

        from astro_galflow.backends.onnxruntime import ChunkRunner, session_options

        self.session = ort.InferenceSession(model, session_options(), providers=["CPUExecutionProvider"])
        self.images_per_call = int(images_per_call)
        self._runner = ChunkRunner(threads)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        import numpy as np

        array = np.ascontiguousarray(images.detach().to("cpu", torch.float32).numpy())
        parts = {}

        def work(start, stop):
            parts[start] = self.session.run(None, {"images": array[start:stop]})[0]

        self._runner(len(array), self.images_per_call, work)
        if not parts:
            return torch.empty((0, 0))
        return torch.from_numpy(np.concatenate([parts[k] for k in sorted(parts)]))


def eager_encoder(encoder, device: str):
    """``images -> features`` running the torch module on ``device`` under inference mode."""
    module = encoder.to(device).eval()

    def run(images):
        with torch.inference_mode():
            return module(images.to(device))

    return run


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
    from astro_galflow.backends.export import export_encoder
    from astro_galflow.backends.export_cache import cache_dir_from, export_key, open_cached

    module = encoder.eval()
    threads = int(options.get("threads") or torch.get_num_threads())
    cache_dir = cache_dir_from(options)
    # the graph fixes the image shape and the (non-weight) asinh softening
    shape = "x".join(str(n) for n in example_images.shape[1:])
    key = export_key("encoder", module, variant=f"{shape}-soft{getattr(encoder, 'softening', 'none')}")

    def export(path):
        return export_encoder(module, example_images.to("cpu"), path)

    return open_cached(key, export, cache_dir, lambda graph: OnnxRuntimeEncoder(graph, threads=threads))
