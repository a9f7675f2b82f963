"""The metallicity head: p(O/H | core parameters, x) and the detectability classifier.

Siddiqa et al. (2025, §2.3) factorise ``p(y_core, O/H | x) = p(y_core | x) p(O/H | y_core, x)``:
a one-dimensional conditional flow on the O/H residual sees the context and the core
parameters — the true values in training, the sampled ones at inference — and a sigmoid
MLP on the context predicts whether a galaxy has a measurable metallicity, trained jointly
(MSE + binary cross-entropy). The O/H likelihood is evaluated only on detectable rows.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from astro_galflow.heads.base import PosteriorHead
from astro_galflow.heads.coupling import ConditionalScalarFlow, mlp
from astro_galflow.params import METALLICITY_PARAMETER

__all__ = ["MetallicityHead"]


class MetallicityHead(PosteriorHead, nn.Module):
    """Mean MLP + 1-D conditional flow on O/H, conditioned on context and core values.

    Parameters
    ----------
    context_dim : int
        Dimension of the shared context.
    condition_dim : int
        Number of core parameters it is conditioned on (standardised values).
    n_layers : int
        Sinh-arcsinh layers of the scalar flow (0: the paper's pure affine flow).
    hidden : int
        Width of the networks.
    """

    name = "metallicity"
    parameter_names = (METALLICITY_PARAMETER,)
    dim = 1

    def __init__(
        self, context_dim: int, condition_dim: int = 4, *, n_layers: int = 2, hidden: int = 64, mean_hidden: int = 256
    ):
        super().__init__()
        self.condition_dim = condition_dim
        self.mean_net = mlp(context_dim, mean_hidden, 1)
        self.flow = ConditionalScalarFlow(context_dim, condition_dim, n_layers=n_layers, hidden=hidden)
        self.classifier = mlp(context_dim, hidden, 1, n_layers=1)

    @classmethod
    def build(cls, context_dim: int, parameter_names=None, **kwargs) -> MetallicityHead:
        """An instance with default options (conditioned on the four core parameters)."""
        if parameter_names not in (None, cls.parameter_names):
            raise ValueError(f"the metallicity head models only {METALLICITY_PARAMETER}")
        return cls(context_dim, **kwargs)

    @classmethod
    def for_model(
        cls, context_dim, parameter_names, *, condition_dim=0, n_couplings=12, flow_hidden=64, scalar_layers=2
    ):
        """Conditioned on the ``condition_dim`` core values before it (see :meth:`PosteriorHead.for_model`)."""
        return cls.build(
            context_dim, parameter_names, condition_dim=condition_dim, n_layers=scalar_layers, hidden=flow_hidden
        )

    def _condition(self, condition: torch.Tensor | None) -> torch.Tensor | None:
        if self.condition_dim == 0:
            return None
        if condition is None:
            raise ValueError(f"the metallicity head needs a condition of {self.condition_dim} core values")
        return condition

    def forward(self, context: torch.Tensor, eps: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Samples ``(N, S, 1)`` given context ``(N, C)``, eps ``(N, S, 1)``, condition ``(N, S, K)``."""
        return self.mean_net(context).unsqueeze(1) + self.flow(context, eps, self._condition(condition))

    def log_prob(self, context: torch.Tensor, y: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Log density ``(N,)`` of ``y`` ``(N, 1)`` given condition ``(N, K)``."""
        cond = self._condition(condition)
        residual = (y - self.mean_net(context)).unsqueeze(1)
        return self.flow.log_prob(context, residual, None if cond is None else cond.unsqueeze(1)).squeeze(1)

    def detectable_logit(self, context: torch.Tensor) -> torch.Tensor:
        """Logit ``(N,)`` that the galaxy has a measurable metallicity."""
        return self.classifier(context).squeeze(-1)

    def loss(self, context: torch.Tensor, y: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """NLL plus the MSE of the mean, per row (only call on detectable rows)."""
        mse = ((self.mean_net(context) - y) ** 2).squeeze(-1)
        return -self.log_prob(context, y, condition) + mse

    def classifier_loss(self, context: torch.Tensor, detectable: torch.Tensor) -> torch.Tensor:
        """Binary cross-entropy per row of the detectability classifier."""
        return F.binary_cross_entropy_with_logits(self.detectable_logit(context), detectable, reduction="none")
