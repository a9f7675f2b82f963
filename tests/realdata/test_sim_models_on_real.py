"""The real-data report of the nine-parameter models (studies/sim_models_on_real.py), tiny end-to-end."""

import json

import numpy as np

from ._studies import load_study

smr = load_study("sim_models_on_real")


def test_report_on_the_small_real_subsets(sdss_data_dir, tmp_path):
    out = tmp_path / "report"
    args = ["--out", str(out), "--data-dir", str(sdss_data_dir), "--model", "now=sim-photometry"]
    assert smr.main([*args, "-n", "30"]) == 0
    report = json.loads((out / "metrics.json").read_text())
    entry = report["models"]["now"]
    test_mgs = entry["results"]["photoz_test_mgs"]
    # Only test-split rows are scored: fewer than the 40 MGS rows of the subset.
    assert 0 < test_mgs["n"] < 40
    assert entry["results"]["photoz_test_all_files"]["n"] > test_mgs["n"]
    assert 0.0 <= test_mgs["coverage_68"] <= 1.0 and np.isfinite(test_mgs["sigma_nmad"])
    assert set(entry["results"]["mpajhu_lines"]["lines"]) == {
        "flux_halpha",
        "flux_hbeta",
        "flux_nii_6584",
        "flux_oiii_5007",
    }
    assert "real_redshift_calibration" not in entry


def test_real_redshift_calibration_replaces_only_the_redshift_map(sdss_data_dir):
    import pytest

    from astro_galflow.exceptions import InputError
    from astro_galflow.models import load_model
    from astro_galflow.sources.simulated import SimulatedSource

    model = load_model("sim-photometry")
    with pytest.raises(InputError, match="at least 50 rows"):
        smr.real_redshift_calibration(model, smr.photoz_rows(sdss_data_dir, "val"), n_samples=30, seed=0)
    # Any labelled rows will do for the mechanics: 120 simulated ones.
    val = SimulatedSource(seed=3).simulate(120, render=False).table
    recal = smr.real_redshift_calibration(model, val, n_samples=30, seed=0)
    assert model.calibration is not None and set(recal.calibration.maps) == set(model.calibration.maps)
    assert recal.calibration.maps["log_mstar"] is model.calibration.maps["log_mstar"]
    assert not np.array_equal(recal.calibration.maps["redshift"][1], model.calibration.maps["redshift"][1])
    assert model.calibration.maps["redshift"] is not recal.calibration.maps["redshift"]
