"""Bulge + disk light profiles: component radii, enclosed light and fibre fractions.

A galaxy is an exponential disk (Sersic n = 1) plus a de Vaucouleurs bulge (n = 4)
whose half-light radius is :data:`BULGE_TO_DISK_RADIUS` times the disk's, about the
typical of SDSS bulge + disk decompositions (Gadotti 2009, MNRAS 393, 1531).
Given the galaxy's half-light radius and bulge light fraction, the disk radius follows by
solving the enclosed light of the sum, so the catalog's ``half_light_radius`` is the true
(circularised, pre-PSF) half-light radius of the rendered profile.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.optimize import brentq
from scipy.special import gammainc, gammaincinv

__all__ = [
    "BULGE_TO_DISK_RADIUS",
    "FIBER_RADIUS_ARCSEC",
    "enclosed_fraction",
    "disk_radius",
    "fiber_fraction",
]

BULGE_TO_DISK_RADIUS = 0.4
#: SDSS spectroscopic fibre radius (3 arcsec diameter; York et al. 2000, AJ 120, 1579).
FIBER_RADIUS_ARCSEC = 1.5


def _sersic_enclosed(r_over_re, n):
    # Light within r of a Sersic profile: gamma(2n, b_n (r/re)^(1/n)) / Gamma(2n)
    # (Graham & Driver 2005, PASA 22, 118, eq. 2).
    b = gammaincinv(2.0 * n, 0.5)
    return gammainc(2.0 * n, b * np.asarray(r_over_re, float) ** (1.0 / n))


def enclosed_fraction(radius, disk_hlr, bulge_hlr, bulge_fraction):
    """Fraction of light within ``radius`` of a circular bulge + disk (same length unit)."""
    bf = np.asarray(bulge_fraction, float)
    return (1.0 - bf) * _sersic_enclosed(radius / disk_hlr, 1.0) + bf * _sersic_enclosed(radius / bulge_hlr, 4.0)


@lru_cache(maxsize=1)
def _hlr_ratio_table() -> tuple[np.ndarray, np.ndarray]:
    fractions = np.linspace(0.0, 1.0, 201)
    ratios = np.array(
        [brentq(lambda r, b=b: enclosed_fraction(r, 1.0, BULGE_TO_DISK_RADIUS, b) - 0.5, 1e-3, 10.0) for b in fractions]
    )
    return fractions, ratios


def disk_radius(half_light_radius, bulge_fraction):
    """Disk half-light radius giving the composite ``half_light_radius`` at ``bulge_fraction``."""
    fractions, ratios = _hlr_ratio_table()
    return np.asarray(half_light_radius, float) / np.interp(bulge_fraction, fractions, ratios)


def fiber_fraction(half_light_radius, psf_fwhm):
    """Approximate fraction of a component's light inside the 3-arcsec SDSS fibre.

    The profile is treated as exponential with its half-light radius broadened by the
    seeing in quadrature (``sqrt(hlr^2 + (FWHM/2)^2)``; exact for Gaussians, whose
    half-light radius is FWHM/2). Arguments in arcsec.
    """
    eff = np.sqrt(np.asarray(half_light_radius, float) ** 2 + (psf_fwhm / 2.0) ** 2)
    return _sersic_enclosed(FIBER_RADIUS_ARCSEC / eff, 1.0)
