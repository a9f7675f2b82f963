"""Compact PDFs (quantile grid, histogram) and their RAIL qp export."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from astro_galflow.config import GalflowConfig
from astro_galflow.exceptions import InputError
from astro_galflow.scale import compact
from astro_galflow.table import read_posterior_table, write_posterior_table
from astro_galflow.testing import make_input_table

finite = st.floats(-50, 50, allow_nan=False)


@given(
    samples=arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(2, 40)), elements=finite), n=st.integers(2, 30)
)
def test_quantile_pdf_is_monotone_and_bracketed(samples, n):
    q = compact.compact_quantiles(samples, compact.quantile_levels(n))
    assert q.shape == (samples.shape[0], n)
    assert (np.diff(q, axis=1) >= -1e-4).all()
    assert (q >= samples.min(axis=1, keepdims=True) - 1e-4).all()
    assert (q <= samples.max(axis=1, keepdims=True) + 1e-4).all()


@given(
    samples=arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 40)), elements=finite),
    bins=st.integers(1, 30),
)
def test_histogram_pdf_integrates_to_one(samples, bins):
    edges = np.linspace(-10, 10, bins + 1)
    density = compact.compact_histogram(samples, edges)
    np.testing.assert_allclose((density * np.diff(edges)).sum(axis=1), 1.0, rtol=1e-5)


def test_rows_without_posterior_stay_nan():
    samples = np.array([[1.0, 2.0, 3.0], [np.nan, np.nan, np.nan]])
    assert np.isnan(compact.compact_quantiles(samples, [0.5])[1]).all()
    assert np.isnan(compact.compact_histogram(samples, [0, 1, 2, 3, 4])[1]).all()
    assert np.isfinite(compact.compact_histogram(samples, [0, 1, 2, 3, 4])[0]).all()


def test_quantile_levels_need_two():
    with pytest.raises(ValueError, match="at least 2"):
        compact.quantile_levels(1)


@pytest.fixture(scope="module")
def compact_pm():
    from astro_galflow.plugins import get_plugin_manager

    pm = get_plugin_manager(load_entrypoints=False)
    assert pm.is_registered(compact), "compact PDFs are a built-in plugin"
    return pm


@pytest.mark.parametrize(
    ("option", "column"),
    [
        ({"kind": "quantiles", "n": 15}, "pdf_quantiles"),
        ({"kind": "histogram", "bins": 40, "ranges": {"redshift": [0.0, 0.2]}}, "pdf_hist"),
    ],
)
def test_pipeline_columns_and_qp_export(tmp_path, tiny_model, compact_pm, option, column):
    import qp

    from astro_galflow.pipeline import infer_table

    config = GalflowConfig(n_samples=400, seed=1, batch_size=64, backend="eager", compact_pdf=option)
    table = infer_table(make_input_table(40, seed=3), config=config, pm=compact_pm, model=tiny_model)
    assert table[f"redshift_{column}"].shape[0] == 40
    assert table.meta[compact.OPTION]["kind"] == option["kind"]

    path = tmp_path / "post.parquet"
    write_posterior_table(table, path)
    qp_path = compact.write_qp(read_posterior_table(path), "redshift", tmp_path / "redshift.hdf5")
    ensemble = qp.read(str(qp_path))
    assert ensemble.npdf == 40
    np.testing.assert_array_equal(ensemble.ancil["source_id"], table["source_id"])
    # The qp median sits near the posterior median the table reports.
    spread = table["redshift_std"].value
    assert np.all(np.abs(ensemble.median()[:, 0] - table["redshift_p50"].value) < 0.5 * spread + 0.01)


def test_without_option_nothing_is_added(tiny_model, compact_pm):
    from astro_galflow.pipeline import infer_table

    config = GalflowConfig(n_samples=16, batch_size=64, backend="eager")
    table = infer_table(make_input_table(5), config=config, pm=compact_pm, model=tiny_model)
    assert not [c for c in table.colnames if "_pdf_" in c]
    assert compact.OPTION not in table.meta


def test_export_from_samples_and_errors(tmp_path, tiny_model, scale_pm):
    import qp

    from astro_galflow.pipeline import infer_table

    config = GalflowConfig(n_samples=64, batch_size=64, backend="eager", store_samples=True)
    table = infer_table(make_input_table(10), config=config, pm=scale_pm, model=tiny_model)
    ensemble = qp.read(str(compact.write_qp(table, "log_mstar", tmp_path / "m.hdf5")))
    assert ensemble.npdf == 10
    with pytest.raises(InputError, match="oh_12"):
        compact.to_qp_ensemble(table, "oh_12")
    with pytest.raises(InputError, match=r"\.hdf5"):
        compact.write_qp(table, "log_mstar", tmp_path / "m.fits")
    with pytest.raises(ValueError, match="kind"):
        GalflowConfig(compact_pdf={"kind": "spline"})


@settings(max_examples=5, deadline=None)
@given(st.sampled_from(["oh_12", "log_mbh"]))
def test_missing_histogram_range_is_named(name):
    from astro_galflow.params import get_parameter

    config = GalflowConfig(compact_pdf={"kind": "histogram", "ranges": {name: [1.0, 1.0]}})
    with pytest.raises(InputError, match=name):
        compact.galflow_summarize_posterior(parameter=get_parameter(name), samples=np.zeros((1, 2)), config=config)
