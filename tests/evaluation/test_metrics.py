"""Tests of astro_galflow.evaluation.metrics against scipy/scikit-learn and known distributions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats
from sklearn.metrics import mean_squared_error, r2_score, roc_auc_score

from astro_galflow.evaluation import metrics
from astro_galflow.exceptions import InputError

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.integers(3, 40), elements=finite), st.integers(0, 2**31 - 1))
def test_point_metrics_match_sklearn(truth, seed):
    pred = truth + np.random.default_rng(seed).normal(0, 1, truth.size)
    with np.errstate(over="ignore"):  # a nearly constant truth: both give -inf, sklearn warns
        expected = r2_score(truth, pred)
    assert metrics.r2_score(truth, pred) == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert metrics.rmse(truth, pred) == pytest.approx(np.sqrt(mean_squared_error(truth, pred)), rel=1e-9)
    assert metrics.bias(truth, pred) == pytest.approx(np.mean(pred - truth), abs=1e-9)


def test_r2_of_a_nearly_constant_truth_is_minus_infinity():
    """Found by the property test above: SS_res / SS_tot overflowed into a RuntimeWarning."""
    truth = np.array([9.0741505e-161, 0.0, 0.0])
    assert metrics.r2_score(truth, np.array([0.13, -0.13, 0.64])) == -np.inf


def test_sigma_nmad_of_gaussian_residuals_is_sigma():
    rng = np.random.default_rng(1)
    truth = rng.uniform(0.0, 0.3, 200_000)
    pred = truth + 0.02 * (1 + truth) * rng.standard_normal(truth.size)
    assert metrics.sigma_nmad(truth, pred, relative=True) == pytest.approx(0.02, rel=0.01)
    assert metrics.sigma_nmad(truth, pred) == pytest.approx(
        stats.median_abs_deviation(pred - truth, scale="normal"), rel=1e-9
    )


def test_outlier_fraction_counts_relative_threshold():
    truth = np.array([0.0, 0.1, 0.2, 0.3])
    pred = np.array([0.049, 0.1 + 0.06 * 1.1, 0.2 - 0.2 * 1.2, 0.3])
    assert metrics.outlier_fraction(truth, pred, 0.05) == pytest.approx(0.5)
    assert metrics.outlier_fraction(truth, pred, 0.15) == pytest.approx(0.25)


def test_pit_of_samples_from_the_true_distribution_is_uniform():
    rng = np.random.default_rng(2)
    n, s = 4000, 400
    mu = rng.normal(0, 3, n)
    sigma = rng.uniform(0.1, 2.0, n)
    truth = mu + sigma * rng.standard_normal(n)
    samples = mu[:, None] + sigma[:, None] * rng.standard_normal((n, s))
    pit = metrics.pit_values(truth, samples)
    assert metrics.pit_ks_statistic(pit) < 0.03
    assert metrics.interval_coverage(truth, samples, 0.68) == pytest.approx(0.68, abs=0.025)
    assert metrics.interval_coverage(truth, samples, 0.95) == pytest.approx(0.95, abs=0.015)
    # Overconfident samples (half the width) must be caught.
    narrow = mu[:, None] + 0.5 * sigma[:, None] * rng.standard_normal((n, s))
    assert metrics.pit_ks_statistic(metrics.pit_values(truth, narrow)) > 0.08
    assert metrics.interval_coverage(truth, narrow, 0.68) < 0.5


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.integers(1, 60), elements=st.floats(0, 1)))
def test_ks_statistic_matches_scipy(pit):
    assert metrics.pit_ks_statistic(pit) == pytest.approx(stats.kstest(pit, "uniform").statistic, abs=1e-12)


def test_pit_histogram_is_a_density():
    density, edges = metrics.pit_histogram(np.linspace(0, 1, 1000), bins=10)
    assert edges[0] == 0 and edges[-1] == 1 and density.shape == (10,)
    assert np.sum(density * np.diff(edges)) == pytest.approx(1.0)


def test_crps_of_gaussian_samples_matches_closed_form():
    rng = np.random.default_rng(3)
    truth = np.array([0.0, 1.0, -2.5, 0.3])
    mean = np.array([0.0, 0.0, 0.5, 0.3])
    sigma = np.array([1.0, 0.5, 2.0, 0.01])
    samples = mean[:, None] + sigma[:, None] * rng.standard_normal((4, 100_000))
    np.testing.assert_allclose(
        metrics.crps_samples(truth, samples), metrics.crps_gaussian(truth, mean, sigma), rtol=0.01
    )


@settings(max_examples=30, deadline=None)
@given(
    arrays(np.float64, (3, 7), elements=st.floats(-10, 10)),
    arrays(np.float64, 3, elements=st.floats(-10, 10)),
)
def test_crps_sorted_formula_equals_pairwise_definition(samples, truth):
    term1 = np.abs(samples - truth[:, None]).mean(axis=1)
    term2 = np.abs(samples[:, :, None] - samples[:, None, :]).mean(axis=(1, 2))
    np.testing.assert_allclose(metrics.crps_samples(truth, samples), term1 - 0.5 * term2, atol=1e-9)
    assert np.all(metrics.crps_samples(truth, samples) >= -1e-9)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.booleans(), min_size=2, max_size=50), st.integers(0, 2**31 - 1))
def test_detectability_auc_matches_sklearn(labels, seed):
    labels = np.array(labels)
    prob = np.random.default_rng(seed).uniform(0, 1, labels.size)
    out = metrics.detectability_metrics(labels, prob)
    assert out["accuracy"] == pytest.approx(np.mean((prob >= 0.5) == labels))
    if labels.all() or not labels.any():
        assert np.isnan(out["auc"])
    else:
        assert out["auc"] == pytest.approx(roc_auc_score(labels, prob))


def test_uncertainty_decomposition_separates_member_spread():
    rng = np.random.default_rng(4)
    k, n, s = 8, 50, 2000
    offsets = rng.normal(0, 0.3, (k, n, 1))
    samples = offsets + rng.normal(0, 1.0, (k, n, s))
    out = metrics.uncertainty_decomposition(samples)
    assert out["aleatoric"] == pytest.approx(1.0, rel=0.02)
    assert out["epistemic"] == pytest.approx(0.3 * np.sqrt((k - 1) / k), rel=0.3)
    assert out["total"] > out["aleatoric"] and out["n_members"] == k
    pooled = samples.transpose(1, 0, 2).reshape(n, -1).std(axis=1)
    assert out["total"] == pytest.approx(np.median(pooled), rel=1e-6)


def test_summary_dicts_have_redshift_keys():
    rng = np.random.default_rng(5)
    truth = rng.uniform(0.01, 0.3, 300)
    samples = truth[:, None] + 0.01 * rng.standard_normal((300, 200))
    point = metrics.point_metrics(truth, samples.mean(axis=1), redshift=True)
    assert {"r2", "rmse", "bias", "sigma_nmad", "outlier_0.05", "outlier_0.15"} <= set(point)
    assert point["outlier_0.15"] == 0.0
    cal = metrics.calibration_metrics(truth, samples)
    assert len(cal["pit_histogram"]) == 20 and 0.9 < cal["coverage_95"] <= 1.0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: metrics.rmse([1.0, 2.0], [1.0]), "shape"),
        (lambda: metrics.r2_score([], []), "empty"),
        (lambda: metrics.pit_values([1.0, 2.0], np.zeros((3, 4))), "samples must have shape"),
        (lambda: metrics.interval_coverage([1.0], np.zeros((1, 4)), 1.5), "level"),
        (lambda: metrics.uncertainty_decomposition(np.zeros((2, 3))), r"\(K, n, S\)"),
    ],
)
def test_bad_shapes_raise_input_error(call, match):
    with pytest.raises(InputError, match=match):
        call()
