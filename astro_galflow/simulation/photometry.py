"""SDSS imaging depth: sky noise, gain and seeing per band, and the flux errors they imply.

Numbers are representative of SDSS DR7 imaging (Stoughton et al. 2002, AJ 123, 485;
Abazajian et al. 2009, ApJS 182, 543): dark-sky surface brightness
``u, g, r, i, z = 22.4, 21.9, 20.9, 20.3, 19.0`` mag/arcsec^2, median r-band seeing
1.3-1.4 arcsec, and photo-electrons per nanomaggy from the frames' ``NMGY`` calibration
(nanomaggies per count ~ 0.010, 0.0038, 0.0050, 0.0068, 0.030) times the CCD gains
(~1.6, 3.85, 4.7, 4.9, 4.8 e-/count). The sky per 0.396 arcsec pixel then has a Poisson
noise of 0.033, 0.016, 0.027, 0.041 and 0.157 nanomaggies in ugriz, so a galaxy at the
Main Galaxy Sample limit r = 17.77 has a model-magnitude error of ~0.01 mag in r.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "PIXEL_SCALE_ARCSEC",
    "PSF_FWHM_ARCSEC",
    "SKY_MAG_ARCSEC2",
    "ELECTRONS_PER_NMGY",
    "SDSS_MINUS_AB",
    "sky_sigma_nmgy",
    "nmgy_to_mag",
    "mag_to_nmgy",
    "effective_area_pix",
    "flux_error_nmgy",
    "mag_error",
]

PIXEL_SCALE_ARCSEC = 0.396
#: One PSF for all bands: the r-band median seeing; g is ~0.1" worse and i ~0.1" better.
PSF_FWHM_ARCSEC = 1.4
SKY_MAG_ARCSEC2 = {"u": 22.4, "g": 21.9, "r": 20.9, "i": 20.3, "z": 19.0}
ELECTRONS_PER_NMGY = {"u": 160.0, "g": 1013.0, "r": 940.0, "i": 720.0, "z": 160.0}
#: SDSS catalog magnitudes are close to AB except ``u_AB = u_SDSS - 0.04`` and
#: ``z_AB = z_SDSS + 0.02`` (Abazajian et al. 2004, AJ 128, 502, section 3.3); the
#: simulated catalog reports magnitudes in the SDSS system, like the real files.
SDSS_MINUS_AB = {"u": 0.04, "g": 0.0, "r": 0.0, "i": 0.0, "z": -0.02}


def mag_to_nmgy(mag):
    """AB magnitude to nanomaggies (``f = 10^(-0.4 (m - 22.5))``)."""
    return 10.0 ** (-0.4 * (np.asarray(mag, dtype=float) - 22.5))


def nmgy_to_mag(flux):
    """Nanomaggies to AB magnitude; NaN for non-positive fluxes."""
    flux = np.asarray(flux, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flux > 0, 22.5 - 2.5 * np.log10(flux), np.nan)


def sky_sigma_nmgy(band: str) -> float:
    """Per-pixel sky noise (nanomaggies) of a sky-subtracted SDSS frame in ``band``."""
    sky = mag_to_nmgy(SKY_MAG_ARCSEC2[band]) * PIXEL_SCALE_ARCSEC**2
    return float(np.sqrt(sky * ELECTRONS_PER_NMGY[band]) / ELECTRONS_PER_NMGY[band])


def effective_area_pix(hlr_arcsec):
    """Noise-equivalent area (pixels) of a galaxy of half-light radius ``hlr`` seen through the PSF.

    For a Gaussian of dispersion ``s`` the optimal (model-fit) noise area is
    ``4 pi s^2`` (King 1983, PASP 95, 163); ``s^2`` adds the galaxy's (``hlr / 1.177``)
    and the PSF's (``FWHM / 2.355``) in quadrature.
    """
    s2 = (np.asarray(hlr_arcsec, dtype=float) / 1.177) ** 2 + (PSF_FWHM_ARCSEC / 2.355) ** 2
    return 4.0 * np.pi * s2 / PIXEL_SCALE_ARCSEC**2


def flux_error_nmgy(flux_nmgy, hlr_arcsec, band: str):
    """1-sigma error of a model flux: sky noise over the effective area plus source Poisson noise."""
    flux = np.clip(np.asarray(flux_nmgy, dtype=float), 0.0, None)
    var = sky_sigma_nmgy(band) ** 2 * effective_area_pix(hlr_arcsec) + flux / ELECTRONS_PER_NMGY[band]
    return np.sqrt(var)


def mag_error(flux_nmgy, flux_err_nmgy):
    """Magnitude error of a flux and its error (``1.0857 sigma_f / f``)."""
    return 2.5 / np.log(10.0) * np.asarray(flux_err_nmgy, float) / np.asarray(flux_nmgy, float)
