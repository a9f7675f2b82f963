"""TAP-upload cross-match (API and ``galflow crossmatch``) against the local DaCHS."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import QTable

from astro_galflow.vo.crossmatch import crossmatch

pytestmark = pytest.mark.dachs


@pytest.fixture(scope="module")
def specphoto(tap_url):
    from astro_galflow.vo.tap import run_query

    return run_query(tap_url, "SELECT specobjid, ra, dec, z FROM dbo.specphoto ORDER BY specobjid", service="test")


def _posterior_like(specphoto, rng, n=12):
    """A posterior-style table: positions near catalog objects, a sample column, one far row."""
    pick = rng.choice(len(specphoto), n, replace=False)
    offset = rng.uniform(-0.5, 0.5, (2, n)) / 3600
    ra = np.r_[np.asarray(specphoto["ra"][pick]) + offset[0], 1.0]
    dec = np.r_[np.asarray(specphoto["dec"][pick]) + offset[1], -85.0]
    t = QTable({"source_id": np.arange(n + 1), "ra": ra * u.deg, "dec": dec * u.deg})
    t["redshift_samples"] = rng.normal(size=(n + 1, 16))
    return t, pick


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_crossmatch_finds_the_nearest_object_within_the_radius(tap_url, specphoto, mode):
    rng = np.random.default_rng(3)
    t, pick = _posterior_like(specphoto, rng)
    got = crossmatch(
        t,
        tap_url=tap_url,
        table_name="dbo.specphoto",
        radius=1.5 * u.arcsec,
        columns=["specobjid", "ra", "dec", "z"],
        mode=mode,
    )
    assert got.meta["n_unmatched"] == 1
    assert list(got["source_id"]) == sorted(got["source_id"])
    expect = {int(s): int(specphoto["specobjid"][p]) for s, p in enumerate(pick)}
    assert {int(s): int(o) for s, o in zip(got["source_id"], got["specobjid"])} == expect
    # local columns survive untouched (samples included); remote positions are renamed
    assert got["redshift_samples"].shape == (len(got), 16)
    assert "ra_remote" in got.colnames and "z" in got.colnames
    sep = SkyCoord(got["ra"], got["dec"]).separation(SkyCoord(got["ra_remote"], got["dec_remote"], unit="deg"))
    assert np.allclose(got["match_sep"].to_value(u.arcsec), sep.arcsec, atol=1e-3)
    assert np.all(got["match_sep"] <= 1.5 * u.arcsec)


def test_crossmatch_finds_position_columns_from_ucds_and_keeps_all_pairs(tap_url, specphoto):
    t = QTable({"ra": [specphoto["ra"][0]] * u.deg, "dec": [specphoto["dec"][0]] * u.deg})
    got = crossmatch(t, tap_url=tap_url, table_name="dbo.galspecinfo", radius=10 * u.deg, nearest=False)
    near = (
        SkyCoord(specphoto["ra"], specphoto["dec"], unit="deg").separation(SkyCoord(t["ra"][0], t["dec"][0]))
        < 10 * u.deg
    )
    assert len(got) == near.sum() > 1
    assert "v_disp" in got.colnames


def test_crossmatch_unknown_table_is_an_input_error(tap_url):
    from astro_galflow.exceptions import InputError

    t = QTable({"ra": [1.0] * u.deg, "dec": [1.0] * u.deg})
    with pytest.raises(InputError, match="no table 'dbo.nosuch'"):
        crossmatch(t, tap_url=tap_url, table_name="dbo.nosuch")


def test_crossmatch_cli_round_trip(tap_url, specphoto, tmp_path, capsys):
    from astro_galflow.cli import main

    rng = np.random.default_rng(5)
    t, pick = _posterior_like(specphoto, rng, n=5)
    del t["redshift_samples"]
    t.write(tmp_path / "in.ecsv")
    out = tmp_path / "out.ecsv"
    code = main(
        [
            "crossmatch",
            str(tmp_path / "in.ecsv"),
            "--tap",
            tap_url,
            "--table",
            "dbo.specphoto",
            "--radius",
            "1.5arcsec",
            "--columns",
            "specobjid,z",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr()
    got = QTable.read(out)
    assert sorted(got["specobjid"]) == sorted(int(x) for x in specphoto["specobjid"][pick])
    assert "5 match(es) of 6 row(s)" in capsys.readouterr().out
    assert (
        main(["crossmatch", str(tmp_path / "in.ecsv"), "--tap", tap_url, "--table", "dbo.specphoto", "--out", str(out)])
        == 2
    )  # exists, no --overwrite
    assert (
        main(
            [
                "crossmatch",
                str(tmp_path / "in.ecsv"),
                "--tap",
                "http://127.0.0.1:9/tap",
                "--table",
                "dbo.specphoto",
                "--retries",
                "0",
                "--out",
                str(tmp_path / "x.ecsv"),
            ]
        )
        == 1
    )
    assert "127.0.0.1:9" in capsys.readouterr().err
