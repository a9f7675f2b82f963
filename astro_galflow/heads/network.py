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

__all__ = [
    "HEAD_KINDS",
    "ordered_parameters",
    "head_slots",
    "default_head_classes",
    "JointNetwork",
    "JointSampler",
    "DetectabilityModel",
]

#: ``head`` values of a model architecture.
HEAD_KINDS = ("flow", "gaussian")


def ordered_parameters(names) -> tuple[str, ...]:
    """``names`` in the canonical order (core, metallicity, lines), rejecting unknown ones."""
    names = set(names)
    unknown = names - set(PARAMETERS)
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(sorted(unknown))}; known: {', '.join(PARAMETERS)}")
    return tuple(p for p in PARAMETERS if p in names)


def head_slots(parameters, head: str = "flow") -> dict[str, tuple[str, ...]]:
    """The network's head slots and the parameters each models, in sample order.

    The paper's layout (``head="flow"``): ``core`` (log M*, log SFR, z, log M_BH),
    ``metallicity`` (O/H, conditioned on the core values) and ``lines``; the baseline
    (``head="gaussian"``): one ``gaussian`` slot over every parameter. Slots a model's
    parameters leave empty are omitted.
    """
    if head not in HEAD_KINDS:
        raise ValueError(f"head must be one of {HEAD_KINDS}, got {head!r}")
    params = ordered_parameters(parameters)
    if head == "gaussian":
        return {"gaussian": params}
    slots = {
        "core": tuple(p for p in params if p in CORE_PARAMETERS),
        "metallicity": tuple(p for p in params if p == METALLICITY_PARAMETER),
        "lines": tuple(p for p in params if p in LINE_PARAMETERS),
    }
    return {slot: names for slot, names in slots.items() if names}


def default_head_classes(slots) -> dict[str, type]:
    """The built-in head class of each slot (what a model card names as ``core``, ``metallicity``...)."""
    builtin = {"core": CoreHead, "metallicity": MetallicityHead, "lines": LinesHead, "gaussian": GaussianHead}
    return {slot: builtin[slot] for slot in slots}


class JointNetwork(nn.Module):
    """Shared encoder and heads for one set of parameters (standardised spaces throughout).

    Each head slot (:func:`head_slots`) holds a registered
    :class:`~astro_galflow.heads.base.PosteriorHead`, built with its ``for_model``
    classmethod. A head whose ``condition_dim`` is non-zero is conditioned on the samples
    of the slots before it (the metallicity head on the core values).

    Parameters
    ----------
    feature_dim : int
        Number of input features.
    parameters : sequence of str
        Parameters to infer (any subset of :data:`astro_galflow.params.PARAMETERS`).
    head : {"flow", "gaussian"}
        The paper's flows, or the baseline Gaussian head.
    heads : dict, optional
        ``{slot: head class}`` (looked up in the head registry by the names a model card
        gives); default :func:`default_head_classes`.
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
        heads: dict | None = None,
        context_dim: int = 256,
        n_couplings: int = 12,
        flow_hidden: int = 64,
        scalar_layers: int = 2,
    ):
        super().__init__()
        slots = head_slots(parameters, head)
        self.parameters_out = tuple(p for names in slots.values() for p in names)
        self.head_kind = head
        self.encoder = mlp(feature_dim, context_dim, context_dim)
        classes = heads if heads is not None else default_head_classes(slots)
        missing = set(slots) - set(classes)
        if missing:
            raise ValueError(f"no head class for slot(s) {', '.join(sorted(missing))}")
        self.core = self.metallicity = self.lines = self.gaussian = None
        self.slots = tuple(slots)
        width = 0
        for slot, names in slots.items():
            module = classes[slot].for_model(
                context_dim,
                names,
                condition_dim=width,
                n_couplings=n_couplings,
                flow_hidden=flow_hidden,
                scalar_layers=scalar_layers,
            )
            if module.dim != len(names):
                raise ValueError(
                    f"head {classes[slot].name!r} in slot {slot!r} models {module.dim} values, not {len(names)}"
                )
            setattr(self, slot, module)
            width += len(names)

    def heads(self):
        """``(slot, head)`` pairs in sample order."""
        return [(slot, getattr(self, slot)) for slot in self.slots]

    @property
    def dim(self) -> int:
        """Number of output parameters (= last axis of ``eps`` and of the samples)."""
        return len(self.parameters_out)

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Standardised samples ``(N, S, D)`` from standardised features ``(N, F)``."""
        context = self.encoder(x)
        parts = []
        start = 0
        for _, head in self.heads():
            condition = torch.cat(parts, dim=-1) if head.condition_dim and parts else None
            parts.append(head(context, eps[..., start : start + head.dim], condition))
            start += head.dim
        return torch.cat(parts, dim=-1)

    def detectable_probability(self, x: torch.Tensor) -> torch.Tensor | None:
        """P(measurable metallicity) ``(N,)``, or None when no head has a detectability classifier."""
        for _, head in self.heads():
            if hasattr(head, "detectable_logit"):
                return torch.sigmoid(head.detectable_logit(self.encoder(x)))
        return None

    @property
    def has_detectability(self) -> bool:
        """Whether a head predicts P(measurable metallicity)."""
        return any(hasattr(head, "detectable_logit") for _, head in self.heads())

    def loss(self, x: torch.Tensor, y: torch.Tensor, detectable: torch.Tensor | None = None) -> torch.Tensor:
        """Training loss on standardised features ``x`` and targets ``y`` (NaN = no label).

        Each head uses the rows that have all of its labels (and, for a conditioned head,
        the labels it is conditioned on); ``detectable`` (NaN = unknown) trains a head's
        detectability classifier.
        """
        context = self.encoder(x)
        finite = torch.isfinite(y)
        y0 = torch.where(finite, y, torch.zeros_like(y))
        total = context.new_zeros(())
        start = 0
        for _, head in self.heads():
            sl = slice(start, start + head.dim)
            if hasattr(head, "elementwise_log_prob") and not head.condition_dim:
                # heads with a factorised likelihood learn from every label a row has
                lp = head.elementwise_log_prob(context, y0[:, sl])
                total = total - (lp * finite[:, sl]).sum() / finite[:, sl].sum().clamp(min=1)
            else:
                rows = finite[:, sl].all(-1)
                condition = None
                if head.condition_dim:
                    rows = rows & (finite[:, :start].all(-1) if start else True)
                    condition = y0[:, :start] if start else None
                total = total + _masked_mean(head.loss, context, y0[:, sl], rows, condition)
            if detectable is not None and hasattr(head, "classifier_loss"):
                known = torch.isfinite(detectable)
                if known.any():
                    total = total + head.classifier_loss(context[known], detectable[known]).mean()
            start += head.dim
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
        # on the CPU, whatever device a backend moved this module's buffers to
        mean, std = self.feature_mean.cpu(), self.feature_std.cpu()
        features = mean + std * torch.randn(batch_size, self.feature_dim, generator=generator)
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
