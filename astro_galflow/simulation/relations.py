"""Published scaling relations the simulated survey draws its galaxies from.

Each function is one relation, in the units and conventions of the paper it comes
from (Chabrier/Kroupa IMF, stellar masses in solar masses, SFR in solar masses per
year). The intrinsic scatter each paper reports is a module constant next to the
relation, so :mod:`astro_galflow.simulation.population` adds exactly that.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "stellar_mass_function",
    "quenched_fraction",
    "main_sequence_log_sfr",
    "mass_metallicity",
    "velocity_dispersion",
    "black_hole_mass",
    "half_light_radius_kpc",
    "size_scatter_ln",
    "halpha_luminosity_from_sfr",
    "halpha_attenuation",
    "balmer_decrement",
    "n2_from_metallicity",
    "o3n2_from_metallicity",
    "SFMS_SCATTER_DEX",
    "QUENCHED_OFFSET_DEX",
    "QUENCHED_SCATTER_DEX",
    "MZR_SCATTER_DEX",
    "SIGMA_SCATTER_DEX",
    "CASE_B_HALPHA_HBETA",
    "calzetti_k",
    "stellar_ebv",
]

#: Intrinsic scatter of the star-forming main sequence (Speagle et al. 2014, ~0.2 dex).
SFMS_SCATTER_DEX = 0.2
#: Quenched galaxies sit ~1.8 dex below the main sequence at z ~ 0.1 (log sSFR ~ -12/yr),
#: with a broad 0.4 dex spread (Renzini & Peng 2015, ApJ 801, L29, their Fig. 1).
QUENCHED_OFFSET_DEX = -1.8
QUENCHED_SCATTER_DEX = 0.4
#: Scatter of the mass-metallicity relation about its median (Tremonti et al. 2004: 0.1 dex).
MZR_SCATTER_DEX = 0.1
#: Scatter of log sigma at fixed stellar mass (Zahid et al. 2016, ~0.07-0.1 dex).
SIGMA_SCATTER_DEX = 0.08
#: Intrinsic Halpha/Hbeta for Case B recombination at 10^4 K (Osterbrock & Ferland 2006).
CASE_B_HALPHA_HBETA = 2.86


def stellar_mass_function(log_mstar):
    """Galaxy stellar mass function phi(M) per dex per Mpc^3 at z < 0.06.

    Double Schechter fit of Baldry et al. (2012, MNRAS 421, 621; GAMA, their Table 1,
    Chabrier IMF, h = 0.7): ``M* = 10^10.66``, ``phi1 = 3.96e-3``, ``alpha1 = -0.35``,
    ``phi2 = 0.79e-3``, ``alpha2 = -1.47``.
    """
    x = 10.0 ** (np.asarray(log_mstar, dtype=float) - 10.66)
    return np.log(10.0) * np.exp(-x) * x * (3.96e-3 * x**-0.35 + 0.79e-3 * x**-1.47)


def quenched_fraction(log_mstar):
    """Fraction of quenched (red-sequence) galaxies at a stellar mass.

    Mass quenching plus a mass-independent environment-quenched floor, the form of
    Peng et al. (2010, ApJ 721, 193, eqs. 13-17 at z ~ 0):
    ``f_q = 1 - (1 - eps) exp(-M / M*)``, where mass quenching sets the Schechter ``M*``
    of star-forming galaxies (taken as the Baldry et al. 2012 ``10^10.66 Msun``), and
    ``eps = 0.05`` is the low-mass floor of environment quenching, chosen so that the
    simulated red-sequence/blue-cloud mix matches the SDSS MGS g - r distribution.
    """
    m = 10.0 ** (np.asarray(log_mstar, dtype=float) - 10.66)
    return 1.0 - 0.95 * np.exp(-m)


def main_sequence_log_sfr(log_mstar, age_gyr):
    """log SFR (Msun/yr) of the star-forming main sequence.

    Speagle et al. (2014, ApJS 214, 15, eq. 28, Kroupa IMF):
    ``log SFR = (0.84 - 0.026 t) log M* - (6.51 - 0.11 t)``, ``t`` the age of the
    Universe in Gyr.
    """
    t = np.asarray(age_gyr, dtype=float)
    return (0.84 - 0.026 * t) * np.asarray(log_mstar, dtype=float) - (6.51 - 0.11 * t)


def mass_metallicity(log_mstar):
    """Median gas-phase 12+log(O/H) at a stellar mass, on the PP04 O3N2 scale.

    Kewley & Ellison (2008, ApJ 681, 1183, Table 2, Pettini & Pagel O3N2 calibration):
    ``12+log(O/H) = 32.1488 - 8.51258 x + 0.976384 x^2 - 0.0359763 x^3``, ``x = log M*``,
    fitted over 8.5 < x < 11.5 (x is clipped to that range).
    """
    x = np.clip(np.asarray(log_mstar, dtype=float), 8.5, 11.5)
    return 32.1488 - 8.51258 * x + 0.976384 * x**2 - 0.0359763 * x**3


def velocity_dispersion(log_mstar):
    """Median stellar velocity dispersion (km/s) at a stellar mass.

    Broken power law of Zahid et al. (2016, ApJ 832, 203, eq. 5; SDSS + SHELS):
    ``log sigma = 2.07 + 0.286 (log M* - 10.26)`` above ``M_b = 10^10.26`` and slope
    0.403 below.
    """
    dx = np.asarray(log_mstar, dtype=float) - 10.26
    return 10.0 ** (2.07 + np.where(dx > 0, 0.286, 0.403) * dx)


def black_hole_mass(sigma_kms):
    """log M_BH (Msun) from the stellar velocity dispersion.

    McConnell & Ma (2013, ApJ 764, 184, Table 2, all galaxies):
    ``log M_BH = 8.32 + 5.64 log10(sigma / 200 km/s)``.
    """
    return 8.32 + 5.64 * np.log10(np.asarray(sigma_kms, dtype=float) / 200.0)


def half_light_radius_kpc(log_mstar, early_type):
    """Median r-band half-light radius (kpc) at a stellar mass.

    Shen et al. (2003, MNRAS 343, 978, eqs. 17-18; SDSS Sersic fits):
    early types ``R = 2.88e-6 M^0.56``; late types
    ``R = 0.1 M^0.14 (1 + M / 3.98e10)^0.25``.
    """
    m = 10.0 ** np.asarray(log_mstar, dtype=float)
    early = 2.88e-6 * m**0.56
    late = 0.1 * m**0.14 * (1.0 + m / 3.98e10) ** (0.39 - 0.14)
    return np.where(early_type, early, late)


def size_scatter_ln(log_mstar, early_type):
    """Scatter of ln R at fixed mass (Shen et al. 2003, eq. 19 and Table 1).

    ``sigma_lnR = s2 + (s1 - s2) / (1 + (M / M0)^2)`` with ``(s1, s2, M0)`` =
    ``(0.47, 0.34, 3.98e10)`` for late and ``(0.45, 0.27, 2.0e10)`` for early types.
    """
    m = 10.0 ** np.asarray(log_mstar, dtype=float)
    late = 0.34 + 0.13 / (1.0 + (m / 3.98e10) ** 2)
    early = 0.27 + 0.18 / (1.0 + (m / 2.0e10) ** 2)
    return np.where(early_type, early, late)


def halpha_luminosity_from_sfr(log_sfr):
    """Dust-free Halpha luminosity (erg/s) of a star-formation rate.

    Kennicutt & Evans (2012, ARA&A 50, 531, Table 1, Kroupa IMF):
    ``log SFR = log L(Halpha) - 41.27``.
    """
    return 10.0 ** (np.asarray(log_sfr, dtype=float) + 41.27)


def halpha_attenuation(log_mstar):
    """Median Halpha attenuation A(Halpha) in magnitudes at a stellar mass.

    Garn & Best (2010, MNRAS 409, 421, eq. 8; SDSS Balmer decrements):
    ``A = 0.91 + 0.77 X + 0.11 X^2 - 0.09 X^3``, ``X = log(M* / 10^10)``, floored at 0.
    """
    x = np.asarray(log_mstar, dtype=float) - 10.0
    return np.clip(0.91 + 0.77 * x + 0.11 * x**2 - 0.09 * x**3, 0.0, None)


def balmer_decrement(a_halpha):
    """Observed Halpha/Hbeta for an Halpha attenuation, with the Calzetti et al. (2000) curve.

    Calzetti et al. (2000, ApJ 533, 682) give ``k(Halpha) = 3.33`` and ``k(Hbeta) = 4.60``;
    ``E(B-V) = A(Halpha) / k(Halpha)`` and the Case B ratio is reddened by
    ``10^(0.4 E(B-V) (k(Hbeta) - k(Halpha)))``.
    """
    ebv = np.asarray(a_halpha, dtype=float) / 3.33
    return CASE_B_HALPHA_HBETA * 10.0 ** (0.4 * ebv * (4.60 - 3.33))


def n2_from_metallicity(oh_12):
    """``N2 = log([N II] 6584 / Halpha)`` of a metallicity.

    Inverse of the Pettini & Pagel (2004, MNRAS 348, L59, eq. 2) cubic N2 calibration
    ``12+log(O/H) = 9.37 + 2.03 N2 + 1.26 N2^2 + 0.32 N2^3``, monotonic over its
    validity range -2.5 < N2 < -0.3 (metallicities outside map to the ends).
    """
    n2 = np.linspace(-2.5, -0.3, 2201)
    return np.interp(np.asarray(oh_12, dtype=float), 9.37 + 2.03 * n2 + 1.26 * n2**2 + 0.32 * n2**3, n2)


def o3n2_from_metallicity(oh_12):
    """``O3N2 = log(([O III] 5007 / Hbeta) / ([N II] 6584 / Halpha))`` of a metallicity.

    Inverse of the Pettini & Pagel (2004) O3N2 calibration ``12+log(O/H) = 8.73 - 0.32 O3N2``.
    """
    return (8.73 - np.asarray(oh_12, dtype=float)) / 0.32


def calzetti_k(wavelength_angstrom):
    """Calzetti et al. (2000, ApJ 533, 682, eq. 4) attenuation curve ``k(lambda)``, ``R_V = 4.05``."""
    lam = np.asarray(wavelength_angstrom, dtype=float) / 1e4
    blue = 2.659 * (-2.156 + 1.509 / lam - 0.198 / lam**2 + 0.011 / lam**3) + 4.05
    red = 2.659 * (-1.857 + 1.040 / lam) + 4.05
    return np.where(lam < 0.63, blue, red)


def stellar_ebv(a_halpha):
    """Stellar-continuum ``E(B-V)`` from the nebular Halpha attenuation.

    Stars suffer 0.44 times the nebular colour excess (Calzetti et al. 2000, eq. 3),
    and ``E(B-V)_gas = A(Halpha) / k(Halpha)`` with ``k(Halpha) = 3.33``.
    """
    return 0.44 * np.asarray(a_halpha, dtype=float) / 3.33
