"""The simulated survey as a data source (built-in plugin; the embedded default).

Importing this module is cheap: the simulation package (and GalSim) are imported when
:meth:`SimulatedSource.simulate` runs.
"""

from __future__ import annotations

import astropy.units as u

from astro_galflow.plugins import hookimpl
from astro_galflow.sources.base import DataSource

__all__ = ["SimulatedSource"]


class SimulatedSource(DataSource):
    """Galaxies drawn from published scaling relations, observed like the SDSS Main Galaxy Sample.

    Truth (stellar mass, SFR, redshift, black-hole mass, metallicity, emission lines),
    ugriz photometry with SDSS errors and GalSim gri cutouts at 0.396 arcsec/pixel; see
    :doc:`/user_guide/simulated_survey` and :mod:`astro_galflow.simulation`.

    Parameters
    ----------
    seed : int
        Seed of every random draw: the same seed and ``n`` give identical tables and images.
    footprint : tuple of 4 float, optional
        ``(ra_min, ra_max, dec_min, dec_max)`` in degrees; default RA 148-152, Dec 0.2-4.2.
    """

    name = "simulated"
    survey = "simulated"
    photometry_bands = ("u", "g", "r", "i", "z")
    image_bands = ("g", "r", "i")
    pixel_scale = 0.396 * u.arcsec

    def __init__(self, *, seed: int = 0, footprint=None):
        from astro_galflow.simulation.footprint import check_footprint

        self.seed = int(seed)
        self.footprint = check_footprint(footprint)

    def simulate(self, n: int, *, render: bool = True, cutouts_path=None, progress: bool = False):
        """Simulate ``n`` galaxies that pass the Main Galaxy Sample cut r < 17.77.

        Parameters
        ----------
        n : int
            Number of galaxies.
        render : bool
            Render gri cutouts (GalSim, ~several hundred galaxies/s); False gives a
            photometry-only catalog in about a second per 10^4 galaxies.
        cutouts_path : path-like, optional
            Render straight into this ``.npy`` memmap instead of RAM (use
            :func:`astro_galflow.cutouts.cutouts_path_for` of the catalog path you will
            write, so :meth:`SimulatedCatalog.write` need not copy it).
        progress : bool
            Show a progress bar while rendering.

        Returns
        -------
        astro_galflow.simulation.catalog.SimulatedCatalog
        """
        from astro_galflow.simulation.survey import simulate_survey

        return simulate_survey(
            n,
            seed=self.seed,
            footprint=self.footprint,
            render_images=render,
            cutouts_path=cutouts_path,
            progress=progress,
        )

    def __repr__(self) -> str:
        return f"<SimulatedSource 'simulated': seed {self.seed}, footprint {self.footprint}>"


@hookimpl
def galflow_register_sources(registry):
    """Register :class:`SimulatedSource`."""
    registry.add(SimulatedSource)
