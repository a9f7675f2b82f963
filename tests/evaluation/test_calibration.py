"""Post-hoc marginal recalibration: the method on known distributions, the card, the model."""

import json

import numpy as np
import pytest

from astro_galflow.calibration import MIN_ROWS, QuantileRecalibration
from astro_galflow.evaluation import metrics as M


def _gaussian_case(n, s, *, width, shift=0.0, seed=0):
    """Truths ~ N(mu, 1) with posterior samples ~ N(mu + shift, width): miscalibrated unless width=1, shift=0."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(0, 3, n)
    truth = mu + rng.normal(0, 1, n)
    samples = mu[:, None] + shift + width * rng.normal(0, 1, (n, s))
    return truth, samples


# Too narrow by much more than 0.75 and the calibrated 95 % interval would need levels
# beyond the extreme samples, which the map cannot reach (it never extrapolates).
@pytest.mark.parametrize(("width", "shift"), [(1.5, 0.0), (0.75, 0.0), (1.0, 0.4)])
def test_recalibration_fixes_coverage_on_new_rows(width, shift):
    truth, samples = _gaussian_case(3000, 400, width=width, shift=shift, seed=1)
    raw = M.calibration_metrics(truth, samples)
    assert abs(raw["coverage_68"] - 0.68) > 0.05 or raw["pit_ks"] > 0.1  # the case is miscalibrated
    calibration = QuantileRecalibration.from_pit({"x": M.pit_values(truth, samples)})

    new_truth, new_samples = _gaussian_case(3000, 400, width=width, shift=shift, seed=2)
    fixed = calibration.apply(new_samples[:, :, None], ["x"])[:, :, 0]
    metrics = M.calibration_metrics(new_truth, fixed)
    assert 0.65 <= metrics["coverage_68"] <= 0.71
    assert 0.93 <= metrics["coverage_95"] <= 0.97
    assert metrics["pit_ks"] < 0.04


def test_calibrated_posterior_stays_put():
    truth, samples = _gaussian_case(4000, 400, width=1.0, seed=3)
    calibration = QuantileRecalibration.from_pit({"x": M.pit_values(truth, samples)})
    levels, model_levels = calibration.maps["x"]
    assert np.max(np.abs(model_levels - levels)) < 0.03


def test_apply_keeps_ranks_and_leaves_unmapped_parameters():
    rng = np.random.default_rng(4)
    samples = rng.normal(size=(20, 100, 2)).astype(np.float32)
    samples[:, :, 1] += samples[:, :, 0]  # correlated: the joint structure must survive
    pit = rng.uniform(0.2, 0.8, 500)  # a too-wide model: the map narrows it
    calibration = QuantileRecalibration.from_pit({"a": pit})
    out = calibration.apply(samples, ["a", "b"])
    assert out.dtype == samples.dtype and out.shape == samples.shape
    np.testing.assert_array_equal(out[:, :, 1], samples[:, :, 1])
    np.testing.assert_array_equal(np.argsort(out[:, :, 0], axis=1), np.argsort(samples[:, :, 0], axis=1))
    assert np.all(out[:, :, 0].std(axis=1) < samples[:, :, 0].std(axis=1))
    # never beyond a galaxy's own sample range
    assert np.all(out[:, :, 0].min(axis=1) >= samples[:, :, 0].min(axis=1))
    assert np.all(out[:, :, 0].max(axis=1) <= samples[:, :, 0].max(axis=1))


def test_card_round_trip_and_validation():
    rng = np.random.default_rng(5)
    calibration = QuantileRecalibration.from_pit(
        {"a": rng.uniform(size=200), "few": rng.uniform(size=MIN_ROWS - 1)}, fitted_on={"split": "val"}
    )
    assert set(calibration.maps) == {"a"}  # too few rows: no map
    entry = json.loads(json.dumps(calibration.to_card()))
    again = QuantileRecalibration.from_card(entry)
    assert again.fitted_on == {"split": "val"}
    np.testing.assert_allclose(again.maps["a"][1], calibration.maps["a"][1], atol=1e-6)
    entry["parameters"]["a"]["model_levels"][3] = 2.0
    with pytest.raises(ValueError, match="not monotone"):
        QuantileRecalibration.from_card(entry)
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        QuantileRecalibration.from_pit({"a": np.r_[rng.uniform(size=100), 1.5]})
    with pytest.raises(ValueError, match="do not match"):
        calibration.apply(np.zeros((2, 5, 3)), ["a"])


def test_raw_pit_test_tells_calibrated_from_not():
    from scipy.stats import kstest

    from astro_galflow.calibration import raw_pit_test

    rng = np.random.default_rng(6)
    uniform = rng.uniform(size=800)
    humped = np.clip(rng.normal(0.5, 0.2, 800), 0, 1)  # a too-wide posterior
    reference = kstest(uniform, "uniform")
    result = raw_pit_test(np.r_[uniform, np.nan])
    assert result["ks"] == pytest.approx(reference.statistic)
    assert result["p_value"] == pytest.approx(reference.pvalue, rel=1e-6)
    assert raw_pit_test(humped)["p_value"] < 1e-6


def test_shipped_models_carry_the_documented_calibration():
    from astro_galflow.models import load_model

    # docs/results/simulated_models.rst: both simulated models calibrated on their val split
    for name in ("sim-default", "sim-photometry"):
        model = load_model(name)
        assert set(model.calibration.maps) == set(model.parameters)
        assert model.calibration.fitted_on["split"] == "val"
    # docs/results/sdss_photoz.rst: tested on 4,228 cross-fitted galaxies and left raw
    assert load_model("sdss-photoz").calibration is None


def test_a_corrupt_calibration_refuses_to_load(tmp_path):
    import shutil

    from astro_galflow.exceptions import ModelError
    from astro_galflow.models import MODELS_DIR, load_model

    target = tmp_path / "model"
    shutil.copytree(MODELS_DIR / "sim-photometry", target)
    card = json.loads((target / "card.json").read_text())
    card["calibration"]["parameters"]["redshift"]["model_levels"].reverse()
    (target / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="calibration.parameters.redshift: .* not monotone"):
        load_model(target)
    card["calibration"]["parameters"] = {"not_a_parameter": card["calibration"]["parameters"]["log_sfr"]}
    (target / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="does not infer"):
        load_model(target)
