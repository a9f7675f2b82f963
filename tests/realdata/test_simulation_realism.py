"""The realism score of the simulated survey (studies/simulation_realism.py)."""

import json
import shutil
from pathlib import Path

import numpy as np

from ._studies import load_study

sr = load_study("simulation_realism")
MGS_HEAD = Path(__file__).resolve().parents[1] / "data" / "sdss" / "SDSS_MGS_head40.train"


def _sample(rng, n, shift=None):
    return {k: rng.normal(size=n) + (shift.get(k, 0.0) if shift else 0.0) for k in sr.FEATURES}


def test_classifier_test_tells_a_shift_and_not_a_resample():
    rng = np.random.default_rng(0)
    a, b = _sample(rng, 400), _sample(rng, 400)
    c = _sample(rng, 400, shift={"u-g": 2.0})
    same = sr.realism(a, b, per_feature=False, max_iter=20)
    shifted = sr.realism(a, c, max_iter=20)
    assert same["auc"] < 0.6
    assert shifted["auc"] > 0.85
    assert shifted["ks"]["u-g"] > 0.3 and shifted["ks"]["g-r"] < 0.1
    assert shifted["auc_single_feature"]["u-g"] > 0.85 > shifted["auc_single_feature"]["r"]


def test_features_apply_the_cuts_alike():
    mags = np.array([[18.0, 17.0, 16.5, 16.2, 16.0], [18.0, 17.0, 18.5, 16.2, 16.0], [18.0, 17.0, 16.5, 16.2, 16.0]])
    errs = np.full((3, 5), 0.01)
    f = sr.features_of([0.1, 0.1, 0.4], mags, errs)  # r > 18 and z > 0.3 dropped
    assert len(f["redshift"]) == 1
    assert f["u-g"][0] == 1.0 and f["log_err_r"][0] == -2.0


def test_realism_command_on_a_small_real_subset(tmp_path):
    data = tmp_path / "sdss" / "mgs_photoz"
    data.mkdir(parents=True)
    shutil.copy(MGS_HEAD, data / "SDSS_MGS.train")
    out = tmp_path / "out"
    assert sr.main(["--out", str(out), "--data-dir", str(tmp_path / "sdss"), "-n", "300", "--max-iter", "10"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 < metrics["n_each"] < 40  # only the real val + test rows
    assert 0.0 <= metrics["auc"] <= 1.0
    assert set(metrics["ks"]) == set(sr.FEATURES)
    for name in metrics["figures"]:
        assert (out / name).stat().st_size > 1000
