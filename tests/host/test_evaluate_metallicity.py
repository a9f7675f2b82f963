"""Evaluation scores O/H only on galaxies with a measurable metallicity, as training does."""

import numpy as np

from astro_galflow.catalogs import read_catalog
from astro_galflow.evaluation.evaluate import evaluate_model
from astro_galflow.training.data import split_of


def test_oh_12_metrics_use_detectable_rows_only(tiny_model, simulated_catalog_path):
    table = read_catalog(simulated_catalog_path)
    result = evaluate_model(tiny_model, table, None, None, split="all", n_samples=16, baselines=())
    detectable = np.asarray(table["metallicity_detectable"], dtype=bool)
    assert 0 < detectable.sum() < len(table)
    assert len(result.truth["oh_12"]) == int(detectable.sum())
    assert len(result.truth["redshift"]) == len(table)
    assert set(split_of(table)) >= {"train", "test"}
