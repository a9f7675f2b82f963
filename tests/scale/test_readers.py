"""Chunked readers return exactly the rows, units and meta of a whole-file read."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from astro_galflow.exceptions import InputError
from astro_galflow.scale.readers import open_chunked
from astro_galflow.testing import make_input_table

FORMATS = ("parquet", "fits", "ecsv", "hdf5")


def _write(table, path):
    kwargs = {"path": "data", "serialize_meta": True} if path.suffix == ".hdf5" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FITS HIERARCH cards for long meta keys
        table.write(path, **kwargs)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        # Several small row groups, so chunks straddle row-group boundaries.
        pq.write_table(pq.read_table(path), path, row_group_size=37)


@pytest.mark.parametrize("fmt", FORMATS)
def test_chunks_reproduce_rows_units_and_meta(tmp_path, fmt):
    table = make_input_table(250, seed=4)
    table.meta["survey"] = "sdss"
    path = tmp_path / f"cat.{fmt}"
    _write(table, path)
    with open_chunked(path) as reader:
        assert reader.n_rows == 250
        chunks = list(reader.iter_chunks(60, skip=frozenset({2})))
    assert [(c.index, c.start, c.stop) for c in chunks] == [(0, 0, 60), (1, 60, 120), (3, 180, 240), (4, 240, 250)]
    for chunk in chunks:
        assert len(chunk.table) == chunk.stop - chunk.start
        np.testing.assert_array_equal(chunk.table["source_id"], table["source_id"][chunk.start : chunk.stop])
        np.testing.assert_allclose(chunk.table["mag_g"].value, table["mag_g"].value[chunk.start : chunk.stop])
        assert chunk.table["mag_g"].unit == table["mag_g"].unit
        assert chunk.table["ra"].unit == table["ra"].unit
        meta = {k.lower(): v for k, v in chunk.table.meta.items()}
        assert meta["survey"] == "sdss"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n_rows=st.integers(1, 120), chunk_rows=st.integers(1, 50), fmt=st.sampled_from(["parquet", "ecsv"]))
def test_every_row_once_for_any_chunking(tmp_path_factory, n_rows, chunk_rows, fmt):
    table = make_input_table(n_rows, seed=n_rows)
    path = tmp_path_factory.mktemp("cat") / f"cat.{fmt}"
    _write(table, path)
    with open_chunked(path) as reader:
        ids = np.concatenate([np.asarray(c.table["source_id"]) for c in reader.iter_chunks(chunk_rows)])
    np.testing.assert_array_equal(ids, table["source_id"])


def test_unknown_extension_is_refused(tmp_path):
    path = tmp_path / "cat.txt"
    path.write_text("x\n")
    with pytest.raises(InputError, match=r"cat\.txt.*unknown extension"):
        open_chunked(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(InputError, match="nope.parquet"):
        open_chunked(tmp_path / "nope.parquet")


def test_corrupt_parquet_is_named(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InputError, match="bad.parquet"):
        open_chunked(path)


def test_corrupt_ecsv_rows_are_named(tmp_path):
    path = tmp_path / "cat.ecsv"
    _write(make_input_table(30), path)
    lines = path.read_text().splitlines(keepends=True)
    lines[-5] = "not numbers at all\n"
    path.write_text("".join(lines))
    with pytest.raises(InputError, match=r"rows 20-29 of .*cat\.ecsv"):
        with open_chunked(path) as reader:
            list(reader.iter_chunks(10))
