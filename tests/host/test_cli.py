"""The ``galflow`` command: simulate -> train -> infer, help, and exit codes."""

from pathlib import Path

import numpy as np
import pytest

from astro_galflow.cli import main
from astro_galflow.flags import PosteriorFlag
from astro_galflow.table import read_posterior_table, validate_posterior_table

DATA = Path(__file__).resolve().parents[1] / "data" / "sdss"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    work = tmp_path_factory.mktemp("cli")
    assert main(["simulate", str(work / "sim.fits"), "-n", "300", "--seed", "5", "--no-images"]) == 0
    assert (
        main(
            [
                "train",
                "flows",
                str(work / "sim.fits"),
                "--head",
                "gaussian",
                "--photometry-only",
                "--epochs",
                "2",
                "--out",
                str(work / "model"),
                "--quiet",
            ]
        )
        == 0
    )
    return work


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("simulate", "train", "infer", "evaluate", "demo", "plugins", "crossmatch", "build-training-set"):
        assert command in out


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2


@pytest.mark.parametrize("ext", [".parquet", ".fits", ".ecsv", ".hdf5"])
def test_simulate_train_infer(trained, tmp_path, ext):
    out = tmp_path / f"post{ext}"
    code = main(
        [
            "infer",
            str(trained / "sim.fits"),
            str(out),
            "--model",
            str(trained / "model"),
            "-n",
            "20",
            "--no-progress",
            "--quantiles",
            "0.025,0.5,0.975",
            "--batch-size",
            "64",
        ]
    )
    assert code == 0
    table = read_posterior_table(out)
    validate_posterior_table(table)
    assert len(table) == 300 and "redshift_p2_5" in table.colnames and "redshift_p97_5" in table.colnames
    assert table.meta["config"]["n_samples"] == 20


def test_stream_and_memory_engines_agree(trained, tmp_path):
    args = ["--model", str(trained / "model"), "-n", "16", "--no-progress", "--batch-size", "50"]
    assert main(["infer", str(trained / "sim.fits"), str(tmp_path / "a.parquet"), "--engine", "memory", *args]) == 0
    assert main(["infer", str(trained / "sim.fits"), str(tmp_path / "b.parquet"), "--chunk-rows", "100", *args]) == 0
    a, b = read_posterior_table(tmp_path / "a.parquet"), read_posterior_table(tmp_path / "b.parquet")
    np.testing.assert_allclose(a["log_sfr_mean"].value, b["log_sfr_mean"].value, rtol=1e-6)


def test_errors_name_the_problem(trained, tmp_path, capsys):
    assert main(["infer", str(tmp_path / "missing.fits"), str(tmp_path / "o.fits")]) == 2
    assert "missing.fits' does not exist" in capsys.readouterr().err
    assert (
        main(
            [
                "infer",
                str(trained / "sim.fits"),
                str(tmp_path / "o.fits"),
                "--model",
                "no-such-model",
                "--engine",
                "memory",
            ]
        )
        == 1
    )
    assert "no-such-model" in capsys.readouterr().err
    existing = tmp_path / "exists.ecsv"
    existing.write_text("x\n")
    assert (
        main(
            ["infer", str(trained / "sim.fits"), str(existing), "--model", str(trained / "model"), "--engine", "memory"]
        )
        == 2
    )
    assert "--overwrite" in capsys.readouterr().err
    truncated = tmp_path / "truncated.fits"
    truncated.write_bytes((trained / "sim.fits").read_bytes()[:5000])
    assert (
        main(
            ["infer", str(truncated), str(tmp_path / "t.fits"), "--model", str(trained / "model"), "--engine", "memory"]
        )
        == 2
    )
    assert "truncated.fits" in capsys.readouterr().err
    # argument ranges are checked by the parser: usage error, exit 2, a one-line message
    with pytest.raises(SystemExit) as exit_info:
        main(["infer", str(trained / "sim.fits"), str(tmp_path / "q.fits"), "--quantiles", "0,1"])
    assert exit_info.value.code == 2
    assert "strictly between 0 and 1" in capsys.readouterr().err


@pytest.mark.parametrize("engine", ["memory", "local"])
def test_infer_real_skyserver_export_through_the_plugin_source(trained, tmp_path, engine):
    out = tmp_path / "sky.ecsv"
    with pytest.warns(UserWarning, match="not extinction-corrected"):
        code = main(
            [
                "infer",
                str(DATA / "skyserver_dr14_sample.csv"),
                str(out),
                "--source",
                "skyserver-csv",
                "--model",
                str(trained / "model"),
                "-n",
                "8",
                "--no-progress",
                "--engine",
                engine,
            ]
        )
    assert code == 0
    table = read_posterior_table(out)
    assert len(table) == 200 and set(table["survey"]) == {"sdss"}
    assert np.all(table["posterior_flags"] & PosteriorFlag.NO_EXTINCTION_CORRECTION)


def test_demo_writes_table_and_figures(trained, tmp_path, capsys):
    out = tmp_path / "demo"
    code = main(
        [
            "demo",
            "--out",
            str(out),
            "-n",
            "80",
            "--n-samples",
            "64",
            "--model",
            str(trained / "model"),
            "--backend",
            "eager",
        ]
    )
    assert code == 0
    table = read_posterior_table(out / "posteriors.parquet")
    validate_posterior_table(table)
    assert len(table) == 80 and not any(name.endswith("_samples") for name in table.colnames)
    for name in ("predicted_vs_true", "pit_calibration", "corner_galaxy0", "sky_redshift"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
    printed = capsys.readouterr().out
    assert "SIMULATED" in printed and "posteriors.parquet" in printed
    assert main(["demo", "--out", str(out), "-n", "80", "--model", str(trained / "model")]) == 2


def test_catalog_with_a_nonstandard_unit_still_reads(tmp_path):
    """Only truncation is escalated while reading; an odd unit string is a warning, not a lost file."""
    from astropy.io import fits
    from astropy.units import UnitsWarning

    from astro_galflow.catalogs import read_catalog

    column = fits.Column(name="note", format="D", unit="furlong/fortnight-ish", array=np.arange(3.0))
    path = tmp_path / "odd.fits"
    fits.BinTableHDU.from_columns([column]).writeto(path)
    with pytest.warns(UnitsWarning):
        assert len(read_catalog(path)) == 3
