"""The combined real photo-z set: cuts, de-duplication and the project-wide split."""

import shutil

import numpy as np
import pytest

from astro_galflow.exceptions import InputError
from astro_galflow.realdata.photoz_set import R_MAX, Z_MAX, load_photoz_set
from astro_galflow.training.data import split_of


def test_set_combines_cuts_and_splits(sdss_data_dir):
    table = load_photoz_set(sdss_data_dir)
    sel = table.meta["selection"]
    assert sel["mgs"]["read"] == 40 and sel["dr14"]["read"] == 20 and sel["hw"]["read"] == 40
    z = np.asarray(table["redshift"])
    assert np.all((z > 0) & (z <= Z_MAX))
    assert np.all(table["mag_r"].value <= R_MAX)
    assert set(table["origin"]) == {"mgs", "dr14", "hw"}
    np.testing.assert_array_equal(table["extinction_corrected"], table["origin"] == "mgs")
    np.testing.assert_array_equal(table["split"], split_of(table))
    assert len(set(table["source_id"])) == len(table)
    for counts in sel.values():
        assert sum(counts["final"].values()) == counts["photometry_cut"] - counts["duplicates_removed"]


def test_split_does_not_depend_on_which_files_are_used(sdss_data_dir):
    both = load_photoz_set(sdss_data_dir)
    alone = load_photoz_set(sdss_data_dir, sources=("mgs",))
    mgs = both[both["origin"] == "mgs"]
    np.testing.assert_array_equal(mgs["source_id"], alone["source_id"])
    np.testing.assert_array_equal(mgs["split"], alone["split"])


def test_exact_duplicate_rows_are_dropped(sdss_data_dir):
    path = sdss_data_dir / "mgs_photoz" / "SDSS_MGS.train"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[1], lines[2]]) + "\n")
    table = load_photoz_set(sdss_data_dir, sources=("mgs",))
    assert table.meta["selection"]["mgs"]["duplicates_removed"] == 2
    assert len(table) == 40


def test_out_of_range_rows_are_cut(sdss_data_dir):
    path = sdss_data_dir / "photoz_hw" / "sdss_redshift.csv"
    with path.open("a") as f:
        f.write("19.0,18.0,17.0,16.5,16.2,0.45\n")  # beyond z = 0.3
        f.write("19.0,18.0,-9999,16.5,16.2,0.10\n")  # sentinel magnitude
        f.write("21.0,20.0,19.0,18.5,18.2,0.10\n")  # fainter than the MGS limit
    table = load_photoz_set(sdss_data_dir, sources=("hw",))
    sel = table.meta["selection"]["hw"]
    assert sel["read"] == 43 and sel["redshift_cut"] == 42 and sel["photometry_cut"] == 40


def test_unknown_source_and_missing_dir_raise(sdss_data_dir, tmp_path):
    with pytest.raises(InputError, match="unknown photo-z source"):
        load_photoz_set(sdss_data_dir, sources=("sdss_dr99",))
    shutil.rmtree(sdss_data_dir / "photoz_hw")
    with pytest.raises(InputError, match="does not exist"):
        load_photoz_set(sdss_data_dir)
