"""A conditional RealNVP of the heads' shape contract, used until/beside the real heads.

``forward(context, eps) -> samples`` with context (N, C), eps (N, S, D); every layer's
context projection is computed once per galaxy in one matmul, as the real heads do.
"""

from __future__ import annotations

import torch
from torch import nn


class ReferenceRealNVP(nn.Module):
    """12 affine couplings, D=4, hidden 128, context 256 (the sizes of issue 6)."""

    def __init__(self, dim: int = 4, context: int = 256, hidden: int = 128, layers: int = 12, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.dim, self.hidden, self.layers = dim, hidden, layers
        half = dim // 2
        self.context_proj = nn.Linear(context, layers * hidden)
        self.inp = nn.ModuleList(nn.Linear(half, hidden, bias=False) for _ in range(layers))
        self.mid = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(layers))
        self.out = nn.ModuleList(nn.Linear(hidden, 2 * (dim - half)) for _ in range(layers))
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)

    def forward(self, context: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        n, s, d = eps.shape
        half = d // 2
        ctx = self.context_proj(context).reshape(n, 1, self.layers, self.hidden)
        x = eps
        for k in range(self.layers):
            a, b = (x[..., :half], x[..., half:]) if k % 2 == 0 else (x[..., half:], x[..., :half])
            h = torch.relu(self.inp[k](a) + ctx[:, :, k])
            h = torch.relu(self.mid[k](h))
            scale, shift = self.out[k](h).chunk(2, dim=-1)
            b = b * torch.exp(torch.tanh(scale)) + shift
            x = torch.cat([a, b], dim=-1) if k % 2 == 0 else torch.cat([b, a], dim=-1)
        return x
