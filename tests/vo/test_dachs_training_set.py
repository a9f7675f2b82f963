"""The SDSS training-set builder end to end against the local DaCHS, with interruption."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.table import QTable

from astro_galflow.cutouts import open_cutouts
from astro_galflow.sources.base import SourceError
from astro_galflow.vo.training_set import SDSSTrainingSetBuilder, log_mbh_from_sigma

pytestmark = pytest.mark.dachs


@pytest.fixture(scope="module")
def expected(tap_url):
    """The sample as one direct query: MGS, class GALAXY, 0 < z <= 0.3, no zWarning."""
    from astro_galflow.vo.tap import run_query

    return run_query(
        tap_url,
        "SELECT s.specobjid, s.z, e.lgm_tot_p50, e.oh_p50, i.v_disp, l.h_alpha_flux FROM dbo.specphoto AS s "
        "JOIN dbo.galspecinfo AS i ON i.specobjid = s.specobjid JOIN dbo.galspecextra AS e ON e.specobjid = "
        "s.specobjid JOIN dbo.galspecline AS l ON l.specobjid = s.specobjid WHERE i.targettype = 'GALAXY' AND "
        "s.class = 'GALAXY' AND s.z > 0 AND s.z <= 0.3 AND s.zwarning = 0 ORDER BY s.specobjid",
        service="test",
    )


def test_interrupted_build_resumes_to_the_same_catalog(sdss, tmp_path, expected, monkeypatch):
    n = 12
    whole = SDSSTrainingSetBuilder(tmp_path / "whole", source=sdss, page_size=n, max_rows=n, mode="sync")
    ref = QTable.read(whole.run())

    part = SDSSTrainingSetBuilder(tmp_path / "part", source=sdss, page_size=5, max_rows=n, mode="sync")
    calls = {"n": 0}
    real = type(sdss).get_cutouts

    def failing(self, table, **kw):  # the archive goes away during the second page
        calls["n"] += 1
        if calls["n"] == 2:
            raise SourceError("SIA service SDSS failed after 4 attempt(s): simulated outage")
        return real(self, table, **kw)

    monkeypatch.setattr(type(sdss), "get_cutouts", failing)
    with pytest.raises(SourceError, match="simulated outage"):
        part.run()
    state = json.loads((tmp_path / "part" / "state.json").read_text())
    assert state["pages"] == ["page_00000"] and state["rows"] == 5 and not state["done"]
    monkeypatch.setattr(type(sdss), "get_cutouts", real)
    got = QTable.read(
        SDSSTrainingSetBuilder(tmp_path / "part", source=sdss, page_size=5, max_rows=n, mode="sync").run()
    )

    assert len(got) == len(ref) == n
    assert list(got["specobjid"]) == list(ref["specobjid"]) == list(expected["specobjid"][:n])
    for name in ("redshift", "log_mstar", "log_mbh", "oh_12", "flux_halpha"):
        assert np.allclose(got[name], ref[name], equal_nan=True)
    a = open_cutouts(tmp_path / "part" / got.meta["cutouts_file"], n_bands=3)
    b = open_cutouts(tmp_path / "whole" / ref.meta["cutouts_file"], n_bands=3)
    assert a.shape == (n, 3, 160, 160) and np.array_equal(a, b, equal_nan=True)
    # the served images cover the first MGS galaxies: their cutouts are real, the rest NaN
    assert list(got["has_cutout"][:4]) == [True] * 4 and not got["has_cutout"][4:].any()
    assert np.isfinite(a[:4]).all() and np.isnan(a[4:]).all()
    assert list(got["cutout_index"]) == list(range(n))


def test_labels_follow_the_archive_columns(sdss, tmp_path, expected):
    # one asynchronous page (the builder's default mode), as with the real archive
    got = QTable.read(SDSSTrainingSetBuilder(tmp_path, source=sdss, page_size=500, cutouts=False).run())
    assert list(got["specobjid"]) == list(expected["specobjid"])
    assert np.all(got["redshift"] <= 0.3)
    assert np.allclose(got["log_mstar"], expected["lgm_tot_p50"])
    assert np.allclose(got["log_mbh"], log_mbh_from_sigma(expected["v_disp"]))
    oh = np.asarray(expected["oh_p50"], dtype=float)
    assert np.array_equal(got["metallicity_detectable"], oh > 0)
    assert np.allclose(got["oh_12"][oh > 0], oh[oh > 0]) and np.isnan(got["oh_12"][oh <= 0]).all()
    assert np.allclose(got["flux_halpha"], expected["h_alpha_flux"])
    assert got.meta["extinction_corrected"] is False and "galSpecExtra" in got.meta["query"]


def test_other_settings_do_not_resume_someone_elses_build(sdss, tmp_path):
    from astro_galflow.exceptions import InputError

    SDSSTrainingSetBuilder(tmp_path, source=sdss, page_size=5, max_rows=5, cutouts=False, mode="sync").run()
    with pytest.raises(InputError, match="state.json"):
        SDSSTrainingSetBuilder(tmp_path, source=sdss, page_size=6, max_rows=5, cutouts=False).run()


def test_build_training_set_cli(tap_url, sia_url, tmp_path, capsys):
    from astro_galflow.cli import main

    out = tmp_path / "ts"
    args = [
        "build-training-set",
        "sdss",
        str(out),
        "--tap",
        tap_url,
        "--sia",
        sia_url,
        "--schema",
        "dbo",
        "--page-size",
        "3",
        "--max-rows",
        "6",
        "--sync",
    ]
    assert main(args) == 0, capsys.readouterr()
    cat = QTable.read(out / "catalog.ecsv")
    assert len(cat) == 6 and open_cutouts(out / "catalog.cutouts.npy").shape == (6, 3, 160, 160)
    assert "page 2: 6 rows" in capsys.readouterr().err


def test_lsst_training_set_pages_by_object_id_with_cutouts(tap_url, sia_url, tmp_path):
    from astro_galflow.sources.lsst import LSSTSource
    from astro_galflow.vo.tap import run_query
    from astro_galflow.vo.training_set import builder_for

    src = LSSTSource(tap_url=tap_url, sia_url=sia_url, retries=1, backoff=0.05)
    with src.conf.set_temp("sia_version", 1):
        path = builder_for(src, tmp_path, page_size=4, max_rows=6, mode="sync").run()
    got = QTable.read(path)
    ids = run_query(
        tap_url,
        "SELECT TOP 6 objectid FROM dp02_dc2_catalogs.object WHERE detect_isprimary = 1 AND refextendedness = 1 "
        "ORDER BY objectid",
        service="test",
    )["objectid"]
    assert list(got["source_id"]) == list(ids)
    assert got.meta["image_bands"] == ["g", "r", "i"] and got.meta["pixel_scale_arcsec"] == 0.2
    # the served LSST images are around the first two objects
    assert list(got["has_cutout"]) == [True, True] + [False] * 4
    cut = open_cutouts(tmp_path / got.meta["cutouts_file"], n_bands=3)
    assert np.isfinite(cut[:2]).all() and np.isnan(cut[2:]).all()


def test_roman_training_set_in_a_cone_carries_truth_redshift(tap_url, tmp_path, capsys):
    from astro_galflow.cli import main
    from astro_galflow.vo.tap import run_query

    out = tmp_path / "roman"
    args = ["build-training-set", "roman", str(out), "--tap", tap_url, "--cone", "9.6", "-44.0", "0.1"]
    assert main([*args, "--no-cutouts", "--page-size", "1000"]) == 0, capsys.readouterr()
    got = QTable.read(out / "catalog.ecsv")
    ref = run_query(
        tap_url,
        "SELECT galaxy_id, redshift FROM openuniverse2024.roman_galaxies WHERE "
        "1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 9.6, -44.0, 0.1)) ORDER BY galaxy_id",
        service="test",
    )
    assert len(ref) > 0 and list(got["source_id"]) == list(ref["galaxy_id"])
    assert np.allclose(got["redshift"], ref["redshift"])
    assert "mag_H158" in got.colnames and got.meta["extinction_corrected"] is True
