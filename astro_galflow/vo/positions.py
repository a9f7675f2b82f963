"""Posteriors for a list of sky positions: positions -> TAP upload -> photometry -> posteriors."""

from __future__ import annotations

import astropy.units as u

__all__ = ["infer_at_positions"]


def infer_at_positions(positions, *, source, radius=1 * u.arcsec, config=None, pm=None, model=None, cutouts=None):
    """Fetch the survey photometry of each position and infer its posteriors.

    One output row per input position, in order: a position with no catalog object
    within ``radius`` keeps its coordinates and gets ``BAD_PHOTOMETRY`` and
    ``NO_POSTERIOR`` flags (never a lost row).

    Parameters
    ----------
    positions : astropy.table.Table or astropy.coordinates.SkyCoord
        Table with ``ra``/``dec`` columns (degrees), or coordinates.
    source : astro_galflow.sources.base.DataSource
        A VO source with ``query_objects`` (e.g. ``SDSSSource(tap_url=...)``).
    radius : `~astropy.units.Quantity`
        Match radius.
    config : astro_galflow.config.GalflowConfig, optional
        Run options (model, samples, seed ...).
    pm, model : optional
        Plugin manager and loaded model, built from ``config`` if omitted.
    cutouts : numpy.ndarray, optional
        Cutouts aligned with the positions, for image models.

    Returns
    -------
    astropy.table.QTable
        The posterior table, with the survey's ``source_id`` (-1 where unmatched).
    """
    from astropy.coordinates import SkyCoord
    from astropy.table import QTable

    from astro_galflow.pipeline import infer_table

    if isinstance(positions, SkyCoord):
        icrs = positions.icrs
        positions = QTable({"ra": icrs.ra.to(u.deg), "dec": icrs.dec.to(u.deg)})
    photometry = source.query_objects(positions, radius=radius)
    return infer_table(photometry, cutouts, config=config, pm=pm, model=model, source=source)
