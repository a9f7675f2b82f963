"""Training data: deterministic splits, labels, cutout streaming, standardisation."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import QTable
from hypothesis import given, settings
from hypothesis import strategies as st

from astro_galflow.exceptions import InputError, MissingColumnError
from astro_galflow.training.data import catalog_cutouts, iterate_images, labels_of, split_of
from astro_galflow.training.standardise import column_stats


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=50, unique=True), st.randoms())
def test_split_depends_only_on_source_id(ids, rnd):
    table = QTable({"source_id": np.array(ids, dtype=np.int64)})
    split = split_of(table)
    order = list(range(len(ids)))
    rnd.shuffle(order)
    shuffled = split_of(table[order])
    np.testing.assert_array_equal(shuffled, split[order])
    assert set(split) <= {"train", "val", "test"}


def test_split_fractions_are_close_to_70_15_15():
    split = split_of(QTable({"source_id": np.arange(20000)}))
    for name, frac in [("train", 0.70), ("val", 0.15), ("test", 0.15)]:
        assert abs(np.mean(split == name) - frac) < 0.02


def test_labels_model_space_and_detectability(labelled_table):
    table = labelled_table(20)
    labels = labels_of(table, ["oh_12", "flux_halpha"])
    det = np.asarray(table["metallicity_detectable"])
    assert np.isnan(labels[~det, 0]).all() and np.isfinite(labels[det, 0]).all()
    np.testing.assert_allclose(labels[:, 1], np.log1p(np.asarray(table["flux_halpha"])))
    with pytest.raises(MissingColumnError, match="redshift"):
        labels_of(table[["source_id"]], ["redshift"])


def test_catalog_cutouts_streams_in_index_order(tmp_path, write_catalog):
    path = write_catalog(tmp_path, 12, cutouts=True)
    table = QTable.read(path)
    cutouts, index = catalog_cutouts(table, path)
    assert isinstance(cutouts, np.memmap)
    wanted = np.array([7, 2, 11, 2, 0])
    got = np.concatenate([imgs for _, imgs in iterate_images(cutouts, wanted, 2)])
    np.testing.assert_array_equal(got, np.asarray(cutouts)[wanted])
    table["cutout_index"][3] = 99
    with pytest.raises(InputError, match="row 3"):
        catalog_cutouts(table, path)


def test_column_stats_ignore_nan_and_constant_columns():
    values = np.array([[1.0, 5.0, np.nan], [3.0, 5.0, np.nan], [np.nan, 5.0, np.nan]])
    stats = column_stats(values)
    assert stats["mean"][0] == 2.0 and stats["std"][0] == 1.0
    assert stats["std"][1] == 1.0 and stats["min"][1] == stats["max"][1] == 5.0
    assert stats["mean"][2] == 0.0 and stats["std"][2] == 1.0
