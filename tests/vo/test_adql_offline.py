"""ADQL building and query payloads, without a server."""

from __future__ import annotations

import math
import re

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import QTable
from hypothesis import given
from hypothesis import strategies as st

from astro_galflow.exceptions import InputError
from astro_galflow.vo import adql


@given(st.text(max_size=30))
def test_string_literal_doubles_quotes_and_round_trips(text):
    lit = adql.string(text)
    assert lit.startswith("'") and lit.endswith("'")
    inner = lit[1:-1]
    # no lone quote can end the literal early
    assert re.fullmatch(r"(?:[^']|'')*", inner)
    assert inner.replace("''", "'") == text


@pytest.mark.parametrize("name", ["dbo.SpecPhoto", "p.ra", "dp02_dc2_catalogs.Object", "x1"])
def test_identifier_accepts_regular_names(name):
    assert adql.identifier(name) == name


@pytest.mark.parametrize("name", ["", "a b", "x;DROP TABLE y", "t.'c'", "1abc", "a..b", 'a"b', "a.b.c.d"])
def test_identifier_rejects_anything_else(name):
    with pytest.raises(InputError, match="not a valid ADQL"):
        adql.identifier(name)


@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_number_round_trips(x):
    assert float(adql.number(x)) == x


@given(st.integers(-(2**63), 2**63 - 1))
def test_integers_are_exact(n):
    assert int(adql.number(n)) == n
    assert int(adql.number(np.int64(n))) == n


@pytest.mark.parametrize("bad", [math.nan, math.inf, "1; DROP", None])
def test_number_rejects_non_finite_and_text(bad):
    with pytest.raises(InputError):
        adql.number(bad)


def test_angle_rejects_negative_and_non_angles():
    assert adql.angle_deg(36 * u.arcsec) == pytest.approx(0.01)
    with pytest.raises(InputError, match="not an angle"):
        adql.angle_deg(3 * u.m)
    with pytest.raises(InputError, match="non-negative"):
        adql.angle_deg(-1 * u.deg)


@given(st.floats(0, 359.9), st.floats(-80, 80), st.floats(0.001, 2), st.floats(0.001, 2))
def test_box_polygon_is_centred_and_sized(ra, dec, w, h):
    cond = adql.box_condition("p.ra", "p.dec", ra, dec, w, h)
    nums = [float(x) for x in re.findall(r"POLYGON\('ICRS', (.*)\)\)", cond)[0].split(",")]
    decs = nums[1::2]
    assert min(decs) == pytest.approx(dec - h / 2) and max(decs) == pytest.approx(dec + h / 2)
    # the width is measured along the parallel through the centre
    span = (nums[2] - nums[0]) % 360.0
    assert span * math.cos(math.radians(dec)) == pytest.approx(w)
    centre_offset = (nums[0] + span / 2 - ra + 180.0) % 360.0 - 180.0
    assert abs(centre_offset) < 1e-9


def test_box_reaching_a_pole_is_refused():
    with pytest.raises(InputError, match="pole"):
        adql.box_condition("ra", "dec", 10, 89.5, 1, 2)


def test_region_payload_without_a_server():
    from astro_galflow.sources.sdss import SDSSSource

    src = SDSSSource(tap_url="http://example.invalid/tap", schema="dbo")
    p = src.query_region(SkyCoord(150 * u.deg, 2.2 * u.deg), radius=2 * u.arcmin, get_query_payload=True)
    assert p["url"] == "http://example.invalid/tap"
    assert "FROM dbo.PhotoObj AS p" in p["query"]
    assert f"CIRCLE('ICRS', 150, {adql.number(2.2)}, {adql.number((2 * u.arcmin).to_value(u.deg))})" in p["query"]
    assert "p.type = 3" in p["query"]
    with pytest.raises(InputError, match="exactly one"):
        src.query_region("150 2.2", radius=1 * u.deg, width=1 * u.deg)
    with pytest.raises(InputError, match="cannot read coordinates"):
        src.query_region("M31; DROP", radius=1 * u.deg)


def test_object_payload_uploads_only_valid_positions():
    from astro_galflow.sources.lsst import LSSTSource

    t = QTable({"ra": [62.0, np.nan, 62.1] * u.deg, "dec": [-37.0, -37.0, 95.0] * u.deg})
    p = LSSTSource(tap_url="http://example.invalid/tap").query_objects(t, radius=2 * u.arcsec, get_query_payload=True)
    up = p["upload"]["objects"]
    assert list(up["row_id"]) == [0]
    assert "TAP_UPLOAD.objects AS u" in p["query"] and "dp02_dc2_catalogs.Object" in p["query"]
    assert "p.detect_isPrimary = 1" in p["query"]
