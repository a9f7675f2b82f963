"""pyarrow, pandas, polars, astropy's default readers and qp open the outputs with their metadata."""

from __future__ import annotations

import json

import numpy as np
import pytest

from astro_galflow.table import read_posterior_table
from astro_galflow.table_io import unit_to_string

from .conftest import MODELS, require_module


def _expected(table, name):
    col = table[name]
    return {
        "unit": unit_to_string(getattr(col, "unit", None)) or None,
        "ucd": col.info.meta["ucd"],
        "description": col.info.description,
    }


@pytest.mark.parametrize("model", MODELS)
def test_arrow_field_metadata_in_pyarrow(outputs, model):
    pq = require_module("pyarrow.parquet")
    path = outputs[model]["samples"]
    table = read_posterior_table(path)
    schema = pq.read_schema(path)
    assert schema.names == table.colnames
    for field in schema:
        meta = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
        expected = _expected(table, field.name)
        assert meta.get("unit") == expected["unit"], field.name
        assert meta["ucd"] == expected["ucd"] and meta["description"] == expected["description"], field.name


@pytest.mark.parametrize("model", MODELS)
def test_pandas_sees_units_ucds_descriptions(outputs, model):
    pd = require_module("pandas")
    path = outputs[model]["parquet"]
    df = pd.read_parquet(path)
    table = read_posterior_table(path)
    assert len(df) == len(table)
    np.testing.assert_array_equal(df["_healpix_29"].to_numpy(), np.asarray(table["_healpix_29"]))
    columns = df.attrs["columns"]
    for name in table.colnames:
        expected = {k: v for k, v in _expected(table, name).items() if v}
        assert columns[name] == expected, name


@pytest.mark.parametrize("model", MODELS)
def test_polars_reads_values_and_metadata(outputs, model):
    pl = require_module("polars")
    path = outputs[model]["samples"]
    df = pl.read_parquet(path)
    table = read_posterior_table(path)
    assert df.columns == table.colnames and df.height == len(table)
    np.testing.assert_allclose(df["ra"].to_numpy(), np.asarray(table["ra"].value))
    samples = next(c for c in table.colnames if c.endswith("_samples"))
    assert df[samples].to_numpy().shape == table[samples].shape
    columns = json.loads(pl.read_parquet_metadata(path)["PANDAS_ATTRS"])["columns"]
    assert columns["ra"] == {"unit": "deg", "ucd": "pos.eq.ra;meta.main", "description": "ICRS right ascension"}


@pytest.mark.parametrize("model", MODELS)
def test_astropy_default_readers_round_trip(outputs, model):
    from astropy.table import QTable

    table = read_posterior_table(outputs[model]["parquet"])
    for fmt in ("ecsv", "parquet", "hdf5"):
        plain = QTable.read(outputs[model][fmt])  # no format=, no path=
        assert plain.colnames == table.colnames, fmt
        for name in table.colnames:
            assert getattr(plain[name], "unit", None) == getattr(table[name], "unit", None), (fmt, name)
            assert plain[name].info.description == table[name].info.description, (fmt, name)


@pytest.mark.parametrize("fmt", ["fits", "ecsv", "parquet", "hdf5", "votable", "samples"])
def test_healpix_index_restored(outputs, fmt):
    table = read_posterior_table(outputs["sim-default"][fmt])
    assert [[c.info.name for c in index.columns] for index in table.indices] == [["_healpix_29"]]


@pytest.mark.parametrize("model", MODELS)
def test_qp_reads_the_ensembles(outputs, model, tmp_path):
    qp = require_module("qp")
    from astro_galflow.scale.compact import write_qp_files

    table = read_posterior_table(outputs[model]["samples"])
    paths = write_qp_files(table, tmp_path / "post.parquet")
    assert [p.name for p in paths][0].startswith("post.") and all(p.name.endswith(".qp.hdf5") for p in paths)
    with_posterior = int(np.isfinite(np.asarray(table["redshift_mean"])).sum())
    for path in paths:
        ensemble = qp.read(str(path))
        assert ensemble.npdf == with_posterior, path.name
        assert np.all(np.isfinite(ensemble.median()))
