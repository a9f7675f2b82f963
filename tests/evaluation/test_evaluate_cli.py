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
