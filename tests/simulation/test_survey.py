"""Determinism, image/photometry consistency, footprints, files and the plugin."""

import subprocess
import sys

import astropy.units as u
import numpy as np
import pytest

from astro_galflow.exceptions import InputError
from astro_galflow.simulation import photometry, read_simulated_catalog
from astro_galflow.sources.simulated import SimulatedSource


def test_same_seed_same_table_and_images():
    a = SimulatedSource(seed=3).simulate(6)
    b = SimulatedSource(seed=3).simulate(6)
    for name in a.table.colnames:
        np.testing.assert_array_equal(np.asarray(a.table[name]), np.asarray(b.table[name]), err_msg=name)
    np.testing.assert_array_equal(a.cutouts, b.cutouts)


def test_different_seed_differs():
    a = SimulatedSource(seed=3).simulate(20, render=False).table
    b = SimulatedSource(seed=4).simulate(20, render=False).table
    assert not np.allclose(a["log_mstar"].value, b["log_mstar"].value)


def test_cutout_layout(rendered_catalog):
    cut = rendered_catalog.cutouts
    assert cut.shape == (24, 3, 160, 160) and cut.dtype == np.float32
    np.testing.assert_array_equal(rendered_catalog.table["cutout_index"], np.arange(24))
    # Sky noise of an empty corner matches the SDSS depth in each band.
    corner = cut[:, :, :20, :20].std(axis=(0, 2, 3))
    expected = [photometry.sky_sigma_nmgy(b) for b in "gri"]
    np.testing.assert_allclose(corner, expected, rtol=0.1)


def test_image_flux_equals_catalog_flux(rendered_catalog):
    t = rendered_catalog.table
    cut = rendered_catalog.cutouts
    small = t["half_light_radius"] < 4 * u.arcsec  # whole galaxy inside the 63" cutout
    assert small.sum() >= 10
    for k, band in enumerate("gri"):
        true = t[f"flux_true_{band}"].value[small]
        total = cut[small, k].sum(axis=(1, 2))
        sigma = np.sqrt(160 * 160 * photometry.sky_sigma_nmgy(band) ** 2 + true / photometry.ELECTRONS_PER_NMGY[band])
        # Deterministic part: light beyond the cutout edge is < 2%.
        assert np.all(np.abs(total - true) < 5 * sigma + 0.02 * true), band
        catalog_flux = photometry.mag_to_nmgy(t[f"mag_{band}"].value[small])
        cat_err = catalog_flux * t[f"magerr_{band}"].value[small] / 1.0857
        assert np.all(np.abs(total - catalog_flux) < 5 * np.hypot(sigma, cat_err) + 0.02 * true), band


def test_bulge_is_redder_than_disk(rendered_catalog):
    t = rendered_catalog.table
    bulge_gi = t["flux_bulge_g"].value / t["flux_bulge_i"].value
    total_gi = t["flux_true_g"].value / t["flux_true_i"].value
    assert np.median(bulge_gi) < np.median(total_gi)


def test_custom_footprint():
    t = SimulatedSource(seed=1, footprint=(10, 20, -30, -25)).simulate(50, render=False).table
    assert np.all((t["ra"].value >= 10) & (t["ra"].value <= 20))
    assert np.all((t["dec"].value >= -30) & (t["dec"].value <= -25))
    assert t.meta["footprint"] == "10,20,-30,-25"


@pytest.mark.parametrize("footprint", [(10, 5, 0, 1), (0, 1, -95, 0), (0, 1, 2), ("a", 1, 2, 3)])
def test_bad_footprint_raises(footprint):
    with pytest.raises(InputError, match="footprint"):
        SimulatedSource(footprint=footprint)


@pytest.mark.parametrize("ext", [".fits", ".ecsv", ".parquet", ".hdf5"])
def test_file_round_trip(tmp_path, rendered_catalog, ext):
    path = rendered_catalog.write(tmp_path / f"sim{ext}")
    back = read_simulated_catalog(path)
    assert back.table.meta["cutouts_file"] == "sim.cutouts.npy"
    assert isinstance(back.cutouts, np.memmap)
    np.testing.assert_array_equal(back.cutouts, rendered_catalog.cutouts)
    for name in rendered_catalog.table.colnames:
        assert getattr(back.table[name], "unit", None) == getattr(rendered_catalog.table[name], "unit", None), name
        np.testing.assert_array_equal(np.asarray(back.table[name]), np.asarray(rendered_catalog.table[name]))
    with pytest.raises(InputError, match="exists"):
        rendered_catalog.write(path)


def test_render_streams_into_memmap(tmp_path):
    from astro_galflow.cutouts import cutouts_path_for

    cat_path = tmp_path / "m.ecsv"
    sim = SimulatedSource(seed=2).simulate(3, cutouts_path=cutouts_path_for(cat_path))
    assert isinstance(sim.cutouts, np.memmap)
    sim.write(cat_path)
    np.testing.assert_array_equal(read_simulated_catalog(cat_path).cutouts, SimulatedSource(seed=2).simulate(3).cutouts)


def test_unknown_extension(tmp_path, rendered_catalog):
    with pytest.raises(InputError, match="extension"):
        rendered_catalog.write(tmp_path / "x.txt")


def test_registered_as_source(galflow_registries):
    assert galflow_registries.sources.get("simulated") is SimulatedSource


def test_plugin_module_imports_cheaply():
    code = "import sys, astro_galflow.sources.simulated; print(sorted(m for m in ('galsim', 'scipy', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
