"""Physical support of the posteriors: no redshift below 0, no line flux below 0.

A normalizing flow's output is unbounded, so an imperfect flow -- or a row far from its
training data -- puts some of its mass where no galaxy can be (``z < 0``). Clipping those
samples at a bound piles them into a spike there and, clipping at the training minimum
minus 5 sigma as the host once did, still lets medians fall at ``z = -0.23``. Instead,
:func:`truncate_to_support` truncates each galaxy's joint posterior to the support and
renormalises it: every joint draw with a parameter outside is replaced by a draw of the
same galaxy, from the same ensemble member, that lies inside (resampling the in-support
draws, which is sampling the truncated and renormalised distribution). The share of draws
that fell outside is returned, so rows where it is noticeable can be flagged
``OUTSIDE_PHYSICAL_SUPPORT``: there the model itself, not just the tail, disagrees with
physics.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "LOWER_BOUNDS",
    "NOTICEABLE_OUTSIDE",
    "apply_physical_support",
    "lower_bounds_in_model_space",
    "truncate_to_support",
]

#: Physical lower bounds, in the parameters' physical units.
LOWER_BOUNDS = {
    "redshift": 0.0,
    "flux_halpha": 0.0,
    "flux_hbeta": 0.0,
    "flux_nii_6584": 0.0,
    "flux_oiii_5007": 0.0,
}

#: Share of a row's raw posterior mass outside the support above which it is flagged.
#: 5 %: a well-fitted flow leaves far less than that outside (its 95 % interval would
#: otherwise reach past the bound).
NOTICEABLE_OUTSIDE = 0.05


def lower_bounds_in_model_space(parameters) -> np.ndarray:
    """``(D,)`` lower bounds of ``parameters`` in model space (``-inf`` where there is none)."""
    from astro_galflow.params import get_parameter

    return np.array(
        [float(get_parameter(p).to_model_space(LOWER_BOUNDS[p])) if p in LOWER_BOUNDS else -np.inf for p in parameters]
    )


def truncate_to_support(samples: np.ndarray, lower: np.ndarray, *, n_groups: int = 1, seeds=None):
    """Truncate each row's joint samples to ``samples >= lower`` and renormalise.

    Parameters
    ----------
    samples : numpy.ndarray, shape (n, S, D)
        Joint draws (model space); not modified.
    lower : numpy.ndarray, shape (D,)
        Lower bound per parameter (``-inf``: unbounded).
    n_groups : int
        Contiguous groups of draws (ensemble members, laid out as
        :func:`~astro_galflow.heads.ensemble.member_blocks`); a draw is replaced by one of
        its own group, so each member's spread (the aleatoric/epistemic split) stays its own.
    seeds : numpy.ndarray, optional
        Per-row seeds of the choice of replacement draws (the rows' noise seeds,
        :func:`astro_galflow.noise.row_seeds`), so a row's result does not depend on the
        other rows of its batch; default ``0, 1, 2...``.

    Returns
    -------
    truncated : numpy.ndarray, shape (n, S, D)
        Every draw inside the support. A group with no draw inside keeps its draws with
        the bounded parameters set to their bound.
    outside : numpy.ndarray, shape (n,)
        Share of each row's draws that had a parameter below its bound.
    """
    from astro_galflow.heads.ensemble import member_blocks

    samples = np.asarray(samples)
    lower = np.asarray(lower, dtype=samples.dtype)
    out = samples.copy()
    with np.errstate(invalid="ignore"):
        bad = (samples < lower).any(axis=2)  # (n, S); NaN draws are not "outside"
    outside = bad.mean(axis=1)
    seeds = np.arange(len(samples)) if seeds is None else np.asarray(seeds)
    blocks = [(a, b) for a, b in member_blocks(samples.shape[1], max(int(n_groups), 1)) if b > a]
    for row in np.flatnonzero(bad.any(axis=1)):
        rng = np.random.default_rng([int(seeds[row]), 1])  # this row's own stream
        for start, stop in blocks:
            block_bad = bad[row, start:stop]
            if not block_bad.any():
                continue
            good = np.flatnonzero(~block_bad) + start
            holes = np.flatnonzero(block_bad) + start
            if good.size:
                out[row, holes] = samples[row, rng.choice(good, size=holes.size)]
            else:
                out[row, holes] = np.maximum(samples[row, holes], lower)
    return out, outside


def apply_physical_support(samples: np.ndarray, parameters, *, n_groups: int = 1, seeds=None):
    """:func:`truncate_to_support` with the bounds of ``parameters``; rows to flag.

    Returns
    -------
    samples : numpy.ndarray, shape (n, S, D)
    flagged : numpy.ndarray, shape (n,)
        bool: more than :data:`NOTICEABLE_OUTSIDE` of the row's raw draws were outside
        (``OUTSIDE_PHYSICAL_SUPPORT``).
    """
    lower = lower_bounds_in_model_space(parameters)
    if not np.isfinite(lower).any():
        return np.asarray(samples), np.zeros(len(samples), dtype=bool)
    truncated, outside = truncate_to_support(samples, lower, n_groups=n_groups, seeds=seeds)
    return truncated, outside > NOTICEABLE_OUTSIDE
