"""The pipeline end to end with a real (tiny) model: rows in = rows out, flags, seeds."""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from astro_galflow.catalogs import read_catalog
from astro_galflow.config import GalflowConfig
from astro_galflow.exceptions import InputError, MissingColumnError
from astro_galflow.flags import PosteriorFlag
from astro_galflow.noise import row_noise, row_seeds
from astro_galflow.pipeline import infer_table
from astro_galflow.plugins import get_plugin_manager
from astro_galflow.table import validate_posterior_table
from astro_galflow.testing import make_input_table


@pytest.fixture(scope="module")
def pm():
    return get_plugin_manager(load_entrypoints=False)


def _config(**kw):
    return GalflowConfig(**{"n_samples": 32, "seed": 1, "backend": "eager", "batch_size": 64, **kw})


def test_end_to_end_table_is_valid_and_ordered(tiny_model, simulated_catalog_path, pm):
    catalog = read_catalog(simulated_catalog_path)[:100]
    out = infer_table(catalog, config=_config(), pm=pm, model=tiny_model)
    validate_posterior_table(out)
    assert len(out) == 100 and list(out["source_id"]) == list(catalog["source_id"])
    assert set(out["survey"]) == {"simulated"}
    for name in tiny_model.parameters:
        assert np.isfinite(out[f"{name}_mean"].value).all()
        assert (out[f"{name}_p16"].value <= out[f"{name}_p84"].value).all()
    assert out.meta["model"] == tiny_model.name and out.meta["n_samples"] == 32
    assert out.meta["model_sha256"] and "plugins" in out.meta["provenance"]


def test_same_seed_same_table_and_batching_independent_of_nothing_else(tiny_model, pm):
    table = make_input_table(50, seed=4)
    a = infer_table(table, config=_config(), pm=pm, model=tiny_model)
    b = infer_table(table, config=_config(), pm=pm, model=tiny_model)
    c = infer_table(table, config=_config(seed=2), pm=pm, model=tiny_model)
    np.testing.assert_array_equal(a["redshift_mean"].value, b["redshift_mean"].value)
    assert not np.array_equal(a["redshift_mean"].value, c["redshift_mean"].value)


def test_row_noise_depends_on_seed_and_source_id_only():
    seeds = row_seeds(np.array([1, 2, 1]), 0)
    assert seeds[0] == seeds[2] != seeds[1]
    assert row_seeds(np.array([1]), 1)[0] != seeds[0]
    assert row_seeds(np.array(["1"]), 0)[0] == seeds[0]  # the identifier's text is what counts
    noise = row_noise(seeds, 50, 3)
    assert noise.shape == (3, 50, 3)
    assert np.array_equal(noise[0], noise[2]) and not np.array_equal(noise[0], noise[1])


def test_a_rows_posterior_does_not_depend_on_its_neighbours_or_batch(tiny_model, pm):
    table = make_input_table(40, seed=6)
    whole = infer_table(table, config=_config(batch_size=64), pm=pm, model=tiny_model)
    small_batches = infer_table(table, config=_config(batch_size=7), pm=pm, model=tiny_model)
    reversed_subset = infer_table(table[::-3], config=_config(), pm=pm, model=tiny_model)
    np.testing.assert_allclose(small_batches["redshift_mean"].value, whole["redshift_mean"].value, rtol=1e-5)
    np.testing.assert_allclose(reversed_subset["redshift_p84"].value, whole["redshift_p84"].value[::-3], rtol=1e-5)


def test_bad_rows_are_kept_and_flagged(tiny_model, pm):
    table = make_input_table(10)
    table["mag_g"][2] = np.nan * u.mag
    table["mag_r"][5] = -9999 * u.mag
    table["dec"][7] = 99 * u.deg
    out = infer_table(table, config=_config(), pm=pm, model=tiny_model)
    assert len(out) == 10
    flags = np.asarray(out["posterior_flags"])
    for row in (2, 5):
        assert flags[row] & PosteriorFlag.BAD_PHOTOMETRY and flags[row] & PosteriorFlag.NO_POSTERIOR
        assert np.isnan(out["log_mstar_mean"][row].value)
    assert flags[7] & PosteriorFlag.BAD_POSITION and out["_healpix_29"][7] == -1
    assert np.isfinite(out["log_mstar_mean"][7].value)


def test_missing_model_band_is_a_clear_error(tiny_model, pm):
    table = make_input_table(5)
    table.remove_column("mag_z")
    with pytest.raises(MissingColumnError, match="mag_z"):
        infer_table(table, config=_config(), pm=pm, model=tiny_model)


def test_store_samples_are_joint_draws(tiny_model, pm):
    out = infer_table(make_input_table(6), config=_config(store_samples=True), pm=pm, model=tiny_model)
    assert out["log_mstar_samples"].shape == (6, 32)
    np.testing.assert_allclose(out["log_mstar_mean"].value, out["log_mstar_samples"].value.mean(axis=1), rtol=1e-5)


def test_image_model_without_cutouts_refuses(tiny_model, pm, monkeypatch):
    monkeypatch.setattr(tiny_model, "requires_cutouts", True)
    monkeypatch.setattr(tiny_model, "image_bands", ("g", "r", "i"))
    with pytest.raises(InputError, match="needs gri cutouts"):
        infer_table(make_input_table(3), config=_config(), pm=pm, model=tiny_model)


_mag = st.one_of(st.floats(12, 22), st.just(np.nan), st.just(np.inf), st.just(-9999.0))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 20), data=st.data())
def test_rows_out_equal_rows_in_for_any_table(tiny_model, pm, n, data):
    table = QTable(make_input_table(n, seed=n))
    for band in "ugriz":
        table[f"mag_{band}"] = np.array(data.draw(st.lists(_mag, min_size=n, max_size=n))) * u.mag
    out = infer_table(table, config=_config(n_samples=8), pm=pm, model=tiny_model)
    assert len(out) == n
    assert list(out["source_id"]) == list(table["source_id"])
    no_post = (np.asarray(out["posterior_flags"]) & PosteriorFlag.NO_POSTERIOR) != 0
    assert np.array_equal(np.isnan(out["redshift_mean"].value), no_post)
