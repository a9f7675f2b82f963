"""Small, valid input catalogs for tests."""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy.table import QTable

from astro_galflow.inputs import SDSS_BANDS, mag_column, magerr_column

__all__ = ["make_input_table"]


def make_input_table(n: int = 16, *, seed: int = 0, ra_center: float = 180.0, dec_center: float = 0.0) -> QTable:
    """An input table in the host's convention with SDSS-like galaxy photometry.

    Magnitudes follow typical Main Galaxy Sample colours (r in 14.5-17.7); they are not
    drawn from the simulated survey, so they work without GalSim or a model.

    Parameters
    ----------
    n : int
        Number of rows.
    seed : int
        Seed of the random draws.
    ra_center, dec_center : float
        Centre of the 1-degree patch the positions fall in (degrees).
    """
    rng = np.random.default_rng(seed)
    r = rng.uniform(14.5, 17.7, n)
    colours = {"u": 1.7, "g": 0.75, "r": 0.0, "i": -0.38, "z": -0.70}
    table = QTable()
    table["source_id"] = np.arange(1, n + 1, dtype=np.int64)
    table["ra"] = (ra_center + rng.uniform(-0.5, 0.5, n)) * u.deg
    table["dec"] = (dec_center + rng.uniform(-0.5, 0.5, n)) * u.deg
    for band in SDSS_BANDS:
        scatter = 0.3 if band == "u" else 0.08
        table[mag_column(band)] = (r + colours[band] + rng.normal(0, scatter, n)) * u.mag
        table[magerr_column(band)] = np.full(n, 0.05 if band == "u" else 0.01) * u.mag
    table.meta["extinction_corrected"] = True
    return table
