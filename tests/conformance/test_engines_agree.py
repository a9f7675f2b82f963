"""Every engine gives the same posterior table for the same catalog and seed, with the shipped models.

The matrix: each shipped model (``sim-default`` with cutouts, ``sim-photometry``,
``sdss-photoz``) x the ``memory`` engine, the streaming ``local`` engine at three chunk
sizes (one that splits the catalog unevenly) and the ``dask`` engine; and a damaged
catalog (masked magnitudes written to Parquet, FITS and HDF5, NaN, sentinel magnitudes,
missing and out-of-range cutouts) through the same engines. Tables are compared row by
row (Dask writes HEALPix order; rows are matched on ``source_id``): the same flags, the
same meta apart from the engine's name, and the same numbers up to float32 rounding
(batched matrix products may round the last bit differently for different batch sizes).
"""

from __future__ import annotations

import warnings

import lsdb  # the scale extra is part of every install the tests run in: the matrix must not skip
import numpy as np
import pytest
from astropy.table import MaskedColumn, QTable

from astro_galflow.cli import main
from astro_galflow.config import GalflowConfig
from astro_galflow.flags import PosteriorFlag
from astro_galflow.pipeline import infer_table
from astro_galflow.scale.stream import stream_infer
from astro_galflow.table import read_posterior_table

pytestmark = [
    pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::astro_galflow.exceptions.GalflowWarning"),
]

MODELS = ("sim-default", "sim-photometry", "sdss-photoz")
N_ROWS = 40
CHUNKS = (7, 16, 1000)
# Meta entries that name the engine or the moment, not the result.
VARYING_META = {"engine", "date"}


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    """A simulated catalog with its gri cutouts (FITS; the meta names the cutouts file)."""
    folder = tmp_path_factory.mktemp("conformance")
    path = folder / "sim.fits"
    assert main(["simulate", str(path), "-n", str(N_ROWS), "--seed", "21"]) == 0
    return path


@pytest.fixture(scope="module")
def damaged(survey):
    """The catalog with damaged rows, written as Parquet, FITS and HDF5 (masked values kept as masks)."""
    table = QTable.read(survey)
    table.meta = {k.lower(): v for k, v in table.meta.items()}
    g = np.asarray(table["mag_g"], dtype=np.float64).copy()
    g[0] = np.nan  # NaN magnitude
    table["mag_g"] = g
    r = np.asarray(table["mag_r"], dtype=np.float64)
    table["mag_r"] = MaskedColumn(r, mask=np.arange(len(r)) == 1)  # a masked magnitude
    i = np.asarray(table["mag_i"], dtype=np.float64).copy()
    i[2] = -9999.0  # a sentinel
    table["mag_i"] = i
    index = np.asarray(table["cutout_index"], dtype=np.int64).copy()
    index[3] = -1  # no cutout
    index[4] = 10**6  # a cutout that does not exist
    table["cutout_index"] = index
    inputs = ["source_id", "ra", "dec", "cutout_index"] + [
        c for c in table.colnames if c.startswith(("mag_", "magerr_"))
    ]
    table = table[inputs]  # the input convention only (the truth columns carry dex units FITS cannot hold)
    paths = {}
    for fmt in ("parquet", "fits", "hdf5"):
        path = survey.with_name(f"damaged.{fmt}")
        kwargs = {"path": "catalog", "serialize_meta": True} if fmt == "hdf5" else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FITS HIERARCH cards for the long meta keys
            table.write(path, overwrite=True, **kwargs)
        paths[fmt] = path
    return paths


@pytest.fixture(scope="module")
def client():
    from astro_galflow.scale.dask_engine import make_local_client

    client = make_local_client(n_workers=1, threads_per_worker=1)
    yield client
    cluster = client.cluster
    client.close()
    cluster.close()


def _config(model: str) -> GalflowConfig:
    return GalflowConfig(model=model, n_samples=48, seed=5, batch_size=16, backend="eager")


def _memory(path, config):
    from astro_galflow.catalogs import read_catalog

    return infer_table(read_catalog(path), config=config)


def _local(path, config, tmp_path, chunk_rows):
    out = tmp_path / f"local-{chunk_rows}-{path.stem}.parquet"
    stream_infer(path, out, config=config, chunk_rows=chunk_rows, progress=False)
    return read_posterior_table(out)


def _dask(path, config, tmp_path, client):
    from astro_galflow.scale.dask_engine import dask_infer

    out = tmp_path / f"dask-{path.stem}"
    dask_infer(path, out, config=config, client=client, progress=False)
    frame = lsdb.open_catalog(out).compute().reset_index()
    return frame


def _by_source(table) -> dict:
    """Column -> values ordered by source_id, for a QTable or a DataFrame."""
    if isinstance(table, QTable):
        order = np.argsort(np.asarray(table["source_id"]))
        return {name: np.asarray(getattr(table[name], "value", table[name]))[order] for name in table.colnames}
    order = np.argsort(table["source_id"].to_numpy())
    return {
        name: np.asarray(table[name].to_list() if table[name].dtype == object else table[name])[order]
        for name in table.columns
    }


def _assert_same_rows(reference: QTable, other, label: str) -> None:
    ref, got = _by_source(reference), _by_source(other)
    np.testing.assert_array_equal(got["source_id"], ref["source_id"], err_msg=label)
    np.testing.assert_array_equal(got["posterior_flags"], ref["posterior_flags"], err_msg=label)
    numeric = [n for n in ref if np.asarray(ref[n]).dtype.kind == "f"]
    assert numeric, label
    for name in numeric:
        assert name in got, f"{label}: column {name} missing"
        # the domain score is a log density over ~70 features: it amplifies the float32
        # rounding of the image features by a few hundred
        tolerance = 2e-3 if name == "ood_score" else 1e-4
        np.testing.assert_allclose(
            np.asarray(got[name], dtype=np.float64),
            np.asarray(ref[name], dtype=np.float64),
            rtol=tolerance,
            atol=tolerance,
            equal_nan=True,
            err_msg=f"{label}: {name}",
        )


def _assert_same_meta(reference: QTable, other: QTable, label: str) -> None:
    a = {k: v for k, v in reference.meta.items() if k not in VARYING_META}
    b = {k: v for k, v in other.meta.items() if k not in VARYING_META}
    assert a == b, label
    assert reference.meta["engine"] == "memory" and other.meta["engine"] == "local"


@pytest.mark.parametrize("model", MODELS)
def test_engines_agree_on_a_clean_catalog(model, survey, tmp_path, client):
    config = _config(model)
    reference = _memory(survey, config)
    assert len(reference) == N_ROWS
    usable = (np.asarray(reference["posterior_flags"]) & int(PosteriorFlag.NO_POSTERIOR)) == 0
    assert usable.all(), f"{model}: every clean simulated row is inferred"
    for chunk_rows in CHUNKS:
        local = _local(survey, config, tmp_path, chunk_rows)
        _assert_same_rows(reference, local, f"{model} local chunk_rows={chunk_rows}")
        _assert_same_meta(reference, local, f"{model} local chunk_rows={chunk_rows}")
    frame = _dask(survey, config, tmp_path, client)
    _assert_same_rows(reference, frame, f"{model} dask")


def test_a_threaded_dask_worker_agrees_with_the_memory_engine(tmp_path):
    """One worker with 4 threads (a user's threaded cluster) runs several partitions at once.

    They share the worker's run and astropy's class-level column state; the shipped
    ``sim-photometry`` on its default backend must still give the memory engine's rows.
    """
    from distributed import Client, LocalCluster

    from astro_galflow.testing import make_input_table

    table = make_input_table(600, seed=8)
    catalog = tmp_path / "input"
    lsdb.from_dataframe(
        table.to_pandas(), ra_column="ra", dec_column="dec", partition_rows=150, highest_order=8
    ).write_catalog(catalog, as_collection=False, progress_bar=False)
    assert len(lsdb.open_catalog(catalog).get_healpix_pixels()) >= 4
    config = GalflowConfig(model="sim-photometry", n_samples=64, seed=5)
    with (
        LocalCluster(n_workers=1, threads_per_worker=4, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as threaded,
    ):
        frame = _dask(catalog, config, tmp_path, threaded)
    _assert_same_rows(infer_table(table, config=config), frame, "sim-photometry dask, one 4-thread worker")


# each format and each model goes through Dask once; every pair through memory and local
DAMAGED_DASK = {("parquet", "sim-default"), ("fits", "sdss-photoz"), ("hdf5", "sim-photometry")}


@pytest.mark.parametrize("fmt", ["parquet", "fits", "hdf5"])
@pytest.mark.parametrize("model", MODELS)
def test_engines_agree_on_a_damaged_catalog(model, fmt, damaged, tmp_path, client):
    path = damaged[fmt]
    config = _config(model)
    reference = _memory(path, config)
    flags = np.asarray(reference["posterior_flags"])
    ids = np.asarray(reference["source_id"])
    table = QTable.read(path, **({"path": "catalog"} if fmt == "hdf5" else {}))
    damaged_ids = {int(table["source_id"][k]) for k in range(3)}
    for source_id, flag in zip(ids, flags):
        if int(source_id) in damaged_ids:
            assert flag & int(PosteriorFlag.BAD_PHOTOMETRY), f"{model}/{fmt}: row {source_id} not flagged"
            assert flag & int(PosteriorFlag.NO_POSTERIOR)
    if model == "sim-default":
        for k in (3, 4):
            row = np.flatnonzero(ids == table["source_id"][k])[0]
            assert flags[row] & int(PosteriorFlag.BAD_CUTOUT) and flags[row] & int(PosteriorFlag.NO_POSTERIOR)
    no_post = (flags & int(PosteriorFlag.NO_POSTERIOR)) != 0
    assert np.isnan(np.asarray(reference["redshift_p50"].value)[no_post]).all()
    assert np.isfinite(np.asarray(reference["redshift_p50"].value)[~no_post]).all()

    local = _local(path, config, tmp_path, 7)
    _assert_same_rows(reference, local, f"{model}/{fmt} local")
    _assert_same_meta(reference, local, f"{model}/{fmt} local")
    if (fmt, model) in DAMAGED_DASK:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = _dask(path, config, tmp_path, client)
        _assert_same_rows(reference, frame, f"{model}/{fmt} dask")


def test_cli_dask_hats_from_sim_default_opens_in_lsdb_and_validates(survey, tmp_path):
    """``galflow infer sim.fits out --engine dask --model sim-default``: cutouts found, a valid HATS catalog."""
    from hats.io.validation import is_valid_catalog

    out = tmp_path / "post-hats"
    args = ["infer", str(survey), str(out), "--engine", "dask", "--workers", "1", "--model", "sim-default"]
    assert main([*args, "-n", "32", "--backend", "eager", "--no-progress"]) == 0
    assert is_valid_catalog(out, strict=True, verbose=False)
    frame = lsdb.open_catalog(out).compute()
    assert len(frame) == N_ROWS
    assert np.isfinite(frame["log_mstar_p50"]).all()
    assert {"log_mstar_std_epistemic", "oh_12_detectable_probability"} <= set(frame.columns)
    cone = lsdb.open_catalog(out).cone_search(frame["ra"].iloc[0], frame["dec"].iloc[0], radius_arcsec=1.0).compute()
    assert frame["source_id"].iloc[0] in set(cone["source_id"])


def test_device_summaries_path_agrees_with_the_host_path_on_cpu(survey):
    """The GPU code path (noise on the device, summaries there) run on CPU tensors: same flags and
    columns, posteriors statistically equal (its noise differs from torch's CPU generator)."""
    from astro_galflow.catalogs import read_catalog

    table = read_catalog(survey)
    host = infer_table(table, config=GalflowConfig(model="sim-default", n_samples=1000, seed=4, backend="eager"))
    device = infer_table(
        table,
        config=GalflowConfig(
            model="sim-default", n_samples=1000, seed=4, backend="eager", backend_settings={"device_summaries": True}
        ),
    )
    assert device.colnames == host.colnames
    np.testing.assert_array_equal(device["posterior_flags"], host["posterior_flags"])
    for name in ("log_mstar", "redshift", "flux_halpha", "oh_12"):
        std = host[f"{name}_std"].value
        shift = np.abs(device[f"{name}_mean"].value - host[f"{name}_mean"].value) / std
        # two independent 1,000-sample means differ by ~N(0, 0.045 std): median ~0.03
        assert np.nanmedian(shift) < 0.08, name
        if not name.startswith("flux_"):  # a line flux's std over 1,000 draws of a heavy tail is itself noisy
            np.testing.assert_allclose(device[f"{name}_std"].value, std, rtol=0.15)
    assert np.array_equal(np.isnan(device["redshift_p50"].value), np.isnan(host["redshift_p50"].value))
