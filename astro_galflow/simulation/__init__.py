"""The simulated survey: truth from published scaling relations, SDSS-like photometry and GalSim cutouts.

Modules: :mod:`~.relations` (the relations), :mod:`~.sed` (colours), :mod:`~.morphology`,
:mod:`~.lines`, :mod:`~.photometry` (SDSS depth), :mod:`~.population` (truth draws),
:mod:`~.render` (GalSim images), :mod:`~.footprint`, :mod:`~.survey` (assembly),
:mod:`~.catalog` (files) and :mod:`~.compare` (check against the real SDSS MGS).
Use it through :class:`astro_galflow.sources.simulated.SimulatedSource`.
"""

from astro_galflow.simulation.catalog import SimulatedCatalog, read_simulated_catalog

__all__ = ["SimulatedCatalog", "read_simulated_catalog"]
