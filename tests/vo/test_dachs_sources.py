"""The survey sources against the local DaCHS (SDSS CAS, Rubin DP0.2, Roman schemas)."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import QTable

from astro_galflow.flags import PosteriorFlag
from astro_galflow.inputs import apply_extinction, flag_photometry

pytestmark = pytest.mark.dachs


def _direct(tap_url, query):
    """Run ADQL with plain HTTP + astropy's VOTable reader (independent of the code under test)."""
    import io
    import urllib.parse
    import urllib.request

    from astropy.io.votable import parse_single_table

    data = urllib.parse.urlencode({"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query}).encode()
    with urllib.request.urlopen(tap_url + "/sync", data=data, timeout=30) as response:
        return parse_single_table(io.BytesIO(response.read())).to_table()


@pytest.fixture(scope="module")
def photoobj(tap_url):
    """The PhotoObj galaxies as the server holds them (read with plain pyvo)."""
    return _direct(tap_url, "SELECT objid, ra, dec, modelmag_r, extinction_r FROM dbo.photoobj WHERE type = 3")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_sdss_cone_returns_exactly_the_galaxies_inside(sdss, photoobj, mode):
    centre = SkyCoord(photoobj["ra"][0], photoobj["dec"][0], unit="deg")
    radius = 8 * u.deg
    got = sdss.query_region(centre, radius=radius, mode=mode)
    sep = centre.separation(SkyCoord(photoobj["ra"], photoobj["dec"], unit="deg"))
    assert sorted(got["source_id"]) == sorted(photoobj["objid"][sep < radius])
    assert got["source_id"].dtype == np.int64
    assert got["ra"].unit == u.deg and got["mag_r"].unit == u.mag
    assert got.meta["extinction_corrected"] is False and got.meta["survey"] == "SDSS"


def test_sdss_box_and_host_extinction_correction(sdss, photoobj):
    centre = SkyCoord(photoobj["ra"][1], photoobj["dec"][1], unit="deg")
    got = sdss.query_region(centre, width=10 * u.deg, height=6 * u.deg)
    assert photoobj["objid"][1] in got["source_id"]
    assert np.all(np.abs(got["dec"] - centre.dec) <= 3 * u.deg)
    row = got[list(got["source_id"]).index(photoobj["objid"][1])]
    raw_r = row["mag_r"].value
    apply_extinction(got, ("u", "g", "r", "i", "z"))
    corrected = got[list(got["source_id"]).index(photoobj["objid"][1])]["mag_r"].value
    assert corrected == pytest.approx(raw_r - photoobj["extinction_r"][1], abs=1e-5)


def test_sdss_empty_region_is_an_empty_table_with_the_columns(sdss):
    got = sdss.query_region("0.5 -89.5", radius=1 * u.arcsec)
    assert len(got) == 0
    assert {"source_id", "ra", "dec", "mag_u", "magerr_z", "extinction_i"} <= set(got.colnames)


def test_sdss_query_objects_keeps_every_input_row_in_order(sdss, photoobj):
    pick = [3, 0, 5]
    t = QTable(
        {
            "ra": np.r_[np.asarray(photoobj["ra"][pick]) + 0.2 / 3600, 10.0] * u.deg,
            "dec": np.r_[np.asarray(photoobj["dec"][pick]), -80.0] * u.deg,
        }
    )
    got = sdss.query_objects(t, radius=1 * u.arcsec)
    assert len(got) == 4
    assert list(got["source_id"][:3]) == list(photoobj["objid"][pick])
    assert list(got["matched"]) == [True, True, True, False]
    assert got["source_id"][3] == -1 and np.isnan(got["mag_r"][3])
    assert got["ra"][3] == 10.0 * u.deg and got["dec"][3] == -80.0 * u.deg
    expected = [
        SkyCoord(t["ra"][k], t["dec"][k]).separation(SkyCoord(photoobj["ra"][p], photoobj["dec"][p], unit="deg"))
        for k, p in enumerate(pick)
    ]
    assert np.allclose(got["match_sep"][:3].to_value(u.arcsec), [e.arcsec for e in expected], atol=1e-3)
    flag_photometry(got, ("u", "g", "r", "i", "z"))
    assert got["posterior_flags"][3] & int(PosteriorFlag.BAD_PHOTOMETRY)


@pytest.fixture
def lsst(tap_url):
    from astro_galflow.sources.lsst import LSSTSource

    return LSSTSource(tap_url=tap_url, retries=1, backoff=0.05, timeout=30)


def test_lsst_fluxes_become_ab_magnitudes_and_bad_fluxes_are_flagged(lsst, tap_url):
    got = lsst.query_region("62.0 -37.0", radius=0.5 * u.deg, mode="async")
    ref = _direct(
        tap_url,
        "SELECT objectid, u_cmodelflux, r_cmodelflux, ebv FROM dp02_dc2_catalogs.object "
        "WHERE detect_isprimary = 1 AND refextendedness = 1",
    )
    assert sorted(got["source_id"]) == sorted(ref["objectid"])
    ref = ref[np.argsort(ref["objectid"])]
    got = got[np.argsort(got["source_id"])]
    assert np.allclose(got["mag_r"].value, -2.5 * np.log10(np.asarray(ref["r_cmodelflux"]) * 1e-9 / 3631), atol=1e-4)
    nonpos = np.asarray(ref["u_cmodelflux"]) <= 0
    assert nonpos.any()
    assert np.all(np.isnan(got["mag_u"][nonpos])) and np.all(np.isfinite(got["mag_u"][~nonpos]))
    assert np.allclose(got["extinction_g"].value, 3.66 * np.asarray(ref["ebv"]), atol=1e-6)
    flag_photometry(got, lsst.photometry_bands)
    bad = (got["posterior_flags"] & int(PosteriorFlag.BAD_PHOTOMETRY)) != 0
    assert np.array_equal(bad, nonpos)


def test_roman_catalog_in_wfi_bands(tap_url):
    from astro_galflow.sources.roman import RomanSource

    got = RomanSource(tap_url=tap_url).query_region("9.6 -44.0", width=0.2 * u.deg)
    n = _direct(
        tap_url,
        "SELECT COUNT(*) AS n FROM openuniverse2024.roman_galaxies WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), "
        "POLYGON('ICRS', "
        + ", ".join(
            f"{9.6 + sx * 0.1 / np.cos(np.radians(-44.0))}, {-44.0 + sy * 0.1}"
            for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))
        )
        + "))",
    )["n"][0]
    assert len(got) == n > 0
    assert {"mag_Y106", "mag_H158", "mag_K213"} <= set(got.colnames)
    assert got.meta["extinction_corrected"] is True
