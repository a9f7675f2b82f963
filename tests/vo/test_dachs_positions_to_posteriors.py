"""Positions -> TAP upload -> photometry -> posteriors, against the local DaCHS and the real sdss-photoz model."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from astro_galflow.config import GalflowConfig
from astro_galflow.flags import PosteriorFlag
from astro_galflow.table import validate_posterior_table
from astro_galflow.vo.positions import infer_at_positions

pytestmark = pytest.mark.dachs


def test_positions_to_posteriors(sdss, tap_url):
    from .test_dachs_sources import _direct

    truth = _direct(
        tap_url,
        "SELECT TOP 40 s.ra, s.dec, s.z FROM dbo.specphoto AS s WHERE s.class = 'GALAXY' AND s.z > 0.02 "
        "AND s.z < 0.3 ORDER BY s.specobjid",
    )
    coords = SkyCoord(np.r_[np.asarray(truth["ra"]), 10.0], np.r_[np.asarray(truth["dec"]), -80.0], unit="deg")
    config = GalflowConfig(model="sdss-photoz", n_samples=200, seed=0, backend="eager")
    post = infer_at_positions(coords, source=sdss, radius=1 * u.arcsec, config=config)
    validate_posterior_table(post)
    assert len(post) == len(coords)
    assert post["posterior_flags"][-1] & PosteriorFlag.NO_POSTERIOR and np.isnan(post["redshift_mean"][-1])
    matched = np.isfinite(post["redshift_p50"][:-1])
    assert matched.mean() > 0.9
    dz = np.abs(post["redshift_p50"][:-1][matched] - np.asarray(truth["z"])[matched]) / (
        1 + np.asarray(truth["z"])[matched]
    )
    assert np.median(dz) < 0.03
