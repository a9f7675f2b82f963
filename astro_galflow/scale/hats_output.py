"""What makes a posterior HATS catalog complete for LSDB: described schema, margin, provenance.

The Dask engine writes its partitions with LSDB's writer, which knows values only. After
:meth:`lsdb.catalog.Catalog.write_catalog`, :func:`finish_hats_catalog`:

* rewrites every partition file sorted by ``_healpix_29`` (LSDB's and HATS's expectation
  for joins and cone searches) with each Arrow field's metadata (``unit``, ``ucd``,
  ``description``, as :mod:`astro_galflow.table_io` writes Parquet files), then rebuilds
  ``dataset/_metadata`` and ``_common_metadata`` with hats, and adds the VOParquet
  header (``IVOA.VOTable-Parquet.content``, the hats convention for units and UCDs);
* writes a margin cache beside the catalog, ``<catalog>_margin_<N>arcsec``, with
  hats-import, so that ``lsdb.open_catalog(catalog, margin_cache=margin)`` cross-matches
  near partition edges without LSDB's "does not have a margin cache" warning. The
  threshold, :data:`MARGIN_THRESHOLD_ARCSEC` (10 arcsec), is wider than any match radius
  used for galaxies with SDSS-like positions (1-5 arcsec).

:func:`hats_properties` gives the provenance keys for ``hats.properties``.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from astro_galflow.healpix import SPATIAL_INDEX_COLUMN

__all__ = [
    "MARGIN_THRESHOLD_ARCSEC",
    "hats_properties",
    "margin_path_for",
    "describe_partitions",
    "write_margin_cache",
    "finish_hats_catalog",
]

#: Margin-cache threshold of posterior catalogs, in arcsec (module docstring).
MARGIN_THRESHOLD_ARCSEC = 10.0


def hats_properties(config, provenance: dict) -> dict:
    """Provenance for ``hats.properties``: run options, model, library and plugin versions.

    Values are single-line strings (the properties-file format); structured ones are JSON.

    Parameters
    ----------
    config : astro_galflow.config.GalflowConfig
    provenance : dict
        The run's provenance (:meth:`astro_galflow.run.InferenceRun.provenance`).
    """
    meta = config.to_meta()
    return {
        "galflow_model": str(meta.get("model", "")),
        "galflow_config": json.dumps(meta, default=str, sort_keys=True),
        "galflow_provenance": json.dumps(provenance, default=str, sort_keys=True),
        "galflow_date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def margin_path_for(catalog_path, threshold_arcsec: float = MARGIN_THRESHOLD_ARCSEC) -> Path:
    """Directory of the margin cache of ``catalog_path``: ``<catalog>_margin_<N>arcsec``."""
    catalog_path = Path(catalog_path)
    return catalog_path.with_name(f"{catalog_path.name}_margin_{threshold_arcsec:g}arcsec")


def _partition_files(catalog_path: Path):
    return sorted((catalog_path / "dataset").glob("Norder=*/Dir=*/Npix=*.parquet"))


def describe_partitions(catalog_path, columns=None) -> None:
    """Sort every partition by ``_healpix_29`` and describe its fields; rebuild the metadata files.

    Parameters
    ----------
    catalog_path : path-like
        A HATS catalog (or margin catalog) directory.
    columns : dict, optional
        ``{name: {"unit", "description", "ucd"}}``; default
        :func:`astro_galflow.table.column_metadata` of the schema's names.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    from hats.io.parquet_metadata import write_parquet_metadata

    from astro_galflow.table_io import atomic_path, unit_to_string

    catalog_path = Path(catalog_path)
    files = _partition_files(catalog_path)
    if not files:
        return
    if columns is None:
        from astro_galflow.table import column_metadata

        columns = column_metadata(pq.read_schema(files[0]).names)
    for path in files:
        table = pq.read_table(path, use_threads=False)
        if SPATIAL_INDEX_COLUMN in table.column_names:
            table = table.sort_by(SPATIAL_INDEX_COLUMN)
        fields = []
        for field in table.schema:
            info = columns.get(field.name, {})
            meta = {
                "unit": unit_to_string(info.get("unit")),
                "ucd": info.get("ucd"),
                "description": info.get("description"),
            }
            meta = {k.encode(): v.encode() for k, v in meta.items() if v}
            fields.append(field.with_metadata(meta) if meta else field)
        table = table.cast(pa.schema(fields, metadata=table.schema.metadata))
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
    write_parquet_metadata(os.fspath(catalog_path))
    _write_voparquet_header(catalog_path, columns)


def _write_voparquet_header(catalog_path: Path, columns: dict) -> None:
    """The VOTable header of the VOParquet convention in ``_common_metadata`` (units, UCDs, descriptions)."""
    import io
    import warnings

    import astropy.units as u
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from astropy.table import QTable

    from astro_galflow.table_io import votable_file

    common = catalog_path / "dataset" / "_common_metadata"
    schema = pq.read_schema(common)
    empty, lists = QTable(), set()
    for field in schema:
        kind = field.type
        if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
            lists.add(field.name)
            empty[field.name] = np.zeros((0, 1), dtype=kind.value_type.to_pandas_dtype())
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            empty[field.name] = np.zeros(0, dtype=str)
        else:
            empty[field.name] = np.zeros(0, dtype=kind.to_pandas_dtype())
        info = columns.get(field.name, {})
        unit = info.get("unit")
        if unit is not None and unit != u.dimensionless_unscaled:
            empty[field.name].unit = unit
        empty[field.name].info.description = info.get("description")
        empty[field.name].info.meta = {"ucd": info["ucd"]} if info.get("ucd") else {}
    votable = votable_file(empty)
    for vo_field in votable.resources[0].tables[0].fields:
        if vo_field.name in lists:
            vo_field.arraysize = "*"
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)
        warnings.filterwarnings("ignore", message=".*W50.*")
        votable.to_xml(buffer)
    meta = dict(schema.metadata or {})
    meta[b"IVOA.VOTable-Parquet.version"] = b"1.0"
    meta[b"IVOA.VOTable-Parquet.content"] = buffer.getvalue()
    pq.write_metadata(schema.with_metadata(meta), common)


def write_margin_cache(
    catalog_path, *, threshold_arcsec: float = MARGIN_THRESHOLD_ARCSEC, client=None, properties=None
):
    """Write the margin cache of ``catalog_path`` with hats-import; return its directory.

    Parameters
    ----------
    catalog_path : path-like
        The HATS catalog.
    threshold_arcsec : float
        Margin width.
    client : distributed.Client, optional
        Cluster to run on; default a small in-process one, closed at the end.
    properties : dict, optional
        Extra ``hats.properties`` keys of the margin catalog.
    """
    import shutil
    import tempfile
    import warnings

    from hats_import.margin_cache.margin_cache_arguments import MarginCacheArguments
    from hats_import.pipeline import pipeline_with_client

    catalog_path = Path(catalog_path)
    margin = margin_path_for(catalog_path, threshold_arcsec)
    if margin.exists():
        shutil.rmtree(margin)
    own = client is None
    if own:
        from distributed import Client

        # dashboard_address=None still binds :8787 (clashing between clusters): loopback, a free port
        client = Client(n_workers=1, threads_per_worker=2, processes=False, dashboard_address="127.0.0.1:0")
    try:
        with tempfile.TemporaryDirectory(dir=catalog_path.parent, prefix=".margin-tmp-") as tmp:
            args = MarginCacheArguments(
                input_catalog_path=os.fspath(catalog_path),
                output_path=os.fspath(margin.parent),
                output_artifact_name=margin.name,
                margin_threshold=threshold_arcsec,
                addl_hats_properties=properties,
                progress_bar=False,
                tmp_dir=tmp,
            )
            with warnings.catch_warnings():
                # hats-import lists the margin partitions it has just written from their
                # files, and says so; nothing for the user to act on.
                warnings.filterwarnings("ignore", message="Computing partitions from catalog parquet files")
                pipeline_with_client(args, client)
    finally:
        if own:
            client.close()
    return margin


def finish_hats_catalog(
    catalog_path, *, client=None, properties=None, margin_threshold_arcsec: float = MARGIN_THRESHOLD_ARCSEC
) -> Path:
    """Describe, sort and add a margin cache to a posterior HATS catalog; return the margin's path.

    Call after :meth:`lsdb.catalog.Catalog.write_catalog` (module docstring).
    """
    describe_partitions(catalog_path)
    margin = write_margin_cache(
        catalog_path, threshold_arcsec=margin_threshold_arcsec, client=client, properties=properties
    )
    if _partition_files(margin):
        describe_partitions(margin)
    return margin
