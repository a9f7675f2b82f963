"""``galflow evaluate`` end to end on a tiny trained redshift model."""

import json

import astropy.units as u
import numpy as np
import pytest

from astro_galflow.cli import main
from astro_galflow.testing import tables
from astro_galflow.training.data import split_of


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 400-row labelled catalog (z a smooth function of colour) and a 2-member model trained on it."""
    import torch

    from astro_galflow.training.flow_stage import train_flows

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("evaluate")
    table = tables.make_input_table(400, seed=3)
    rng = np.random.default_rng(3)
    colour = (table["mag_g"] - table["mag_r"]).to_value(u.mag)
    table["redshift"] = np.clip(0.1 + 0.3 * (colour - colour.mean()) + 0.01 * rng.normal(size=400), 0.005, None)
    path = root / "catalog.ecsv"
    table.write(path)
    model = root / "model"
    train_flows(path, model, parameters=["redshift"], ensemble=2, epochs=4, patience=4, log=lambda line: None)
    return path, model, table


def test_evaluate_writes_metrics_and_figures(tiny, tmp_path, capsys):
    catalog, model, table = tiny
    out = tmp_path / "report"
    code = main(["evaluate", str(model), str(catalog), "--out", str(out), "-n", "64", "--no-umap"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["split"] == "test" and metrics["n_rows"] == int(np.sum(split_of(table) == "test"))
    z = metrics["parameters"]["redshift"]
    for key in (
        "r2",
        "rmse",
        "bias",
        "sigma_nmad",
        "outlier_0.05",
        "outlier_0.15",
        "pit_ks",
        "coverage_68",
        "coverage_95",
        "crps",
        "pit_histogram",
        "uncertainty",
    ):
        assert key in z
    assert z["uncertainty"]["n_members"] == 2
    assert set(metrics["baselines"]["redshift"]) == {"knn", "mlp", "gbm"}
    assert metrics["baselines"]["redshift"]["gbm"]["n_train"] == int(np.sum(split_of(table) == "train"))
    assert {"predicted_vs_true.png", "pit.png", "corner.png"} <= set(metrics["figures"])
    assert all((out / name).is_file() for name in metrics["figures"])
    assert "redshift: R2=" in capsys.readouterr().err


def test_evaluate_rejects_bad_arguments(tiny, tmp_path, capsys):
    catalog, model, table = tiny
    assert main(["evaluate", str(model), str(catalog), "--out", str(tmp_path), "--baselines", "svm"]) == 2
    assert "unknown baseline" in capsys.readouterr().err
    unlabelled = tmp_path / "unlabelled.ecsv"
    table[["source_id", "ra", "dec", "mag_u", "mag_g", "mag_r", "mag_i", "mag_z"]].write(unlabelled)
    assert main(["evaluate", str(model), str(unlabelled), "--out", str(tmp_path / "r")]) == 2
    assert "no label column" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "no-model"), str(catalog), "--out", str(tmp_path / "r")]) == 1


def test_uncertainty_decomposition_with_uneven_member_blocks(tiny, tmp_path):
    """63 samples over 2 members gives blocks of 32 and 31 draws (crashed before the fix)."""
    catalog, model, _ = tiny
    out = tmp_path / "report"
    assert (
        main(["evaluate", str(model), str(catalog), "--out", str(out), "-n", "63", "--no-figures", "--baselines", ""])
        == 0
    )
    z = json.loads((out / "metrics.json").read_text())["parameters"]["redshift"]
    assert z["uncertainty"]["n_members"] == 2 and z["uncertainty"]["epistemic"] >= 0


def test_calibrate_writes_a_calibrated_copy(tiny, tmp_path):
    from astro_galflow.config import GalflowConfig
    from astro_galflow.flags import PosteriorFlag
    from astro_galflow.models import load_model
    from astro_galflow.pipeline import infer_table
    from astro_galflow.table import read_posterior_table, write_posterior_table

    catalog, model_dir, table = tiny
    out = tmp_path / "calibrated"
    code = main(["calibrate", str(model_dir), str(catalog), "--out", str(out), "-n", "64"])
    assert code == 0
    raw, calibrated = load_model(model_dir), load_model(out)
    assert raw.calibration is None and set(calibrated.calibration.maps) == {"redshift"}
    assert calibrated.card["sha256"] == raw.card["sha256"]  # weights untouched
    fitted_on = calibrated.card["calibration"]["fitted_on"]
    assert fitted_on["split"] == "val" and set(fitted_on["raw_pit_ks"]["redshift"]) == {"ks", "p_value"}

    rows = table[:12]
    kwargs = {"n_samples": 64, "seed": 7}
    plain = raw.posterior_samples(rows, **kwargs).samples["redshift"]
    np.testing.assert_array_equal(
        calibrated.posterior_samples(rows, calibrate=False, **kwargs).samples["redshift"], plain
    )
    posterior = calibrated.posterior_samples(rows, **kwargs)
    moved = posterior.samples["redshift"]
    assert not np.array_equal(moved, plain)
    # monotone per galaxy: in the raw samples' order the calibrated ones never decrease
    # (rows outside the training domain are tempered afterwards, issue 15)
    kept = (posterior.flags & PosteriorFlag.OUTSIDE_TRAINING_DOMAIN) == 0
    assert kept.sum() >= 6
    moved, plain = moved[kept], plain[kept]
    in_raw_order = np.take_along_axis(moved, np.argsort(plain, axis=1), axis=1)
    assert np.all(np.diff(in_raw_order, axis=1) >= 0)

    config = GalflowConfig(model=str(out), n_samples=32, backend="eager")
    table_out = infer_table(rows, config=config)
    assert table_out.meta["calibration"]["applied"] is True
    for suffix in (".fits", ".parquet", ".ecsv"):  # the maps survive every table format
        path = write_posterior_table(table_out, tmp_path / f"post{suffix}")
        assert read_posterior_table(path).meta["calibration"] == table_out.meta["calibration"]
    config = GalflowConfig(model=str(out), n_samples=32, backend="eager", calibrate=False)
    assert infer_table(rows, config=config).meta["calibration"] == {"applied": False}


def test_evaluate_reports_whether_calibrated(tiny, tmp_path):
    catalog, model_dir, _ = tiny
    calibrated = tmp_path / "calibrated"
    assert main(["calibrate", str(model_dir), str(catalog), "--out", str(calibrated), "-n", "32"]) == 0
    for extra, expected in (([], True), (["--no-calibration"], False)):
        out = tmp_path / f"report{len(extra)}"
        args = ["evaluate", str(calibrated), str(catalog), "--out", str(out), "-n", "32", "--baselines", ""]
        assert main([*args, "--no-figures", *extra]) == 0
        assert json.loads((out / "metrics.json").read_text())["calibrated"] is expected


def test_calibrate_refuses_existing_out_and_too_few_rows(tiny, tmp_path, capsys):
    catalog, model_dir, table = tiny
    assert main(["calibrate", str(model_dir), str(catalog), "--out", str(tmp_path)]) == 2
    assert "exists" in capsys.readouterr().err
    small = tmp_path / "small.ecsv"
    table[:150].write(small)  # its val split (~15 %) is below the minimum rows of a map
    assert main(["calibrate", str(model_dir), str(small), "--out", str(tmp_path / "new"), "-n", "16"]) == 2
    assert "enough labelled 'val' rows" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
