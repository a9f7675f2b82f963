"""The baseline heteroscedastic Gaussian head.

An MLP predicts a mean and a log standard deviation per parameter (Nix & Weigend 1994,
"Estimating the mean and variance of the target probability distribution"); parameters
are independent given the context. It is the comparison baseline for the flows and the
simplest head to train, and it tolerates partial labels (the likelihood is summed over
the labels each row has).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from astro_galflow.heads.base import PosteriorHead
from astro_galflow.heads.coupling import mlp

__all__ = ["GaussianHead"]

_LOG_2PI = math.log(2.0 * math.pi)


class GaussianHead(PosteriorHead, nn.Module):
    """Independent Gaussians with MLP means and log standard deviations.

    Parameters
    ----------
    parameter_names : sequence of str
        Parameters, in output order.
    context_dim : int
        Dimension of the shared context.
    hidden : int
        Width of the MLP.
    """

    name = "gaussian"
    condition_dim = 0

    def __init__(self, parameter_names, context_dim: int, *, hidden: int = 256):
        super().__init__()
        self.parameter_names = tuple(parameter_names)
        self.dim = len(self.parameter_names)
        self.net = mlp(context_dim, hidden, 2 * self.dim)

    @classmethod
    def build(cls, context_dim: int, parameter_names=None, **kwargs) -> GaussianHead:
        """An instance with default options (``parameter_names`` default: every parameter)."""
        from astro_galflow.params import PARAMETERS

        return cls(parameter_names or tuple(PARAMETERS), context_dim, **kwargs)

    def _mean_logstd(self, context: torch.Tensor):
        mean, log_std = self.net(context).chunk(2, dim=-1)
        return mean, 3.0 * torch.tanh(log_std / 3.0)

    def forward(self, context: torch.Tensor, eps: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Samples ``(N, S, dim)`` = mean + std * eps."""
        mean, log_std = self._mean_logstd(context)
        return mean.unsqueeze(1) + torch.exp(log_std).unsqueeze(1) * eps

    def elementwise_log_prob(self, context: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-parameter log density ``(N, dim)``."""
        mean, log_std = self._mean_logstd(context)
        z = (y - mean) * torch.exp(-log_std)
        return -0.5 * (z * z + _LOG_2PI) - log_std

    def log_prob(self, context: torch.Tensor, y: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Joint log density ``(N,)``."""
        return self.elementwise_log_prob(context, y).sum(-1)
