"""Dask/LSDB engine on a 2-worker LocalCluster over a small HATS catalog."""

from __future__ import annotations

import dataclasses
import functools
import shutil
import warnings

import numpy as np
import pytest

from astro_galflow.exceptions import InputError
from astro_galflow.testing import make_input_table

lsdb = pytest.importorskip("lsdb", reason="the Dask engine needs the 'scale' extra (lsdb)")
pytest.importorskip("distributed", reason="the Dask engine needs the 'scale' extra (distributed)")

# nested-pandas (under LSDB) still calls NestedFrame.drop(inplace=...), deprecated in pandas 3.1.
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning")

N_ROWS = 3000


@pytest.fixture(scope="module")
def client():
    from astro_galflow.scale.dask_engine import make_local_client

    client = make_local_client(n_workers=2, threads_per_worker=1)
    yield client
    cluster = client.cluster
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def hats_catalog(tmp_path_factory):
    """A HATS catalog of the host's input columns in 4 HEALPix partitions."""
    table = make_input_table(N_ROWS, seed=8)
    frame = table.to_pandas()
    path = tmp_path_factory.mktemp("hats") / "input"
    catalog = lsdb.from_dataframe(frame, ra_column="ra", dec_column="dec", partition_rows=1000, highest_order=8)
    catalog.write_catalog(path, as_collection=False, progress_bar=False)
    return path


def _ids(path):
    return np.sort(np.asarray(lsdb.open_catalog(path).compute()["source_id"]))


def test_end_to_end_hats_output(tmp_path, client, hats_catalog, scale_config):
    from astro_galflow.scale.dask_engine import dask_infer, infer_partition

    config = dataclasses.replace(scale_config, store_samples=True)
    out = tmp_path / "posteriors"
    dask_infer(hats_catalog, out, config=config, client=client, progress=False)

    result = lsdb.open_catalog(out)
    frame = result.compute()
    assert {"ra", "dec", "source_id", "log_mstar_p50", "redshift_mean", "posterior_flags"} <= set(frame.columns)
    assert {len(s) for s in frame["redshift_samples"]} == {config.n_samples}
    np.testing.assert_array_equal(np.sort(frame["source_id"]), np.arange(1, N_ROWS + 1))
    assert result.get_healpix_pixels() == lsdb.open_catalog(hats_catalog).get_healpix_pixels()

    # Readable back, cone-searchable and cross-matchable against the input.
    with warnings.catch_warnings():
        # Same positions on both sides: no match can cross a partition boundary.
        warnings.filterwarnings("ignore", "Right catalog does not have a margin cache", RuntimeWarning)
        matched = result.crossmatch(
            lsdb.open_catalog(hats_catalog), radius_arcsec=0.01, suffixes=("", "_in"), suffix_method="all_columns"
        ).compute()
    assert len(matched) == N_ROWS
    assert (matched["source_id"] == matched["source_id_in"]).all()

    # A partition's values do not depend on which worker ran it: recompute one here.
    source = lsdb.open_catalog(hats_catalog)
    pixel = source.get_healpix_pixels()[3]
    local = infer_partition(source.partitions[[pixel]].compute(), pixel, config=config)
    # Output partitions are sorted by _healpix_29 (scale.hats_output); compare row by row.
    remote = result.partitions[[pixel]].compute().sort_values("source_id")
    local = local.sort_values("source_id")
    np.testing.assert_allclose(remote["log_mstar_mean"].to_numpy(), local["log_mstar_mean"].to_numpy(), rtol=1e-6)


def test_existing_output_is_not_overwritten(tmp_path, client, hats_catalog, scale_config):
    from astro_galflow.scale.dask_engine import dask_infer

    out = tmp_path / "posteriors"
    out.mkdir()
    (out / "hats.properties").write_text("precious")
    with pytest.raises(InputError, match="exists.*overwrite"):
        dask_infer(hats_catalog, out, config=scale_config, client=client, progress=False)
    assert (out / "hats.properties").read_text() == "precious"


def test_corrupt_partition_is_named_and_the_rest_completes(tmp_path, client, hats_catalog, scale_config):
    from astro_galflow.scale.dask_engine import PartitionFailedError, dask_infer

    broken = tmp_path / "input"
    shutil.copytree(hats_catalog, broken)
    pixel = lsdb.open_catalog(broken).get_healpix_pixels()[2]
    victim = next(broken.glob(f"dataset/Norder={pixel.order}/Dir=*/Npix={pixel.pixel}.parquet"))
    good_bytes = victim.read_bytes()
    victim.write_bytes(b"PAR1" + b"\0" * 100 + b"PAR1")

    out = tmp_path / "posteriors"
    with pytest.raises(PartitionFailedError, match=f"Norder={pixel.order}/Npix={pixel.pixel}") as info:
        dask_infer(broken, out, config=scale_config, client=client, progress=False)
    assert list(info.value.failures) == [f"Norder={pixel.order}/Npix={pixel.pixel}"]
    written = sorted(p.name for p in out.glob("dataset/Norder=*/Dir=*/Npix=*.parquet"))
    assert len(written) == len(lsdb.open_catalog(hats_catalog).get_healpix_pixels()) - 1
    assert f"Npix={pixel.pixel}.parquet" not in written

    with pytest.raises(InputError, match="partial run"):
        dask_infer(broken, out, config=scale_config, client=client, progress=False, resume=False)
    with pytest.raises(InputError, match="different catalog or configuration"):
        dask_infer(broken, out, config=dataclasses.replace(scale_config, seed=99), client=client, progress=False)
    victim.write_bytes(good_bytes)
    dask_infer(broken, out, config=scale_config, client=client, progress=False)
    np.testing.assert_array_equal(_ids(out), np.arange(1, N_ROWS + 1))


def test_killed_worker_is_retried_without_duplicates(tmp_path, client, hats_catalog, scale_config):
    from astro_galflow.scale.dask_engine import dask_infer

    from ._dask_helpers import kill_once_loader

    marker = tmp_path / "killed"
    loader = functools.partial(kill_once_loader, str(marker))
    out = tmp_path / "posteriors"
    dask_infer(hats_catalog, out, config=scale_config, client=client, progress=False, model_loader=loader)
    assert marker.exists()  # a worker really died
    np.testing.assert_array_equal(_ids(out), np.arange(1, N_ROWS + 1))


@pytest.mark.slow
def test_catalog_file_is_converted_with_hats_import(tmp_path, client, scale_config):
    from astro_galflow.scale.dask_engine import dask_infer

    path = tmp_path / "cat.parquet"
    make_input_table(500, seed=9).write(path)
    out = tmp_path / "posteriors"
    dask_infer(path, out, config=scale_config, client=client, progress=False)
    assert (tmp_path / "posteriors.input-hats" / "hats.properties").exists()
    np.testing.assert_array_equal(_ids(out), np.arange(1, 501))
