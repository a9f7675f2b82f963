"""Ensembles of independently trained members, for epistemic uncertainty.

The ``S`` samples of a galaxy are split into ``K`` contiguous blocks, block ``k`` drawn
by member ``k`` (:func:`member_blocks`), so the pooled samples are draws from the
equal-weight mixture of the members. From the blocks, the total variance splits exactly
(law of total variance, as in Lakshminarayanan et al. 2017, arXiv:1612.01474) into an
aleatoric part — the mean of the within-member variances — and an epistemic part — the
variance of the member means (the paper's Table 2).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["member_blocks", "EnsembleSampler", "uncertainty_decomposition"]


def member_blocks(n_samples: int, n_members: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` of the samples each member draws (sizes differ by at most 1)."""
    edges = [(k * n_samples) // n_members for k in range(n_members + 1)]
    return list(zip(edges[:-1], edges[1:]))


class EnsembleSampler(nn.Module):
    """``(features, eps) -> samples`` pooling the samples of ``K`` member samplers."""

    def __init__(self, members):
        super().__init__()
        self.members = nn.ModuleList(members)

    def example_inputs(self, batch_size: int = 8, n_samples: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
        """``(features, eps)`` of representative shape for tracing/export."""
        return self.members[0].example_inputs(batch_size, n_samples)

    def forward(self, features: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Samples ``(N, S, D)``; block ``k`` of the ``S`` axis comes from member ``k``."""
        blocks = member_blocks(eps.shape[1], len(self.members))
        return torch.cat([m(features, eps[:, a:b]) for m, (a, b) in zip(self.members, blocks)], dim=1)


def uncertainty_decomposition(samples: np.ndarray, n_members: int) -> tuple[np.ndarray, np.ndarray]:
    """Aleatoric and epistemic standard deviations of ensemble samples.

    Parameters
    ----------
    samples : numpy.ndarray, shape (n, S)
        Samples of one parameter laid out as :func:`member_blocks`.
    n_members : int

    Returns
    -------
    std_aleatoric, std_epistemic : numpy.ndarray, shape (n,)
        ``sqrt(mean_k var_k)`` and ``sqrt(var_k mean_k)``.
    """
    blocks = [samples[:, a:b] for a, b in member_blocks(samples.shape[1], n_members) if b > a]
    within = np.stack([b.var(axis=1) for b in blocks], axis=1)
    means = np.stack([b.mean(axis=1) for b in blocks], axis=1)
    return np.sqrt(within.mean(axis=1)), np.sqrt(means.var(axis=1))
