"""The kNN, MLP and gradient-boosting baselines."""

import numpy as np
import pytest

from astro_galflow.evaluation.baselines import BASELINES, design_matrix, fit_baseline, fit_baselines
from astro_galflow.exceptions import InputError
from astro_galflow.testing import tables


def _linear(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    return x, x @ np.array([0.5, -1.0, 0.25]) + 0.05 * rng.normal(size=n)


def test_every_baseline_learns_a_smooth_function():
    x, y = _linear(600, 0)
    x_eval, y_eval = _linear(200, 1)
    results = fit_baselines(x, y, x_eval, seed=0)
    assert tuple(results) == BASELINES
    for name, res in results.items():
        r2 = 1 - np.sum((res.prediction - y_eval) ** 2) / np.sum((y_eval - y_eval.mean()) ** 2)
        assert r2 > 0.9, name
    assert results["knn"].samples.shape == (200, 30)
    assert results["gbm"].samples is None and results["mlp"].samples is None


def test_baselines_are_seeded():
    x, y = _linear(200, 2)
    a = fit_baseline("mlp", x, y, x[:10], seed=3).prediction
    b = fit_baseline("mlp", x, y, x[:10], seed=3).prediction
    np.testing.assert_array_equal(a, b)


def test_knn_uses_at_most_the_training_rows():
    x, y = _linear(10, 4)
    assert fit_baseline("knn", x, y, x[:3]).samples.shape == (3, 10)


def test_design_matrix_has_colours_magnitudes_and_optional_errors():
    table = tables.make_input_table(8)
    plain = design_matrix(table)
    assert plain.shape == (8, 9)
    np.testing.assert_allclose(plain[:, 0], table["mag_u"].value - table["mag_g"].value)
    assert design_matrix(table, errors=True).shape == (8, 14)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("svm", np.zeros((3, 2)), np.zeros(3), np.zeros((1, 2))), "unknown baseline"),
        (("gbm", np.full((3, 2), np.nan), np.zeros(3), np.zeros((1, 2))), "non-finite"),
        (("gbm", np.zeros((3, 2)), np.zeros(4), np.zeros((1, 2))), "targets"),
        (("knn", np.zeros(3), np.zeros(3), np.zeros((1, 2))), "shape"),
    ],
)
def test_bad_inputs_raise(args, match):
    with pytest.raises(InputError, match=match):
        fit_baseline(*args)
