"""From model-space samples to physical posterior draws: calibration, support, units, uncertainty split.

The samplers return draws in model space (standardisation undone; ``log1p`` for line
fluxes). :func:`postprocess` applies, in this order: the truncation of each row's draws to
the physical support (z >= 0, fluxes >= 0; :mod:`astro_galflow.support`), the card's
post-hoc calibration of the marginals (:mod:`astro_galflow.calibration`; monotone, so it
keeps the support), the domain check and the tempering of rows outside the training
domain toward the training labels (:mod:`astro_galflow.domain`), a clip of the far tails to
the training labels' range widened by :data:`TAIL_CLIP_SIGMA` standard deviations, the
conversion to physical units (:meth:`astro_galflow.params.ParameterSpec.from_model_space`)
and, for ensembles, the split of each spread into its aleatoric and epistemic parts. Every
random choice uses the row's own seed, so a row's result never depends on its batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from astro_galflow.domain import check_and_temper
from astro_galflow.flags import PosteriorFlag
from astro_galflow.heads.ensemble import uncertainty_decomposition
from astro_galflow.params import get_parameter
from astro_galflow.support import apply_physical_support

__all__ = ["TAIL_CLIP_SIGMA", "ModelSpaceDraw", "PosteriorSamples", "postprocess", "extra_column_names"]

#: Model-space samples are clipped to the training labels' range widened by this many
#: standard deviations of the labels.
TAIL_CLIP_SIGMA = 5.0


@dataclass
class PosteriorSamples:
    """Joint posterior draws of a batch of galaxies.

    Attributes
    ----------
    samples : dict of str to numpy.ndarray
        Parameter -> ``(n, n_samples)`` float32 in physical units; sample ``j`` of every
        parameter is the same joint draw.
    columns : dict of str to numpy.ndarray
        Extra per-row columns (``oh_12_detectable_probability``, ``<p>_std_aleatoric``,
        ``<p>_std_epistemic``).
    flags : numpy.ndarray
        int64 bits of :class:`~astro_galflow.flags.PosteriorFlag` to OR into each row.
    """

    samples: dict[str, np.ndarray]
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    flags: np.ndarray | None = None


@dataclass
class ModelSpaceDraw:
    """What the samplers give for a batch, before :func:`postprocess` (the sampling stage).

    Splitting the two stages lets a run post-process one batch while the samplers draw
    the next (:meth:`astro_galflow.run.InferenceRun.infer`).

    Attributes
    ----------
    features : numpy.ndarray
        ``(n, F)`` raw features of the rows.
    seeds : numpy.ndarray
        ``(n,)`` the rows' noise seeds (:func:`astro_galflow.noise.row_seeds`).
    samples : numpy.ndarray
        ``(n, S, D)`` float32 model-space samples.
    detectable : numpy.ndarray or None
        ``(n,)`` P(measurable metallicity), for models with a detectability classifier.
    flags : numpy.ndarray
        ``(n,)`` int64 flags found while drawing.
    """

    features: np.ndarray
    seeds: np.ndarray
    samples: np.ndarray
    detectable: np.ndarray | None
    flags: np.ndarray


def extra_column_names(parameters, *, n_members: int, has_detectability: bool, has_domain: bool = False) -> list[str]:
    """The per-row columns :func:`postprocess` adds for a model, known before any row is seen.

    Every engine writes them even for a batch without a usable row, so that a table's
    schema depends on the model only (an empty Dask partition has the columns of a full one).
    """
    names = ["oh_12_detectable_probability"] if has_detectability else []
    if has_domain:
        names.append("ood_score")
    if n_members > 1:
        for p in parameters:
            names += [f"{p}_std_aleatoric", f"{p}_std_epistemic"]
    return names


def postprocess(
    model_space: np.ndarray,
    *,
    parameters,
    targets: dict,
    seeds: np.ndarray,
    calibration=None,
    domain=None,
    features=None,
    n_members: int = 1,
    detectable=None,
    flags=None,
) -> PosteriorSamples:
    """Physical posterior draws of model-space samples.

    Parameters
    ----------
    model_space : numpy.ndarray, shape (n, S, D)
        float32 samples in model space, ``D = len(parameters)``.
    parameters : sequence of str
        The model's parameters, in sample order.
    targets : dict
        The card's ``targets`` entry (``min``, ``max``, ``mean``, ``std`` of the training labels).
    seeds : numpy.ndarray, shape (n,)
        The rows' noise seeds (:func:`astro_galflow.noise.row_seeds`): every random choice
        here is drawn from the row's own seed.
    calibration : astro_galflow.calibration.QuantileRecalibration, optional
        Applied to the marginals when given.
    domain : astro_galflow.domain.DomainCheck, optional
        The card's density check; rows outside are flagged ``OUTSIDE_TRAINING_DOMAIN``,
        tempered, and get an ``ood_score``.
    features : numpy.ndarray, shape (n, F), optional
        The rows' raw features (needed with ``domain``).
    n_members : int
        Ensemble members laid out along the sample axis (:func:`~astro_galflow.heads.ensemble.member_blocks`).
    detectable : numpy.ndarray, optional
        P(measurable metallicity) per row.
    flags : numpy.ndarray, optional
        Flags to OR the post-processing's own flags into.
    """
    flags = np.zeros(len(model_space), dtype=np.int64) if flags is None else np.asarray(flags, dtype=np.int64).copy()
    out, off_support = apply_physical_support(model_space, parameters, n_groups=n_members, seeds=seeds)
    flags[off_support] |= int(PosteriorFlag.OUTSIDE_PHYSICAL_SUPPORT)
    if calibration is not None:
        out = calibration.apply(out, parameters)
    columns = {}
    if domain is not None:
        out, ood_score, outside = check_and_temper(domain, features, out, targets, seeds=seeds)
        columns["ood_score"] = np.asarray(ood_score, dtype=np.float32)
        flags[outside] |= int(PosteriorFlag.OUTSIDE_TRAINING_DOMAIN)
    # Far tails of an imperfect flow can leave the physical range (a log1p flux of
    # 800 overflows); clip to the training labels' range widened by 5 sigma.
    lo = np.asarray(targets["min"]) - TAIL_CLIP_SIGMA * np.asarray(targets["std"])
    hi = np.asarray(targets["max"]) + TAIL_CLIP_SIGMA * np.asarray(targets["std"])
    out = np.clip(out, lo.astype(np.float32), hi.astype(np.float32))
    samples = {p: get_parameter(p).from_model_space(out[:, :, k]).astype(np.float32) for k, p in enumerate(parameters)}
    if detectable is not None:
        columns["oh_12_detectable_probability"] = np.asarray(detectable, dtype=np.float32)
    if n_members > 1:
        for p, s in samples.items():
            aleatoric, epistemic = uncertainty_decomposition(s.astype(np.float64), n_members)
            columns[f"{p}_std_aleatoric"] = aleatoric.astype(np.float32)
            columns[f"{p}_std_epistemic"] = epistemic.astype(np.float32)
    return PosteriorSamples(samples=samples, columns=columns, flags=flags)
