"""Galaxy colours: SED templates redshifted through the SDSS filters (K-corrections).

Templates are the Coleman, Wu & Weedman (1980, ApJS 43, 393) E, Sbc, Scd and Im spectra
as extended to the UV and near-IR by Bolzonella, Miralles & Pello (2000, A&A 363, 476),
shipped with GalSim (``galsim/share/SEDs/CWW_*_ext.sed``). Filters are the SDSS 2.5 m
reference responses at airmass 1.3 of Doi et al. (2010, AJ 139, 1628), stored in
``astro_galflow/data/sdss_filters.ecsv``.

A template mixture is described by a continuous *type* ``t`` in [0, 3] (0 = E, 1 = Sbc,
2 = Scd, 3 = Im), interpolated linearly in flux between the two neighbouring templates
after normalising each to unit rest-frame r-band luminosity density.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
from astropy.table import Table

__all__ = ["TEMPLATE_NAMES", "BANDS", "band_response_grid", "mixture_weights", "KCorrectionGrid"]

TEMPLATE_NAMES = ("E", "Sbc", "Scd", "Im")
BANDS = ("u", "g", "r", "i", "z")
_FILTERS_FILE = Path(__file__).resolve().parent.parent / "data" / "sdss_filters.ecsv"


def _galsim_share() -> Path:
    # find_spec locates GalSim's data without importing GalSim (a slow import).
    spec = importlib.util.find_spec("galsim")
    return Path(spec.submodule_search_locations[0]) / "share" / "SEDs"


def _read_template(name: str) -> tuple[np.ndarray, np.ndarray]:
    data = np.loadtxt(_galsim_share() / f"CWW_{name}_ext.sed", comments="#")
    return data[:, 0], data[:, 1]


def _read_filters() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    table = Table.read(_FILTERS_FILE, format="ascii.ecsv")
    out = {}
    for band in BANDS:
        rows = table["band"] == band
        out[band] = (np.asarray(table["wavelength"][rows], float), np.asarray(table["response"][rows], float))
    return out


def band_response_grid(template_wave, template_flambda, filters, redshifts) -> np.ndarray:
    """Band-averaged observed ``f_nu`` of a template at each redshift, shape (n_bands, n_z).

    ``A_X(z) = (1 + z) <L_nu(lambda / (1 + z))>_X`` with the photon-counting AB average
    ``<f>_X = int f R dlambda/lambda / int R dlambda/lambda`` (Hogg et al. 2002,
    arXiv:astro-ph/0210394, eq. 8): the observed flux density of a source of unit
    luminosity distance factor, so ``m_X = M + DM(z) - 2.5 log10(A_X(z) / A_r(0))``.
    """
    l_nu = template_flambda * template_wave**2
    out = np.empty((len(filters), len(redshifts)))
    for b, (wave, resp) in enumerate(filters.values()):
        fine = np.linspace(wave[0], wave[-1], 600)
        r = np.interp(fine, wave, resp)
        norm = np.trapezoid(r / fine, fine)
        for k, z in enumerate(redshifts):
            rest = np.interp(fine / (1.0 + z), template_wave, l_nu)
            out[b, k] = (1.0 + z) * np.trapezoid(rest * r / fine, fine) / norm
    return out


def mixture_weights(t) -> np.ndarray:
    """Weights (n, 4) of the four templates for continuous types ``t`` in [0, 3]."""
    t = np.clip(np.asarray(t, dtype=float), 0.0, 3.0)
    lo = np.minimum(np.floor(t).astype(int), 2)
    frac = t - lo
    w = np.zeros((t.size, len(TEMPLATE_NAMES)))
    rows = np.arange(t.size)
    w[rows, lo] = 1.0 - frac
    w[rows, lo + 1] += frac
    return w


class KCorrectionGrid:
    """Tabulated ``-2.5 log10 A_X(z)`` of the four templates on a redshift grid.

    Parameters
    ----------
    z_max : float
        Largest redshift tabulated.
    n_z : int
        Number of grid points (linear in z).
    """

    def __init__(self, z_max: float = 0.35, n_z: int = 141):
        self.redshifts = np.linspace(0.0, z_max, n_z)
        filters = _read_filters()
        grids = []
        for name in TEMPLATE_NAMES:
            wave, flam = _read_template(name)
            grid = band_response_grid(wave, flam, filters, self.redshifts)
            grids.append(grid / grid[BANDS.index("r"), 0])
        #: (n_templates, n_bands, n_z): band flux of unit rest-frame r luminosity.
        self.response = np.stack(grids)

    def band_flux(self, weights, redshift) -> np.ndarray:
        """``A_X(z)`` (n, n_bands) of template mixtures ``weights`` (n, 4) at ``redshift`` (n,)."""
        z = np.asarray(redshift, dtype=float)
        pos = np.clip(z / self.redshifts[-1] * (self.redshifts.size - 1), 0, self.redshifts.size - 1 - 1e-9)
        i = pos.astype(int)
        f = pos - i
        per_template = self.response[:, :, i] * (1 - f) + self.response[:, :, i + 1] * f  # (4, bands, n)
        return np.einsum("nk,kbn->nb", np.asarray(weights, float), per_template)

    def rest_colour(self, weights, blue: str = "g", red: str = "r") -> np.ndarray:
        """Rest-frame ``blue - red`` AB colour of template mixtures."""
        a = self.band_flux(weights, np.zeros(len(weights)))
        return -2.5 * np.log10(a[:, BANDS.index(blue)] / a[:, BANDS.index(red)])


@lru_cache(maxsize=1)
def default_grid() -> KCorrectionGrid:
    """The grid the population uses (built once per process, ~0.1 s)."""
    return KCorrectionGrid()
