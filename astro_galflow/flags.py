"""The ``posterior_flags`` bitmask and its decoder."""

from __future__ import annotations

import enum

import numpy as np

__all__ = ["PosteriorFlag", "decode_flags", "flag_descriptions"]


class PosteriorFlag(enum.IntFlag):
    """Bits of the ``posterior_flags`` column. ``0`` means nothing to report."""

    #: A magnitude the model needs is missing, masked, NaN or infinite.
    BAD_PHOTOMETRY = 1
    #: Photometric errors were absent; survey-typical errors were assumed.
    MISSING_ERRORS = 2
    #: Magnitudes are not extinction-corrected and no extinction column was given.
    NO_EXTINCTION_CORRECTION = 4
    #: The cutout is missing, of the wrong shape, all-NaN or constant.
    BAD_CUTOUT = 8
    #: Inputs lie outside the density of the model's training features (``ood_score`` > 0);
    #: the posterior is tempered toward the training distribution (:mod:`astro_galflow.domain`).
    OUTSIDE_TRAINING_DOMAIN = 16
    #: No posterior could be computed; posterior columns are NaN for this row.
    NO_POSTERIOR = 32
    #: ``ra``/``dec`` missing or out of range; ``_healpix_29`` is -1.
    BAD_POSITION = 64
    #: A flux in the input was zero or negative, so its magnitude is undefined.
    NONPOSITIVE_FLUX = 128
    #: A noticeable share (> 5 %) of the raw posterior fell below a physical bound (z < 0, a
    #: line flux < 0) and was truncated away (:mod:`astro_galflow.support`).
    OUTSIDE_PHYSICAL_SUPPORT = 256


_DESCRIPTIONS = {
    PosteriorFlag.BAD_PHOTOMETRY: "a required magnitude is missing, masked, NaN or infinite",
    PosteriorFlag.MISSING_ERRORS: "photometric errors absent; typical errors assumed",
    PosteriorFlag.NO_EXTINCTION_CORRECTION: "magnitudes not extinction-corrected",
    PosteriorFlag.BAD_CUTOUT: "cutout missing, wrong shape, all-NaN or constant",
    PosteriorFlag.OUTSIDE_TRAINING_DOMAIN: "inputs outside the training domain; posterior tempered toward the training distribution",
    PosteriorFlag.NO_POSTERIOR: "no posterior computed; posterior columns are NaN",
    PosteriorFlag.BAD_POSITION: "ra/dec missing or out of range",
    PosteriorFlag.NONPOSITIVE_FLUX: "zero or negative input flux",
    PosteriorFlag.OUTSIDE_PHYSICAL_SUPPORT: "over 5 % of the raw posterior fell below a physical bound and was truncated",
}


def flag_descriptions() -> dict[str, str]:
    """``{flag name: description}`` for every bit, in bit order (for table meta and docs)."""
    return {flag.name: _DESCRIPTIONS[flag] for flag in PosteriorFlag}


def decode_flags(value) -> list[str] | list[list[str]]:
    """Names of the bits set in ``value``.

    Parameters
    ----------
    value : int or array-like of int
        One flag value or a column of them.

    Returns
    -------
    list of str, or list of list of str for array input
    """
    if np.ndim(value) == 0:
        value = int(value)
        return [flag.name for flag in PosteriorFlag if value & flag]
    return [decode_flags(int(v)) for v in np.asarray(value).ravel()]
