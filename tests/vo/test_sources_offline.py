"""Survey sources without a server: registration, cheap import, config, bands, photometry."""

from __future__ import annotations

import subprocess
import sys

import astropy.units as u
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from astro_galflow.sources.base import BandMismatchError


def test_builtin_plugins_register_the_three_surveys():
    from astro_galflow.plugins import get_plugin_manager
    from astro_galflow.registry import build_registries

    reg = build_registries(get_plugin_manager(load_entrypoints=False))
    names = {e.name for e in reg.as_dict()["sources"].entries()}
    assert {"sdss", "lsst", "roman"} <= names


def test_plugin_modules_import_without_pyvo_or_photutils():
    code = (
        "import sys; import astro_galflow.sources.sdss, astro_galflow.sources.lsst, astro_galflow.sources.roman; "
        "print(sorted(m for m in ('pyvo', 'photutils', 'requests') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_service_urls_come_from_conf_and_the_constructor_overrides():
    from astro_galflow.sources import sdss

    with sdss.conf.set_temp("tap_url", "http://conf.invalid/tap"):
        assert sdss.SDSSSource().tap_url == "http://conf.invalid/tap"
        assert sdss.SDSSSource(tap_url="http://kw.invalid/tap").tap_url == "http://kw.invalid/tap"
    with sdss.conf.set_temp("row_limit", 7):
        assert sdss.SDSSSource().row_limit == 7


@pytest.mark.parametrize(
    "name, bands, scale",
    [("sdss", ("g", "r", "i"), 0.396), ("lsst", ("g", "r", "i"), 0.2), ("roman", ("Y106", "J129", "H158"), 0.11)],
)
def test_sources_declare_bands_and_pixel_scale(name, bands, scale):
    from astro_galflow.sources import lsst, roman, sdss

    cls = {"sdss": sdss.SDSSSource, "lsst": lsst.LSSTSource, "roman": roman.RomanSource}[name]
    cls().check_compatible(bands=bands, pixel_scale=scale * u.arcsec)
    with pytest.raises(BandMismatchError, match="pixel scale"):
        cls().check_compatible(bands=bands, pixel_scale=scale * 1.5 * u.arcsec)
    with pytest.raises(BandMismatchError, match="image bands"):
        cls().check_compatible(bands=bands[::-1], pixel_scale=scale * u.arcsec)


def test_an_sdss_model_refuses_lsst_and_roman_images():
    from astro_galflow.sources.lsst import LSSTSource
    from astro_galflow.sources.roman import RomanSource

    for src in (LSSTSource(), RomanSource()):
        with pytest.raises(BandMismatchError):
            src.check_compatible(bands=("g", "r", "i"), pixel_scale=0.396 * u.arcsec)


@given(st.floats(1e-3, 1e9), st.floats(1e-3, 1e3))
def test_njy_flux_to_ab_magnitude(flux, err):
    from astro_galflow.sources.lsst import flux_to_mag

    mag, merr = flux_to_mag([flux], [err])
    # 3631 Jy is AB magnitude 0
    assert mag[0] == pytest.approx(-2.5 * np.log10(flux * 1e-9 / 3631.0), abs=1e-3)
    assert merr[0] == pytest.approx(2.5 / np.log(10) * err / flux)


@given(st.floats(-1e6, 0.0))
def test_non_positive_flux_gives_nan_magnitude(flux):
    from astro_galflow.sources.lsst import flux_to_mag

    mag, merr = flux_to_mag([flux], [1.0])
    assert np.isnan(mag[0]) and np.isnan(merr[0])


def test_rubin_token_is_sent_but_never_shown(monkeypatch):
    from astro_galflow.sources.lsst import LSSTSource

    monkeypatch.delenv("RUBIN_TOKEN", raising=False)
    monkeypatch.setenv("ACCESS_TOKEN", "s3cret-token")
    src = LSSTSource(tap_url="http://example.invalid/tap")
    with src.new_session() as session:
        assert session.headers["Authorization"] == "Bearer s3cret-token"
    shown = repr(src) + str(src.query_region("62 -37", radius=1 * u.arcmin, get_query_payload=True))
    assert "s3cret" not in shown
    monkeypatch.setenv("RUBIN_TOKEN", "first-choice")
    with src.new_session() as session:
        assert session.headers["Authorization"] == "Bearer first-choice"


def test_unknown_rubin_release_is_named():
    from astro_galflow.exceptions import InputError
    from astro_galflow.sources.lsst import LSSTSource

    assert LSSTSource(data_release="dp1").catalog_table() == "dp1.Object"
    with pytest.raises(InputError, match="dp9"):
        LSSTSource(data_release="dp9").catalog_table()


@given(st.floats(20.0, 600.0))
def test_mcconnell_ma_2013_relation(sigma):
    from astro_galflow.vo.training_set import log_mbh_from_sigma

    assert log_mbh_from_sigma([200.0])[0] == pytest.approx(8.32)
    # slope 5.64 in log sigma
    assert log_mbh_from_sigma([sigma * 10])[0] - log_mbh_from_sigma([sigma])[0] == pytest.approx(5.64)
    assert np.isnan(log_mbh_from_sigma([0.0])[0])


def test_retry_policy_backs_off_exponentially_and_caps():
    from astro_galflow.vo.tap import RetryPolicy

    assert RetryPolicy(retries=4, backoff=0.5, max_wait=3).waits() == [0.5, 1.0, 2.0, 3]
