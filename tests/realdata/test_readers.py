"""The real SDSS readers put the files into the input convention, and the host handles extinction."""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from astro_galflow.exceptions import GalflowWarning, InputError
from astro_galflow.flags import PosteriorFlag
from astro_galflow.inputs import SDSS_BANDS, apply_extinction, flag_photometry
from astro_galflow.realdata import read_mgs_photoz, read_mpajhu_joined, read_photoz_hw, read_skyserver_dr14


def test_mgs_reader_maps_the_unlabelled_error_columns(sdss_files):
    raw = np.loadtxt(sdss_files["mgs"], comments="#")
    table = read_mgs_photoz(sdss_files["mgs"])
    assert len(table) == raw.shape[0] == 40
    assert table.meta["extinction_corrected"] is True
    np.testing.assert_allclose(table["redshift"], raw[:, 0])
    for k, band in enumerate(SDSS_BANDS):
        np.testing.assert_allclose(table[f"mag_{band}"].to_value(u.mag), raw[:, 1 + k])
        # Columns 11-15 (1-based) are the u..z errors although the header omits "eu".
        np.testing.assert_allclose(table[f"magerr_{band}"].to_value(u.mag), raw[:, 10 + k])
    np.testing.assert_allclose(table["mag_u"].value - table["mag_g"].value, raw[:, 6], atol=2e-6)
    assert table["source_id"][0] == "mgs:0"


def test_dr14_reader_keeps_galaxies_and_host_flags_raw_magnitudes(sdss_files):
    table = read_skyserver_dr14(sdss_files["dr14"])
    assert len(table) == 20 and set(table["spec_class"]) == {"GALAXY"}
    assert len(read_skyserver_dr14(sdss_files["dr14"], classes=None)) == 25
    assert table.meta["extinction_corrected"] is False
    assert not any(c.startswith("extinction_") for c in table.colnames)
    assert np.all(np.isfinite(table["ra"].value)) and table["ra"].unit == u.deg
    before = table["mag_r"].copy()
    with pytest.warns(GalflowWarning, match="extinction_u"):
        apply_extinction(table, SDSS_BANDS)
    assert np.all(table["posterior_flags"] & PosteriorFlag.NO_EXTINCTION_CORRECTION)
    np.testing.assert_array_equal(table["mag_r"], before)
    assert table["source_id"][0].startswith("dr14:") and table["source_id"][0].count("-") == 2


def test_photoz_hw_reader_is_flagged_raw_without_errors(sdss_files):
    table = read_photoz_hw(sdss_files["hw"])
    assert len(table) == 40 and table.meta["extinction_corrected"] is False
    flag_photometry(table, SDSS_BANDS)
    flags = np.asarray(table["posterior_flags"])
    assert np.all(flags & PosteriorFlag.MISSING_ERRORS) and np.all(flags & PosteriorFlag.BAD_POSITION)


def test_mpajhu_reader_is_corrected_by_the_host(sdss_files):
    raw = Table.read(sdss_files["mpajhu"], format="ascii.csv")
    raw = raw[raw["class"] == "GALAXY"]
    table = read_mpajhu_joined(sdss_files["mpajhu"])
    assert len(table) == len(raw) > 0
    apply_extinction(table, SDSS_BANDS)
    assert table.meta["extinction_corrected"] is True
    for band in SDSS_BANDS:
        np.testing.assert_allclose(table[f"mag_{band}"].to_value(u.mag), raw[f"dered_{band}"], atol=2e-4)
    np.testing.assert_allclose(table["flux_halpha"].value, raw["h_alpha_flux"])
    assert table["source_id"].dtype == np.int64


@pytest.mark.parametrize("reader", [read_mgs_photoz, read_skyserver_dr14, read_photoz_hw, read_mpajhu_joined])
def test_missing_file_is_an_input_error(tmp_path, reader):
    with pytest.raises(InputError, match="does not exist"):
        reader(tmp_path / "nope.csv")


def test_mgs_with_wrong_column_count_is_an_input_error(tmp_path):
    bad = tmp_path / "bad.train"
    bad.write_text("#zs u g\n0.1 18.0 17.0\n")
    with pytest.raises(InputError, match="expected 19 columns"):
        read_mgs_photoz(bad)
