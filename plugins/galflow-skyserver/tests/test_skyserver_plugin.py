"""The plugin is found through its entry point and reads real SkyServer exports."""

from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from astro_galflow.exceptions import MissingColumnError
from astro_galflow.flags import PosteriorFlag

DATA = Path(__file__).resolve().parents[3] / "tests" / "data" / "sdss"


def test_entry_point_is_installed():
    eps = {ep.name: ep.value for ep in metadata.entry_points(group="astro_galflow")}
    assert eps.get("skyserver") == "galflow_skyserver.plugin"


def test_registered_through_entry_point_only(galflow_plugin_manager, galflow_registries):
    import galflow_skyserver.plugin

    assert galflow_plugin_manager.get_plugin("skyserver") is galflow_skyserver.plugin
    entry = galflow_registries.sources.entry("skyserver-csv")
    assert entry.plugin == "skyserver"
    dists = {dist.project_name for _, dist in galflow_plugin_manager.list_plugin_distinfo()}
    assert "galflow-skyserver" in dists


def test_autoload_disabled_hides_it(monkeypatch):
    from astro_galflow.plugins import get_plugin_manager
    from astro_galflow.registry import build_registries

    monkeypatch.setenv("GALFLOW_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert "skyserver-csv" not in build_registries(get_plugin_manager()).sources


def test_reads_raw_dr14_export_and_host_flags_it():
    from galflow_skyserver import SkyServerCSVSource

    from astro_galflow.inputs import apply_extinction, flag_photometry

    table = SkyServerCSVSource().read_catalog(DATA / "skyserver_dr14_sample.csv")
    assert len(table) == 200 and table.meta["extinction_corrected"] is False
    with pytest.warns(UserWarning, match="not extinction-corrected"):
        apply_extinction(table, "ugriz")
    flag_photometry(table, "ugriz")
    assert np.all(table["posterior_flags"] & PosteriorFlag.NO_EXTINCTION_CORRECTION)


def test_reads_dered_columns_when_present():
    from galflow_skyserver import SkyServerCSVSource

    table = SkyServerCSVSource().read_catalog(DATA / "specphoto_galspecline_sample.csv")
    assert table.meta["extinction_corrected"] is True
    assert np.isfinite(table["mag_r"].value).all()


def test_missing_column_named(tmp_path):
    from galflow_skyserver import SkyServerCSVSource

    path = tmp_path / "bad.csv"
    path.write_text("objid,ra,dec,u,g,r,i\n1,10,0,18,17,16,15.5\n")
    with pytest.raises(MissingColumnError, match="modelMag_z or z"):
        SkyServerCSVSource().read_catalog(path)
