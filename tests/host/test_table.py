"""Posterior-table building, validation and round trips through every format."""

import astropy.units as u
import numpy as np
import pytest

from astro_galflow.params import PARAMETERS
from astro_galflow.table import (
    PosteriorTableError,
    add_parameter_columns,
    new_posterior_table,
    quantile_suffix,
    read_posterior_table,
    validate_posterior_table,
    write_posterior_table,
)


def _table(n=7, store_samples=True, quantiles=(0.16, 0.5, 0.84)):
    rng = np.random.default_rng(3)
    table = new_posterior_table(
        source_id=np.arange(n, dtype=np.int64) + 10,
        survey="simulated",
        ra_deg=rng.uniform(0, 360, n),
        dec_deg=rng.uniform(-60, 60, n),
        flags=np.zeros(n, dtype=np.int64),
        meta={"model": "test", "provenance": {"versions": {"numpy": np.__version__}}, "n_samples": 50},
    )
    for spec in PARAMETERS.values():
        samples = rng.normal(1.0, 0.2, (n, 50))
        samples[-1] = np.nan  # a row without posterior
        add_parameter_columns(table, spec, samples, quantiles=quantiles, store_samples=store_samples)
    table.add_index("_healpix_29")
    return table


def test_columns_units_ucds_and_nan_rows():
    table = _table()
    validate_posterior_table(table)
    assert table["log_mstar_mean"].unit == u.dex(u.Msun)
    assert table["log_mstar_std"].unit == u.dex
    assert table["flux_halpha_p84"].unit == PARAMETERS["flux_halpha"].unit
    assert table["redshift_p50"].info.meta["ucd"].startswith("src.redshift")
    assert np.isnan(table["redshift_mean"][-1]) and np.isfinite(table["redshift_mean"][:-1]).all()
    assert table["redshift_samples"].shape == (7, 50)


def test_quantile_suffixes():
    assert [quantile_suffix(q) for q in (0.16, 0.5, 0.025, 0.975)] == ["p16", "p50", "p2_5", "p97_5"]


@pytest.mark.parametrize("ext", [".ecsv", ".fits", ".parquet", ".hdf5", ".vot"])
def test_round_trip_preserves_values_units_meta_and_index(tmp_path, ext):
    table = _table()
    path = write_posterior_table(table, tmp_path / f"post{ext}")
    back = read_posterior_table(path)
    validate_posterior_table(back)
    assert back.colnames == table.colnames
    for name in table.colnames:
        a, b = table[name], back[name]
        assert getattr(a, "unit", None) == getattr(b, "unit", None), name
        if np.asarray(a).dtype.kind in "fc":
            np.testing.assert_array_equal(np.asarray(getattr(a, "value", a)), np.asarray(getattr(b, "value", b)))
        else:
            assert list(np.asarray(a)) == list(np.asarray(b)), name
    assert back.meta["provenance"] == table.meta["provenance"]
    assert back.meta["posterior_flag_bits"] == table.meta["posterior_flag_bits"]
    assert back.meta["hats_col_ra"] == "ra" and back.meta["n_samples"] == 50
    assert back["log_sfr_mean"].info.description == table["log_sfr_mean"].info.description


def test_refuses_to_overwrite(tmp_path):
    path = write_posterior_table(_table(), tmp_path / "p.ecsv")
    with pytest.raises(FileExistsError, match="overwrite"):
        write_posterior_table(_table(), path)
    write_posterior_table(_table(), path, overwrite=True)


def test_validation_lists_problems():
    table = _table()
    table["_healpix_29"][0] += 1
    table.remove_column("survey")
    table["ra"] = table["ra"].value * u.rad
    with pytest.raises(PosteriorTableError) as info:
        validate_posterior_table(table)
    assert "missing column 'survey'" in str(info.value) and "deg" in str(info.value)


def test_healpix_mismatch_detected():
    table = _table()
    table["_healpix_29"][2] += 1
    with pytest.raises(PosteriorTableError, match="disagrees with ra/dec in 1 row"):
        validate_posterior_table(table)


def test_missing_index_detected():
    table = _table()
    table.remove_indices("_healpix_29")
    with pytest.raises(PosteriorTableError, match="no index"):
        validate_posterior_table(table)


def test_unknown_extension(tmp_path):
    from astro_galflow.exceptions import InputError

    with pytest.raises(InputError, match="extension"):
        write_posterior_table(_table(), tmp_path / "p.txt")


def test_unwritable_path_is_one_output_error_and_leaves_nothing(tmp_path):
    from astro_galflow.exceptions import OutputError

    missing = tmp_path / "no-such-dir" / "post.fits"
    with pytest.raises(OutputError, match=r"cannot write .*no-such-dir/post\.fits.*No such file"):
        write_posterior_table(_table(), missing)
    # A failure mid-write leaves neither the target nor the temporary file behind.
    target = tmp_path / "post.parquet"

    table = _table()
    table["bad"] = np.array([object()] * len(table), dtype=object)
    with pytest.raises(Exception):  # noqa: B017 - pyarrow's type error, whatever its class
        write_posterior_table(table, target)
    assert list(tmp_path.iterdir()) == []


def test_model_added_columns_are_described():
    from astro_galflow.table import describe_columns

    table = _table(store_samples=False)
    table["log_mstar_std_aleatoric"] = np.ones(len(table), dtype=np.float32)
    table["flux_halpha_std_epistemic"] = np.ones(len(table), dtype=np.float32)
    table["oh_12_detectable_probability"] = np.full(len(table), 0.5, dtype=np.float32)
    describe_columns(table)
    assert table["log_mstar_std_aleatoric"].unit == u.dex
    assert table["log_mstar_std_aleatoric"].dtype == np.float32
    assert table["flux_halpha_std_epistemic"].unit == PARAMETERS["flux_halpha"].unit
    assert "epistemic" in table["flux_halpha_std_epistemic"].info.description
    assert table["oh_12_detectable_probability"].info.meta["ucd"] == "stat.probability"
    assert getattr(table["oh_12_detectable_probability"], "unit", None) is None


def test_crossmatch_cli_writes_votable(tmp_path, monkeypatch, capsys):
    from astropy.io.votable import parse
    from astropy.table import MaskedColumn, QTable

    import astro_galflow.vo.crossmatch as xm
    from astro_galflow.cli import main

    local = _table(n=4, store_samples=False)
    path = write_posterior_table(local, tmp_path / "post.fits")
    remote = QTable({"objid": [1, 2, 3, 4], "z": MaskedColumn([0.1, 0.2, 0.3, 0.4], mask=[0, 1, 0, 0])})
    remote["z"].info.meta = {"ucd": "src.redshift"}

    def fake(table, **kwargs):
        from astropy.table import hstack

        result = hstack([QTable(table), remote], metadata_conflicts="silent")
        result["match_sep"] = np.full(len(result), 0.2) * u.arcsec
        result.meta["n_unmatched"] = 0
        return result

    monkeypatch.setattr(xm, "crossmatch", fake)
    out = tmp_path / "match.vot"
    argv = ["crossmatch", str(path), "--tap", "http://x", "--table", "t", "--out", str(out)]
    assert main(argv) == 0
    fields = {f.name: f for f in parse(str(out), unit_format="generic").get_first_table().fields}
    assert fields["match_sep"].unit.to_string() == "arcsec" and fields["z"].ucd == "src.redshift"
    assert fields["log_mstar_mean"].unit.to_string() == "dex(solMass)"
    back = read_posterior_table(out)
    assert np.ma.is_masked(back["z"][1]) or np.isnan(back["z"][1])
