"""Input convention: flags for bad values, clear errors for bad tables, never a lost row."""

import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.table import MaskedColumn, Table
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from astro_galflow.exceptions import GalflowWarning, InputError, MissingColumnError
from astro_galflow.flags import PosteriorFlag, decode_flags, flag_descriptions
from astro_galflow.inputs import (
    apply_extinction,
    check_columns,
    column_values,
    flag_photometry,
    photometry_features,
)
from astro_galflow.testing import make_input_table


def test_clean_table_has_no_flags():
    table = make_input_table(20)
    flag_photometry(table, "ugriz")
    assert np.all(table["posterior_flags"] == 0)


def test_missing_column_is_named():
    table = make_input_table(3)
    table.remove_column("mag_i")
    with pytest.raises(MissingColumnError, match="mag_i"):
        flag_photometry(table, "ugriz")
    with pytest.raises(MissingColumnError, match="lacks column\\(s\\) foo, bar"):
        check_columns(table, ["foo", "bar", "ra"])


def test_wrong_unit_is_named():
    table = make_input_table(3)
    table["mag_r"] = table["mag_r"].value * u.Jy
    with pytest.raises(InputError, match="'mag_r' has unit Jy"):
        flag_photometry(table, "ugriz")


def test_non_numeric_column_is_named():
    table = make_input_table(2)
    table["mag_g"] = ["a", "b"]
    with pytest.raises(InputError, match="'mag_g' has non-numeric"):
        flag_photometry(table, "ugriz")


def test_nan_inf_masked_sentinel_and_missing_errors_flagged():
    table = Table(make_input_table(6))
    table["mag_g"][0] = np.nan
    table["mag_r"][1] = np.inf
    table["mag_u"][2] = -9999.0
    table["mag_z"] = MaskedColumn(table["mag_z"], mask=[False, False, False, True, False, False])
    table.remove_column("magerr_u")
    flag_photometry(table, "ugriz")
    flags = np.asarray(table["posterior_flags"])
    assert all(flags[:4] & PosteriorFlag.BAD_PHOTOMETRY)
    assert not any(flags[4:] & PosteriorFlag.BAD_PHOTOMETRY)
    assert all(flags & PosteriorFlag.MISSING_ERRORS)


def test_bad_positions_flagged():
    table = make_input_table(3)
    table["dec"][1] = 95 * u.deg
    table["ra"][2] = np.nan * u.deg
    flag_photometry(table, "ugriz")
    assert list(np.asarray(table["posterior_flags"]) & PosteriorFlag.BAD_POSITION) == [0, 64, 64]


def test_extinction_correction_and_warning():
    table = make_input_table(4)
    table.meta["extinction_corrected"] = False
    for band in "ugriz":
        table[f"extinction_{band}"] = np.full(4, 0.1) * u.mag
    before = table["mag_g"].value.copy()
    apply_extinction(table, "ugriz")
    np.testing.assert_allclose(table["mag_g"].value, before - 0.1)
    assert table.meta["extinction_corrected"] is True

    raw = make_input_table(4)
    raw.meta["extinction_corrected"] = False
    with pytest.warns(GalflowWarning, match="not extinction-corrected"):
        apply_extinction(raw, "ugriz")
    assert np.all(raw["posterior_flags"] & PosteriorFlag.NO_EXTINCTION_CORRECTION)


def test_features_are_colours_then_magnitudes():
    table = make_input_table(5)
    features, errors = photometry_features(table)
    np.testing.assert_allclose(features[:, 1], table["mag_g"].value - table["mag_r"].value)
    np.testing.assert_allclose(features[:, 6], table["mag_r"].value)
    assert errors.shape == (5, 5) and np.all(errors > 0)


def test_decode_flags():
    assert decode_flags(0) == []
    assert decode_flags(1 | 32) == ["BAD_PHOTOMETRY", "NO_POSTERIOR"]
    assert decode_flags(np.array([2, 0])) == [["MISSING_ERRORS"], []]
    assert set(flag_descriptions()) == {f.name for f in PosteriorFlag}


_mag = st.one_of(st.floats(10, 25), st.just(np.nan), st.just(np.inf), st.just(-np.inf), st.just(-9999.0))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 12), data=st.data())
def test_flagging_never_loses_rows_and_flags_exactly_the_bad_ones(n, data):
    table = make_input_table(n)
    bad = np.zeros(n, dtype=bool)
    for band in "ugriz":
        values = data.draw(arrays(np.float64, n, elements=_mag))
        table[f"mag_{band}"] = values * u.mag
        bad |= ~np.isfinite(values) | (values < -5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flag_photometry(table, "ugriz")
    assert len(table) == n
    got = (np.asarray(table["posterior_flags"]) & PosteriorFlag.BAD_PHOTOMETRY) != 0
    np.testing.assert_array_equal(got, bad)


def test_column_values_masked_quantity():
    table = Table({"x": MaskedColumn([1.0, 2.0], mask=[True, False], unit=u.mag)})
    values = column_values(table, "x", u.mag)
    assert np.isnan(values[0]) and values[1] == 2.0
