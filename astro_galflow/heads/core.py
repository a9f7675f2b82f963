"""Mean-plus-residual-flow heads: the generic ``flow`` head and the paper's ``core`` head.

The paper (Siddiqa et al. 2025, §2.3) predicts the parameter means with an MLP on the
shared context and models the joint residuals with a conditional RealNVP of 12 affine
couplings. :class:`FlowHead` does this for any list of parameters; for a single
parameter (e.g. a redshift-only photo-z model) it uses a
:class:`~astro_galflow.heads.coupling.ConditionalScalarFlow`, since a coupling layer
needs at least two coordinates. All values are standardised model-space targets.
"""

from __future__ import annotations

import torch
from torch import nn

from astro_galflow.heads.base import PosteriorHead
from astro_galflow.heads.coupling import ConditionalRealNVP, ConditionalScalarFlow, mlp
from astro_galflow.params import CORE_PARAMETERS

__all__ = ["FlowHead", "CoreHead"]


class FlowHead(PosteriorHead, nn.Module):
    """Mean MLP plus a conditional flow on the residuals of ``parameter_names``.

    Parameters
    ----------
    parameter_names : sequence of str
        Parameters modelled jointly, in output order.
    context_dim : int
        Dimension of the shared context.
    n_layers : int
        Coupling layers (``dim >= 2``) or sinh-arcsinh layers (``dim == 1``).
    hidden : int
        Width of the flow's networks.
    mean_hidden : int
        Width of the mean MLP.
    """

    name = "flow"
    condition_dim = 0

    def __init__(
        self, parameter_names, context_dim: int, *, n_layers: int = 12, hidden: int = 64, mean_hidden: int = 256
    ):
        super().__init__()
        self.parameter_names = tuple(parameter_names)
        self.dim = len(self.parameter_names)
        if self.dim == 0:
            raise ValueError("a flow head needs at least one parameter")
        self.mean_net = mlp(context_dim, mean_hidden, self.dim)
        if self.dim == 1:
            self.flow = ConditionalScalarFlow(context_dim, 0, n_layers=min(n_layers, 4), hidden=hidden)
        else:
            self.flow = ConditionalRealNVP(self.dim, context_dim, n_layers=n_layers, hidden=hidden)

    @classmethod
    def build(cls, context_dim: int, parameter_names=None, **kwargs) -> FlowHead:
        """An instance with default options (``parameter_names`` default: log M* and z)."""
        return cls(parameter_names or ("log_mstar", "redshift"), context_dim, **kwargs)

    @classmethod
    def for_model(
        cls, context_dim, parameter_names, *, condition_dim=0, n_couplings=12, flow_hidden=64, scalar_layers=2
    ):
        """The slot's flow with the card's coupling count and width (see :meth:`PosteriorHead.for_model`)."""
        return cls.build(context_dim, parameter_names, n_layers=n_couplings, hidden=flow_hidden)

    def mean(self, context: torch.Tensor) -> torch.Tensor:
        """Predicted means ``(N, dim)``."""
        return self.mean_net(context)

    def forward(self, context: torch.Tensor, eps: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Samples ``(N, S, dim)`` = mean + flow(eps) given context ``(N, C)``."""
        return self.mean(context).unsqueeze(1) + self.flow(context, eps)

    def log_prob(self, context: torch.Tensor, y: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Log density ``(N,)`` of targets ``y`` ``(N, dim)``."""
        residual = (y - self.mean(context)).unsqueeze(1)
        return self.flow.log_prob(context, residual).squeeze(1)

    def loss(self, context: torch.Tensor, y: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Negative log-likelihood plus the MSE of the means (the paper's combined loss), per row."""
        mse = ((self.mean(context) - y) ** 2).mean(-1)
        return -self.log_prob(context, y, condition) / self.dim + mse


class CoreHead(FlowHead):
    """The paper's core head: log M*, log SFR, z, log M_BH (or the subset a data set has)."""

    name = "core"

    def __init__(self, context_dim: int, parameter_names=CORE_PARAMETERS, **kwargs):
        super().__init__(parameter_names, context_dim, **kwargs)

    @classmethod
    def build(cls, context_dim: int, parameter_names=None, **kwargs) -> CoreHead:
        """An instance with default options (``parameter_names`` default: the four core parameters)."""
        return cls(context_dim, parameter_names or CORE_PARAMETERS, **kwargs)
