"""The joint network of one model member: shared encoder + heads, and its samplers.

:class:`JointNetwork` is the trainable part: the paper's shared MLP encoder (features ->
256-d context) followed by the heads for the parameters a model infers — the core flow,
the metallicity flow conditioned on the core values, the lines flow — or the baseline
Gaussian head over all of them. :class:`JointSampler` wraps it with the feature and
target standardisation as a pure ``(features, eps) -> samples`` module, the thing the
inference backends export.
"""

from __future__ import annotations

import torch
from torch import nn

from astro_galflow.heads.core import CoreHead
from astro_galflow.heads.coupling import mlp
from astro_galflow.heads.gaussian import GaussianHead
from astro_galflow.heads.lines import LinesHead
from astro_galflow.heads.metallicity import MetallicityHead
from astro_galflow.params import CORE_PARAMETERS, LINE_PARAMETERS, METALLICITY_PARAMETER, PARAMETERS

__all__ = ["HEAD_KINDS", "ordered_parameters", "JointNetwork", "JointSampler", "DetectabilityModel"]

#: ``head`` values of a model architecture.
HEAD_KINDS = ("flow", "gaussian")


def ordered_parameters(names) -> tuple[str, ...]:
    """``names`` in the canonical order (core, metallicity, lines), rejecting unknown ones."""
    names = set(names)
    unknown = names - set(PARAMETERS)
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(sorted(unknown))}; known: {', '.join(PARAMETERS)}")
    return tuple(p for p in PARAMETERS if p in names)


class JointNetwork(nn.Module):
    """Shared encoder and heads for one set of parameters (standardised spaces throughout).

    Parameters
    ----------
    feature_dim : int
        Number of input features.
    parameters : sequence of str
        Parameters to infer (any subset of :data:`astro_galflow.params.PARAMETERS`).
    head : {"flow", "gaussian"}
        The paper's flows, or the baseline Gaussian head.
    context_dim : int
        Width of the shared encoder's output (256 in the paper).
    n_couplings : int
        Coupling layers of the RealNVP flows (12 in the paper).
    flow_hidden : int
        Width of each coupling/scalar-flow network.
    scalar_layers : int
        Sinh-arcsinh layers of the one-dimensional flows.
    """

    def __init__(
        self,
        feature_dim: int,
        parameters,
        head: str = "flow",
        *,
        context_dim: int = 256,
        n_couplings: int = 12,
        flow_hidden: int = 64,
        scalar_layers: int = 2,
    ):
        super().__init__()
        if head not in HEAD_KINDS:
            raise ValueError(f"head must be one of {HEAD_KINDS}, got {head!r}")
        self.parameters_out = ordered_parameters(parameters)
        self.head_kind = head
        self.encoder = mlp(feature_dim, context_dim, context_dim)
        core = tuple(p for p in self.parameters_out if p in CORE_PARAMETERS)
        lines = tuple(p for p in self.parameters_out if p in LINE_PARAMETERS)
        self.core = self.metallicity = self.lines = self.gaussian = None
        if head == "gaussian":
            self.gaussian = GaussianHead(self.parameters_out, context_dim)
            return
        kw = dict(n_layers=n_couplings, hidden=flow_hidden)
        if core:
            self.core = CoreHead(context_dim, core, **kw)
        if METALLICITY_PARAMETER in self.parameters_out:
            self.metallicity = MetallicityHead(context_dim, len(core), n_layers=scalar_layers, hidden=flow_hidden)
        if lines:
            self.lines = LinesHead(context_dim, lines, **kw)

    @property
    def dim(self) -> int:
        """Number of output parameters (= last axis of ``eps`` and of the samples)."""
        return len(self.parameters_out)

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Standardised samples ``(N, S, D)`` from standardised features ``(N, F)``."""
        context = self.encoder(x)
        if self.gaussian is not None:
            return self.gaussian(context, eps)
        parts = []
        start = 0
        core = None
        if self.core is not None:
            core = self.core(context, eps[..., : self.core.dim])
            parts.append(core)
            start = self.core.dim
        if self.metallicity is not None:
            parts.append(self.metallicity(context, eps[..., start : start + 1], core))
            start += 1
        if self.lines is not None:
            parts.append(self.lines(context, eps[..., start:]))
        return torch.cat(parts, dim=-1)

    def detectable_probability(self, x: torch.Tensor) -> torch.Tensor | None:
        """P(measurable metallicity) ``(N,)``, or None without a metallicity head."""
        if self.metallicity is None:
            return None
        return torch.sigmoid(self.metallicity.detectable_logit(self.encoder(x)))

    def loss(self, x: torch.Tensor, y: torch.Tensor, detectable: torch.Tensor | None = None) -> torch.Tensor:
        """Training loss on standardised features ``x`` and targets ``y`` (NaN = no label).

        Each head uses the rows that have all of its labels; the metallicity head also
        needs the core labels it is conditioned on and ``detectable`` (NaN = unknown)
        trains the classifier.
        """
        context = self.encoder(x)
        finite = torch.isfinite(y)
        y0 = torch.where(finite, y, torch.zeros_like(y))
        if self.gaussian is not None:
            lp = self.gaussian.elementwise_log_prob(context, y0)
            return -(lp * finite).sum() / finite.sum().clamp(min=1)
        total = context.new_zeros(())
        start = 0
        if self.core is not None:
            sl = slice(0, self.core.dim)
            total = total + _masked_mean(self.core.loss, context, y0[:, sl], finite[:, sl].all(-1))
            start = self.core.dim
        if self.metallicity is not None:
            rows = finite[:, start] & (finite[:, :start].all(-1) if start else True)
            cond = y0[:, :start] if start else None
            total = total + _masked_mean(self.metallicity.loss, context, y0[:, start : start + 1], rows, cond)
            if detectable is not None:
                known = torch.isfinite(detectable)
                if known.any():
                    total = total + self.metallicity.classifier_loss(context[known], detectable[known]).mean()
            start += 1
        if self.lines is not None:
            sl = slice(start, None)
            total = total + _masked_mean(self.lines.loss, context, y0[:, sl], finite[:, sl].all(-1))
        return total


def _masked_mean(loss_fn, context, y, rows, condition=None):
    if not bool(rows.any()):
        return context.new_zeros(())
    cond = None if condition is None else condition[rows]
    return loss_fn(context[rows], y[rows], cond).mean()


class JointSampler(nn.Module):
    """Pure ``(features, eps) -> samples`` module in model space (unstandardised).

    Parameters
    ----------
    network : JointNetwork
    feature_mean, feature_std : torch.Tensor, shape (F,)
        Standardisation of the raw features.
    target_mean, target_std : torch.Tensor, shape (D,)
        Standardisation of the model-space targets.
    """

    def __init__(self, network: JointNetwork, feature_mean, feature_std, target_mean, target_std):
        super().__init__()
        self.network = network
        self.register_buffer("feature_mean", torch.as_tensor(feature_mean, dtype=torch.float32).clone())
        self.register_buffer("feature_std", torch.as_tensor(feature_std, dtype=torch.float32).clone())
        self.register_buffer("target_mean", torch.as_tensor(target_mean, dtype=torch.float32).clone())
        self.register_buffer("target_std", torch.as_tensor(target_std, dtype=torch.float32).clone())

    @property
    def feature_dim(self) -> int:
        """Number of raw input features ``F``."""
        return self.feature_mean.numel()

    @property
    def dim(self) -> int:
        """Number of output parameters ``D``."""
        return self.target_mean.numel()

    def example_inputs(self, batch_size: int = 8, n_samples: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
        """``(features, eps)`` of representative shape for tracing/export (fixed seed)."""
        generator = torch.Generator().manual_seed(0)
        features = self.feature_mean + self.feature_std * torch.randn(batch_size, self.feature_dim, generator=generator)
        return features, torch.randn(batch_size, n_samples, self.dim, generator=generator)

    def standardise(self, features: torch.Tensor) -> torch.Tensor:
        """Raw features ``(N, F)`` to the network's input."""
        return (features - self.feature_mean) / self.feature_std

    def forward(self, features: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Samples ``(N, S, D)`` in model space from raw features ``(N, F)`` and eps ``(N, S, D)``."""
        return self.network(self.standardise(features), eps) * self.target_std + self.target_mean


class DetectabilityModel(nn.Module):
    """``features -> P(measurable metallicity)`` of one member (eager helper, not a sampler)."""

    def __init__(self, sampler: JointSampler):
        super().__init__()
        self.sampler = sampler

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Probabilities ``(N,)``."""
        return self.sampler.network.detectable_probability(self.sampler.standardise(features))
