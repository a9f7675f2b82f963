"""Conditional normalizing flows written as pure tensor functions.

Two flows are provided, both mapping standard-normal noise ``eps`` to residuals
``y`` given a per-galaxy context (and, for the scalar flow, an optional per-sample
condition):

:class:`ConditionalRealNVP`
    RealNVP (Dinh, Sohl-Dickstein & Bengio 2017, arXiv:1605.08803) with affine coupling
    layers whose scale/translation networks see the unmasked coordinates and the
    context, as in the paper's core and lines heads (12 couplings).
:class:`ConditionalScalarFlow`
    For one dimension, where a coupling layer has nothing to condition on: a stack of
    context-conditioned sinh-arcsinh transforms (Jones & Pewsey 2009, Biometrika 96, 761)
    followed by an affine map. With zero layers it is exactly the paper's 1-D conditional
    affine flow; the sinh-arcsinh layers add skewness and tail weight.

Every layer splits the first linear map of its network into a context part, computed
once per galaxy with shape ``(N, 1, H)``, and a part on the sample coordinates, shape
``(N, S, H)``; broadcasting shares the context projection across the ``S`` samples.
Sampling uses only tensor arithmetic (no ``torch.distributions``) so that it exports
through ``torch.onnx``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = [
    "mlp",
    "coupling_masks",
    "AffineCoupling",
    "ConditionalRealNVP",
    "ConditionalScalarFlow",
    "standard_normal_logpdf",
]

_LOG_2PI = math.log(2.0 * math.pi)
#: Soft bound of the per-layer log-scale: keeps 12 stacked layers numerically tame.
_SCALE_BOUND = 3.0
#: Soft bounds of the sinh-arcsinh skew ``c`` and log tail weight ``d``: with ``|d| < 0.5``
#: a layer's tails go at most as ``x**1.65``, so stacked layers cannot overflow.
_SKEW_BOUND = 2.0
_TAIL_BOUND = 0.5


def mlp(n_in: int, n_hidden: int, n_out: int, n_layers: int = 2) -> nn.Sequential:
    """A plain SiLU MLP with ``n_layers`` hidden layers."""
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(n_layers):
        layers += [nn.Linear(width, n_hidden), nn.SiLU()]
        width = n_hidden
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def standard_normal_logpdf(z: torch.Tensor) -> torch.Tensor:
    """Sum over the last axis of the standard-normal log density."""
    return -0.5 * (z * z + _LOG_2PI).sum(-1)


def coupling_masks(dim: int, n_layers: int) -> torch.Tensor:
    """Binary masks (1 = conditioning coordinate) alternating parity and half splits.

    Parity masks pair coordinates 0/2 and 1/3; half masks pair 0/1 and 2/3, so that over
    four layers every coordinate conditions every other one.
    """
    if dim < 2:
        raise ValueError(f"a coupling flow needs at least 2 dimensions, got {dim}")
    idx = torch.arange(dim)
    masks = []
    for layer in range(n_layers):
        flip = layer % 2
        base = (idx % 2 == 0) if (layer // 2) % 2 == 0 else (idx < (dim + 1) // 2)
        masks.append((base ^ bool(flip)).to(torch.float32))
    return torch.stack(masks)


class AffineCoupling(nn.Module):
    """One affine coupling layer ``y = m*x + (1-m)*(x*exp(s) + t)`` with ``s, t = f(m*x, c)``."""

    def __init__(self, mask: torch.Tensor, context_dim: int, hidden: int):
        super().__init__()
        dim = mask.numel()
        self.register_buffer("mask", mask.clone())
        self.in_x = nn.Linear(dim, hidden, bias=False)
        self.in_context = nn.Linear(context_dim, hidden)
        self.body = nn.Sequential(nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 2 * dim))
        # Zero output: every layer starts as the identity, so training starts from N(0, I).
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def project_context(self, context: torch.Tensor) -> torch.Tensor:
        """Context part of the first layer, ``(N, 1, H)``: once per galaxy."""
        return self.in_context(context).unsqueeze(1)

    def _scale_shift(self, x_masked: torch.Tensor, projected: torch.Tensor):
        s, t = self.body(self.in_x(x_masked) + projected).chunk(2, dim=-1)
        free = 1.0 - self.mask
        return _SCALE_BOUND * torch.tanh(s / _SCALE_BOUND) * free, t * free

    def forward(self, x: torch.Tensor, projected: torch.Tensor) -> torch.Tensor:
        """Noise side to data side."""
        xm = x * self.mask
        s, t = self._scale_shift(xm, projected)
        return xm + (1.0 - self.mask) * x * torch.exp(s) + t

    def inverse(self, y: torch.Tensor, projected: torch.Tensor):
        """Data side to noise side; returns ``(x, log|dx/dy|)``."""
        ym = y * self.mask
        s, t = self._scale_shift(ym, projected)
        x = ym + (1.0 - self.mask) * (y - t) * torch.exp(-s)
        return x, -s.sum(-1)


class ConditionalRealNVP(nn.Module):
    """Conditional RealNVP on ``dim >= 2`` coordinates.

    Parameters
    ----------
    dim : int
        Dimension of the modelled variable.
    context_dim : int
        Dimension of the per-galaxy context.
    n_layers : int
        Number of affine couplings (12 in the paper).
    hidden : int
        Width of each coupling network.
    """

    def __init__(self, dim: int, context_dim: int, n_layers: int = 12, hidden: int = 64):
        super().__init__()
        self.dim = dim
        self.layers = nn.ModuleList(AffineCoupling(m, context_dim, hidden) for m in coupling_masks(dim, n_layers))

    def forward(self, context: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Samples ``(N, S, dim)`` from context ``(N, C)`` and noise ``eps`` ``(N, S, dim)``."""
        x = eps
        for layer in self.layers:
            x = layer(x, layer.project_context(context))
        return x

    def log_prob(self, context: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Log density of ``y`` ``(N, S, dim)`` given context ``(N, C)``; shape ``(N, S)``."""
        logdet = torch.zeros(y.shape[:-1], dtype=y.dtype, device=y.device)
        x = y
        for layer in reversed(self.layers):
            x, ld = layer.inverse(x, layer.project_context(context))
            logdet = logdet + ld
        return standard_normal_logpdf(x) + logdet


def _log_cosh(x: torch.Tensor) -> torch.Tensor:
    ax = torch.abs(x)
    return ax + torch.log1p(torch.exp(-2.0 * ax)) - math.log(2.0)


class ConditionalScalarFlow(nn.Module):
    """One-dimensional conditional flow: sinh-arcsinh layers then an affine map.

    Each sinh-arcsinh layer maps ``x -> sinh(exp(d) * asinh(x) + c)``; the final map is
    ``y = a + exp(b) * x``. ``(c, d)`` of every layer and ``(a, b)`` come from one network of
    the context (per galaxy) and, when ``condition_dim > 0``, of a per-sample condition.

    Parameters
    ----------
    context_dim : int
        Dimension of the per-galaxy context.
    condition_dim : int
        Dimension of the per-sample condition (0 for none).
    n_layers : int
        Number of sinh-arcsinh layers (0 gives the paper's affine flow).
    hidden : int
        Width of the parameter network.
    """

    dim = 1

    def __init__(self, context_dim: int, condition_dim: int = 0, n_layers: int = 2, hidden: int = 64):
        super().__init__()
        self.n_layers = n_layers
        self.condition_dim = condition_dim
        self.in_context = nn.Linear(context_dim, hidden)
        self.in_condition = nn.Linear(condition_dim, hidden, bias=False) if condition_dim else None
        self.body = nn.Sequential(nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 2 + 2 * n_layers))
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def _params(self, context: torch.Tensor, condition: torch.Tensor | None):
        h = self.in_context(context).unsqueeze(1)
        if self.in_condition is not None:
            h = h + self.in_condition(condition)
        p = self.body(h)
        shift, log_scale = p[..., 0:1], _SCALE_BOUND * torch.tanh(p[..., 1:2] / _SCALE_BOUND)
        cs = _SKEW_BOUND * torch.tanh(p[..., 2 : 2 + self.n_layers] / _SKEW_BOUND)
        ds = _TAIL_BOUND * torch.tanh(p[..., 2 + self.n_layers :] / _TAIL_BOUND)
        return shift, log_scale, cs, ds

    def forward(self, context: torch.Tensor, eps: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Samples ``(N, S, 1)`` from context ``(N, C)``, ``eps`` ``(N, S, 1)``, condition ``(N, S, K)``."""
        shift, log_scale, cs, ds = self._params(context, condition)
        x = eps
        for k in range(self.n_layers):
            x = torch.sinh(torch.exp(ds[..., k : k + 1]) * torch.asinh(x) + cs[..., k : k + 1])
        return shift + torch.exp(log_scale) * x

    def log_prob(self, context: torch.Tensor, y: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Log density of ``y`` ``(N, S, 1)``; shape ``(N, S)``."""
        shift, log_scale, cs, ds = self._params(context, condition)
        x = (y - shift) * torch.exp(-log_scale)
        logdet = -log_scale
        for k in reversed(range(self.n_layers)):
            c, d = cs[..., k : k + 1], ds[..., k : k + 1]
            inner = torch.asinh(x)
            prev = torch.sinh((inner - c) * torch.exp(-d))
            # log|dx/dprev| of x = sinh(e^d asinh(prev) + c); subtract it for the inverse.
            logdet = logdet - (_log_cosh(inner) + d - 0.5 * torch.log1p(prev * prev))
            x = prev
        return standard_normal_logpdf(x) + logdet.squeeze(-1)
