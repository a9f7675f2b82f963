"""Fixtures: the small real SDSS subsets in tests/data/sdss (see its README)."""

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "sdss"


@pytest.fixture
def sdss_files():
    """Paths of the four small real-data files."""
    return {
        "mgs": DATA / "SDSS_MGS_head40.train",
        "dr14": DATA / "skyserver_dr14_25.csv",
        "hw": DATA / "sdss_redshift_head40.csv",
        "mpajhu": DATA / "joined_specphoto_galspecline_head20.csv",
    }


@pytest.fixture
def sdss_data_dir(tmp_path, sdss_files):
    """A data directory laid out like ../shared/data/sdss, holding the small subsets."""
    layout = {
        "mgs": "mgs_photoz/SDSS_MGS.train",
        "dr14": "skyserver_dr14/skyserver_dr14_10k.csv",
        "hw": "photoz_hw/sdss_redshift.csv",
        "mpajhu": "skyserver_mpajhu_sample/joined_specphoto_galspecline.csv",
    }
    for key, rel in layout.items():
        dest = tmp_path / rel
        dest.parent.mkdir(parents=True)
        shutil.copyfile(sdss_files[key], dest)
    return tmp_path
