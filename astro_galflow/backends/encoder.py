"""Compiled image encoders: the VAE's ``images -> [mu, sigma]`` through ONNX Runtime or torch.

The encoder is the other large cost of the full pipeline (~0.24 GFLOP per 3x160x160
cutout for the paper's VAE); on CPUs ONNX Runtime runs its convolutions faster than the
torch build we ship against (``benchmarks/bench_backends.py``).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["EncoderFeatures", "eager_encoder"]


class EncoderFeatures(nn.Module):
    """Pure ``images -> features`` module around an encoder's ``features`` method (for export)."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Features ``(N, F)`` of scaled images ``(N, bands, H, W)``."""
        return self.encoder.features(images)


def eager_encoder(encoder, device: str):
    """``images -> features`` running the torch module on ``device`` under inference mode."""
    module = encoder.to(device).eval()

    def run(images):
        with torch.inference_mode():
            return module(images.to(device))

    return run
