"""LSDB and hats open the posterior HATS catalogs: validation, described schema, margin, cone search, cross-match."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

from astro_galflow.scale.hats_output import MARGIN_THRESHOLD_ARCSEC, margin_path_for
from astro_galflow.table import read_posterior_table

from .conftest import MODELS, require_module

# nested-pandas (under LSDB) still calls NestedFrame.drop(inplace=...), deprecated in pandas 3.1.
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning")


@pytest.mark.parametrize("model", MODELS)
def test_hats_validates_catalog_and_margin(outputs, model):
    require_module("hats")
    from hats.io.validation import is_valid_catalog

    path = outputs[model]["hats"]
    margin = margin_path_for(path)
    assert margin.name.endswith(f"_margin_{MARGIN_THRESHOLD_ARCSEC:g}arcsec")
    assert is_valid_catalog(path, strict=True)
    assert is_valid_catalog(margin, strict=True)
    properties = (path / "hats.properties").read_text()
    for key in ("galflow_model", "galflow_config", "galflow_provenance", "hats_col_healpix=_healpix_29"):
        assert key in properties


@pytest.mark.parametrize("model", MODELS)
def test_schema_carries_units_ucds_descriptions(outputs, model):
    pq = require_module("pyarrow.parquet")
    from astropy.io.votable import parse

    path = outputs[model]["hats"]
    schema = pq.read_schema(path / "dataset" / "_common_metadata")
    table = read_posterior_table(outputs[model]["parquet"])
    for field in schema:
        meta = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
        assert meta.get("description") and meta.get("ucd"), field.name
    assert {k.decode(): v.decode() for k, v in schema.field("ra").metadata.items()}["unit"] == "deg"
    # The VOParquet header (hats' convention) describes the same columns.
    xml = schema.metadata[b"IVOA.VOTable-Parquet.content"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fields = {f.name: f for f in parse(io.BytesIO(xml), unit_format="generic").get_first_table().fields}
    assert set(fields) == set(schema.names)
    assert fields["dec"].ucd == "pos.eq.dec;meta.main"
    assert fields["redshift_mean"].description == table["redshift_mean"].info.description


@pytest.mark.parametrize("model", MODELS)
def test_partitions_sorted_by_healpix(outputs, model):
    pq = require_module("pyarrow.parquet")
    files = sorted((outputs[model]["hats"] / "dataset").glob("Norder=*/Dir=*/Npix=*.parquet"))
    assert len(files) > 1
    for path in files:
        values = pq.read_table(path, columns=["_healpix_29"]).column(0).to_numpy()
        assert np.all(np.diff(values) >= 0), path.name


@pytest.mark.parametrize("model", MODELS)
def test_cone_search_and_crossmatch_with_margin(outputs, model):
    lsdb = require_module("lsdb")
    path = outputs[model]["hats"]
    table = read_posterior_table(outputs[model]["parquet"])
    ra, dec = np.asarray(table["ra"].value), np.asarray(table["dec"].value)
    catalog = lsdb.open_catalog(path, margin_cache=margin_path_for(path))
    assert catalog.margin is not None

    centre, radius = (float(ra[0]), float(dec[0])), 0.5
    cone = catalog.cone_search(ra=centre[0], dec=centre[1], radius_arcsec=radius * 3600).compute()
    from astropy.coordinates import SkyCoord

    sep = SkyCoord(ra, dec, unit="deg").separation(SkyCoord(*centre, unit="deg")).deg
    assert sorted(cone["source_id"]) == sorted(np.asarray(table["source_id"])[sep < radius])

    frame = table[["source_id", "ra", "dec"]].to_pandas(index=False)
    frame["ra"], frame["dec"] = ra, dec
    left = lsdb.from_dataframe(frame.rename(columns={"source_id": "input_id"}), ra_column="ra", dec_column="dec")
    with warnings.catch_warnings():
        # Without a margin cache LSDB warns that results may be incomplete: not here.
        warnings.filterwarnings("error", message=".*margin cache.*")
        matched = left.crossmatch(
            catalog, radius_arcsec=1.0, suffixes=("_in", "_post"), suffix_method="overlapping_columns"
        ).compute()
    assert len(matched) == len(table)
    assert np.all(np.asarray(matched["input_id"]) == np.asarray(matched["source_id"]))
