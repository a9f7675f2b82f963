"""Emission-line fibre fluxes, their measurement errors and metallicity detectability.

Two components add up in the 3-arcsec fibre:

* **Star formation** (H II regions): Halpha from the SFR (Kennicutt & Evans 2012),
  attenuated by the mass-dependent A(Halpha) of Garn & Best (2010) with the Calzetti et
  al. (2000) curve (so Halpha/Hbeta is the Balmer decrement), and [N II] / [O III] from
  the gas metallicity through the Pettini & Pagel (2004) N2 and O3N2 calibrations.
* **Diffuse ionised gas of old stars** (LIER / "retired" emission, Cid Fernandes et al.
  2011, MNRAS 413, 1687): EW(Halpha) ~ 0.5 Angstrom on the stellar continuum with LIER
  ratios log [N II]/Halpha ~ 0.15 and log [O III]/Hbeta ~ 0.1 (Yan & Blanton 2012, ApJ
  747, 61). It dominates the lines of quenched galaxies.

A galaxy's metallicity is *detectable*, as in the MPA-JHU catalogue (Brinchmann et al.
2004, MNRAS 351, 1151; Tremonti et al. 2004), when all four lines are measured at S/N > 3
and its line ratios are those of star formation on the BPT diagram: below the
Kewley et al. (2001, ApJ 556, 121) maximum-starburst line, so composites whose [N II]
is boosted by the LIER component count, as in SDSS samples that keep star-forming and
composite galaxies. Kauffmann et al. (2003, MNRAS 346, 1055) pure star formers alone
would exclude most massive disks here because the Pettini & Pagel N2 calibration
saturates at N2 = -0.3.
"""

from __future__ import annotations

import numpy as np

from astro_galflow.simulation import relations

__all__ = ["LINE_ERROR_FLOOR", "line_fluxes", "line_errors", "below_maximum_starburst", "metallicity_detectable"]

_C_ANGSTROM_S = 2.99792458e18
_NMGY_CGS = 3.631e-29  # erg/s/cm^2/Hz per nanomaggy
_MPC_CM = 3.0856775814913673e24
_HALPHA_ANGSTROM = 6562.8
LINES = ("flux_halpha", "flux_hbeta", "flux_nii_6584", "flux_oiii_5007")

#: Error (1e-17 erg/s/cm^2) of a line on a faint continuum, set so that the median
#: simulated errors equal the median MPA-JHU galSpecLine errors (3.3, 2.5, 2.7, 2.6 for
#: Halpha, Hbeta, [N II], [O III]) of the 206 galaxies with z <= 0.3 and Petrosian
#: r < 17.77 in ``shared/data/sdss/skyserver_mpajhu_sample/joined_specphoto_galspecline.csv``.
LINE_ERROR_FLOOR = {"flux_halpha": 1.85, "flux_hbeta": 1.4, "flux_nii_6584": 1.5, "flux_oiii_5007": 1.45}


def continuum_flambda(fiber_flux_r_nmgy, redshift):
    """Observed continuum ``f_lambda`` near Halpha (1e-17 erg/s/cm^2/A) from the fibre r flux."""
    lam = _HALPHA_ANGSTROM * (1.0 + np.asarray(redshift, float))
    return np.asarray(fiber_flux_r_nmgy, float) * _NMGY_CGS * _C_ANGSTROM_S / lam**2 / 1e-17


def line_fluxes(rng, *, log_mstar, log_sfr, oh_12, redshift, d_lum_mpc, sf_fiber_fraction, fiber_flux_r_nmgy):
    """True fibre fluxes (1e-17 erg/s/cm^2) of Halpha, Hbeta, [N II] 6584 and [O III] 5007.

    Parameters
    ----------
    rng : numpy.random.Generator
    log_mstar, log_sfr, oh_12, redshift : numpy.ndarray
        Truth of each galaxy.
    d_lum_mpc : numpy.ndarray
        Luminosity distance (Mpc).
    sf_fiber_fraction : numpy.ndarray
        Fraction of the star-forming disk inside the fibre.
    fiber_flux_r_nmgy : numpy.ndarray
        Stellar r-band flux inside the fibre (nanomaggies), the LIER continuum.

    Returns
    -------
    dict of numpy.ndarray
        Keyed by the line parameter names of :mod:`astro_galflow.params`.
    """
    n = len(log_mstar)
    area = 4.0 * np.pi * (np.asarray(d_lum_mpc) * _MPC_CM) ** 2
    a_ha = np.clip(relations.halpha_attenuation(log_mstar) + rng.normal(0.0, 0.28, n), 0.0, None)
    a_hb = a_ha * 4.60 / 3.33
    ha_int = relations.halpha_luminosity_from_sfr(log_sfr) / area * sf_fiber_fraction / 1e-17
    ha_sf = ha_int * 10.0 ** (-0.4 * a_ha)
    hb_sf = ha_int / relations.CASE_B_HALPHA_HBETA * 10.0 ** (-0.4 * a_hb)
    n2 = relations.n2_from_metallicity(oh_12) + rng.normal(0.0, 0.05, n)
    o3n2 = relations.o3n2_from_metallicity(oh_12) + rng.normal(0.0, 0.05, n)
    nii_sf = ha_sf * 10.0**n2
    oiii_sf = hb_sf * 10.0 ** (o3n2 + n2)

    ew = 10.0 ** rng.normal(-0.3, 0.25, n) * (1.0 + np.asarray(redshift, float))
    ha_lier = ew * continuum_flambda(fiber_flux_r_nmgy, redshift)
    hb_lier = ha_lier / 3.1
    nii_lier = ha_lier * 10.0 ** rng.normal(0.15, 0.12, n)
    oiii_lier = hb_lier * 10.0 ** rng.normal(0.1, 0.2, n)
    return {
        "flux_halpha": ha_sf + ha_lier,
        "flux_hbeta": hb_sf + hb_lier,
        "flux_nii_6584": nii_sf + nii_lier,
        "flux_oiii_5007": oiii_sf + oiii_lier,
    }


def line_errors(fiber_flux_r_nmgy, redshift):
    """1-sigma line-flux errors: the floor, growing with the continuum's photon noise."""
    cont = continuum_flambda(fiber_flux_r_nmgy, redshift)
    scale = np.sqrt(1.0 + cont / 5.0)
    return {name: floor * scale for name, floor in LINE_ERROR_FLOOR.items()}


def below_maximum_starburst(nii_halpha, oiii_hbeta):
    """True below the Kewley et al. (2001) line ``log O3 = 0.61 / (log N2 - 0.47) + 1.19``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.log10(nii_halpha)
        y = np.log10(oiii_hbeta)
        return (x < 0.47) & (y < 0.61 / (x - 0.47) + 1.19)


def metallicity_detectable(rng, fluxes, errors):
    """Whether an SDSS spectrum would give a metallicity: S/N > 3 in all four lines, BPT star-forming.

    Returns
    -------
    detectable : numpy.ndarray of bool
    measured : dict of numpy.ndarray
        The noisy measured fluxes the decision used.
    """
    measured = {k: fluxes[k] + rng.normal(0.0, 1.0, len(fluxes[k])) * errors[k] for k in LINES}
    snr_ok = np.all([measured[k] > 3.0 * errors[k] for k in LINES], axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        sf = below_maximum_starburst(
            measured["flux_nii_6584"] / measured["flux_halpha"], measured["flux_oiii_5007"] / measured["flux_hbeta"]
        )
    return snr_ok & sf, measured
