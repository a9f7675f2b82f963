"""SIA cutouts (v1 and v2) and their photutils preprocessing, against the local DaCHS."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable

from astro_galflow.vo.images import MissingImageWarning, centroid_offset

pytestmark = pytest.mark.dachs


@pytest.fixture(scope="module")
def image_targets(tap_url):
    """Per survey, the positions the served images were made around (their FITS headers' targets)."""
    from astro_galflow.vo.tap import run_query

    t = run_query(
        tap_url,
        "SELECT DISTINCT survey, object, centerAlpha AS c_ra, centerDelta AS c_dec FROM galflow_img.main",
        service="test",
    )
    return t


def _galaxy_positions(tap_url, table, ra_col, dec_col, extra, n):
    from astro_galflow.vo.tap import run_query

    return run_query(tap_url, f"SELECT TOP {n} {ra_col} AS ra, {dec_col} AS dec FROM {table} {extra}", service="t")


def test_sdss_cutouts_are_centred_background_free_and_masked(sdss, tap_url):
    # the images were made around the first MGS galaxies by specObjID (see .ci/dachs/gen_data.py)
    pos = _galaxy_positions(
        tap_url,
        "dbo.specphoto AS s JOIN dbo.galspecinfo AS i ON i.specobjid = s.specobjid",
        "s.ra",
        "s.dec",
        "WHERE i.targettype = 'GALAXY' AND s.z > 0 AND s.z <= 0.3 AND s.zwarning = 0 ORDER BY s.specobjid",
        2,
    )
    t = QTable({"ra": np.asarray(pos["ra"]) * u.deg, "dec": np.asarray(pos["dec"]) * u.deg})
    raw = sdss.get_cutouts(t, preprocess=False)
    done = sdss.get_cutouts(t)
    assert raw.shape == done.shape == (2, 3, 160, 160) and done.dtype == np.float32
    assert np.isfinite(done).all()
    for k in range(2):
        # the sky pedestal of the served images is gone after preprocessing
        assert np.median(raw[k, :, :15, :15]) > 0.05
        assert abs(np.median(done[k, :, :15, :15])) < 0.01
        # the galaxy sits at the centre (within a pixel) and is the brightest thing left
        dx, dy = centroid_offset(done[k])
        assert np.hypot(dx, dy) < 1.5
        peak = np.unravel_index(np.argmax(done[k, 1]), (160, 160))
        assert abs(peak[0] - 79.5) < 3 and abs(peak[1] - 79.5) < 3
        # the neighbour 40 px away (50 px diagonal) was bright before and is zeroed after
        assert raw[k, 1].max() > 0 and (done[k] == 0).sum() > 100


def test_cutout_without_images_is_nan_with_a_warning(sdss):
    t = QTable({"ra": [10.0] * u.deg, "dec": [10.0] * u.deg})
    with pytest.warns(MissingImageWarning, match="row\\(s\\) 0"):
        out = sdss.get_cutouts(t)
    assert out.shape == (1, 3, 160, 160) and np.isnan(out).all()


@pytest.mark.parametrize("version", [1, 2])
def test_lsst_and_roman_cutouts_at_their_own_pixel_scales(image_targets, tap_url, sia_url, dachs_url, version):
    from astro_galflow.sources.lsst import LSSTSource
    from astro_galflow.sources.lsst import conf as lconf
    from astro_galflow.sources.roman import RomanSource
    from astro_galflow.sources.roman import conf as rconf

    url = sia_url if version == 1 else dachs_url + "/__system__/siap2/sitewide"
    for cls, conf, survey in ((LSSTSource, lconf, "lsst"), (RomanSource, rconf, "roman")):
        rows = image_targets[image_targets["survey"] == survey]
        t = QTable({"ra": np.asarray(rows["c_ra"][:1]) * u.deg, "dec": np.asarray(rows["c_dec"][:1]) * u.deg})
        with conf.set_temp("sia_version", version), conf.set_temp("sia_collection", survey if version == 2 else ""):
            src = cls(tap_url=tap_url, sia_url=url, retries=1, backoff=0.05)
            out = src.get_cutouts(t, preprocess=True)
        assert out.shape == (1, 3, 160, 160) and np.isfinite(out).all()
        # the galaxy is off the image centre by (5, -3) pixels: recentring moved it to the middle
        assert np.hypot(*centroid_offset(out[0])) < 1.5


def test_wrong_pixel_scale_is_refused(tap_url, sia_url, image_targets):
    from astro_galflow.sources.base import SourceError
    from astro_galflow.sources.sdss import SDSSSource

    rows = image_targets[image_targets["survey"] == "lsst"]

    class Mislabelled(SDSSSource):  # an SDSS-scale source pointed at 0.2"/pix images
        pass

    src = Mislabelled(tap_url=tap_url, sia_url=sia_url, retries=0)
    t = QTable({"ra": np.asarray(rows["c_ra"][:1]) * u.deg, "dec": np.asarray(rows["c_dec"][:1]) * u.deg})
    with pytest.raises(SourceError, match="0.2000 arcsec/pixel, expected 0.396"):
        src.get_cutouts(t)
