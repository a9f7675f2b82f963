"""The real-data photo-z benchmark runs end to end on the small real subsets."""

import json

import numpy as np
import pytest

from ._studies import load_study

benchmark = load_study("sdss_photoz_benchmark")
TARGETS, main = benchmark.TARGETS, benchmark.main


def test_benchmark_writes_report_with_every_comparison(sdss_data_dir, tmp_path, capsys):
    out = tmp_path / "report"
    argv = [
        "--data-dir",
        str(sdss_data_dir),
        "--out",
        str(out),
        "--ensemble",
        "2",
        "--epochs",
        "2",
        "--patience",
        "2",
        "-n",
        "40",
        "--quiet",
    ]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train_sources"] == ["mgs"] and metrics["headline"] == "mgs_test"
    assert metrics["n_train"] == metrics["selection"]["mgs"]["final"]["train"]
    head = metrics["results"]["mgs_test"]
    assert head["n"] == metrics["selection"]["mgs"]["final"]["test"]
    assert set(head["baselines"]) == {"knn", "mlp", "gbm"}
    assert head["flow"]["uncertainty"]["n_members"] == 2
    assert set(TARGETS) | {"beats_every_baseline"} == set(metrics["targets"])
    assert all(isinstance(t["met"], bool) for t in metrics["targets"].values())
    assert {p["source"].split(",")[0] for p in metrics["published"]} >= {"Pasquet et al. 2019", "Beck et al. 2016"}
    assert {"dr14_test", "hw_test"} <= set(metrics["results"])
    assert np.isfinite(head["flow"]["crps"])
    # the calibration rows: every MGS train row (cross-fitted) and val row, never a test row;
    # stored only where their raw PIT departs from uniform, with the raw flow reported beside it
    decision = metrics["calibration_decision"]
    final = metrics["selection"]["mgs"]["final"]
    assert decision["n_rows"] == final["train"] + final["val"]
    assert decision["applied"] == (decision["p_value"] < 0.05)
    assert 0 <= decision["raw_coverage_68"] <= decision["raw_coverage_95"] <= 1
    floor = metrics["calibration_noise_floor"]
    assert floor["n"] == head["n"] and 0 < floor["median_pit_ks"] < 1
    assert all(0 <= floor[k] <= 1 for k in ("p_pit_ks_below_target", "p_coverage_68_in_band", "p_coverage_95_in_band"))
    assert set(floor["pit_ks_p_value"]) == {"mgs_val", "mgs_test"}
    calibration = metrics["model"]["calibration"]
    if decision["applied"]:
        assert calibration["fitted_on"]["n_rows"] == decision["n_rows"]
        assert set(head["flow_uncalibrated"]) >= {"coverage_68", "pit_ks", "sigma_nmad"}
    else:
        assert calibration is None and "flow_uncalibrated" not in head
    assert set(metrics["extinction_check"]) == {"mgs", "dr14", "hw"}
    independent = metrics["specphoto_independent"]
    assert independent["found"] is True and independent["n_read"] == 11 and independent["n"] == 10
    assert "coverage_68" in independent["flow"]
    assert {"predicted_vs_true.png", "pit.png", "posterior_one_galaxy.png"} == set(metrics["figures"])
    assert "MGS test" in capsys.readouterr().out


def test_noise_floor_of_the_real_test_set():
    """The numbers the sdss-photoz page quotes for 772 test galaxies."""
    _calibration_noise_floor = benchmark._calibration_noise_floor

    floor = _calibration_noise_floor(772)
    assert floor["median_pit_ks"] == pytest.approx(0.0296, abs=5e-4)
    assert floor["p_coverage_68_in_band"] == pytest.approx(0.768, abs=2e-3)
    assert floor["p_pit_ks_below_target"] == pytest.approx(0.52, abs=0.01)
