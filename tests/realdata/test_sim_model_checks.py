"""JPEG inversion helpers and the real-data checks of simulated models (tiny end-to-end)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from astro_galflow.exceptions import InputError
from astro_galflow.realdata import skyserver_jpeg as sj

from ._studies import load_study

smc = load_study("sim_model_real_checks")

DATA = Path(__file__).resolve().parents[1] / "data" / "sdss"
CUTOUTS = DATA / "cutouts_spectra"


def _lupton_forward(gri, q):
    """The Lupton et al. (2004) colour-preserving stretch, as the inversion assumes it."""
    intensity = gri.mean(axis=0)
    stretched = np.arcsinh(q * intensity) / q
    ratio = np.divide(stretched, intensity, out=np.ones_like(intensity), where=intensity > 0)
    rgb = np.moveaxis(gri * ratio, 0, 2)[..., ::-1]  # g, r, i -> R = i, G = r, B = g
    return rgb * 255.0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), q=st.floats(2.0, 12.0), level=st.floats(0.01, 0.2))
def test_jpeg_to_linear_inverts_the_lupton_stretch(seed, q, level):
    gri = np.random.default_rng(seed).uniform(0, level, size=(3, 8, 8))
    back = sj.jpeg_to_linear(_lupton_forward(gri, q), q=q)
    np.testing.assert_allclose(back, gri, rtol=1e-4, atol=1e-6)


def test_jpeg_to_linear_maps_red_to_i_and_blue_to_g():
    rgb = np.zeros((2, 2, 3), dtype=np.uint8)
    rgb[0, 0, 0] = 200  # red
    rgb[1, 1, 2] = 200  # blue
    lin = sj.jpeg_to_linear(rgb)
    assert lin.shape == (3, 2, 2)
    assert lin[2, 0, 0] > 0 and lin[0, 0, 0] == 0 and lin[1, 0, 0] == 0
    assert lin[0, 1, 1] > 0 and lin[2, 1, 1] == 0


def test_jpeg_to_linear_rejects_grey_images():
    with pytest.raises(InputError, match="expected"):
        sj.jpeg_to_linear(np.zeros((4, 4)))


@given(radius=st.floats(2.0, 20.0))
def test_aperture_flux_of_a_flat_image_is_its_area(radius):
    flux = sj.aperture_flux(np.ones((3, 64, 64)), radius)
    # pixelisation moves the count by at most about the circumference
    np.testing.assert_allclose(flux, np.pi * radius**2, atol=2 * np.pi * radius)
    assert np.all(flux == flux[0])


def _gaussian(size, fwhm, centre=None, total=1.0):
    yy, xx = np.mgrid[0:size, 0:size]
    cy, cx = centre if centre is not None else ((size - 1) / 2, (size - 1) / 2)
    sigma = fwhm / 2.3548
    g = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2))
    return total * g / g.sum()


@given(scales=st.tuples(*[st.floats(0.1, 1000.0)] * 3))
def test_calibrate_band_scales_recovers_a_known_scale(scales):
    flux = np.array([[10.0, 20.0, 30.0], [5.0, 8.0, 40.0]])
    images = np.stack([np.stack([_gaussian(64, 6.0, total=f) * s for f, s in zip(row, scales)]) for row in flux])
    aperture = sj.aperture_flux(
        images / np.asarray(scales)[None, :, None, None], sj.FIBRE_RADIUS_ARCSEC / sj.SDSS_PIXEL_SCALE
    )
    fitted, scatter = sj.calibrate_band_scales(images, aperture)
    np.testing.assert_allclose(fitted, scales, rtol=1e-6)
    np.testing.assert_allclose(scatter, 0.0, atol=1e-9)


def test_calibrate_band_scales_needs_positive_fluxes():
    with pytest.raises(InputError, match="band 0"):
        sj.calibrate_band_scales(np.zeros((2, 3, 16, 16)), np.ones((2, 3)))


def test_resample_conserves_flux_and_pads_to_160():
    image = np.stack([_gaussian(256, 24.0, total=t) for t in (10.0, 20.0, 30.0)]).astype(np.float32)
    out = sj.resample_cutout(image, 0.144)
    assert out.shape == (3, 160, 160) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=(1, 2)), [10.0, 20.0, 30.0], rtol=0.03)
    # the peak moved to the centre and the padding (no sigma given) is zero
    assert np.unravel_index(out[1].argmax(), out[1].shape) in {(79, 79), (79, 80), (80, 79), (80, 80)}
    assert out[:, 0, 0].tolist() == [0.0, 0.0, 0.0]
    noisy = sj.resample_cutout(image, 0.144, pad_sigma=[1.0, 1.0, 1.0], seed=1)
    assert 0 < noisy[:, :20, :20].std()


def test_resample_at_the_native_scale_is_a_centre_crop():
    image = np.random.default_rng(0).normal(size=(3, 200, 200)).astype(np.float32)
    np.testing.assert_array_equal(sj.resample_cutout(image, 0.396), image[:, 20:180, 20:180])


def test_subtract_sky_removes_a_pedestal():
    rng = np.random.default_rng(2)
    image = rng.normal(0, 0.5, size=(3, 64, 64)) + np.array([3.0, 5.0, 7.0])[:, None, None]
    out, sigma = sj.subtract_sky(image)
    np.testing.assert_allclose(np.median(out, axis=(1, 2)), 0.0, atol=0.05)
    np.testing.assert_allclose(sigma, 0.5, rtol=0.15)


@given(fwhm=st.floats(3.0, 8.0))
def test_psf_fwhm_measures_an_off_centre_star(fwhm):
    image = np.zeros((3, 128, 128))
    image[:] = _gaussian(128, fwhm, centre=(100.0, 30.0))
    image += _gaussian(128, 3 * fwhm) * 20.0  # the central galaxy, brighter at its peak: excluded
    found = sj.psf_fwhm_pixels(image)
    assert found.size >= 1
    assert found[0] == pytest.approx(fwhm, rel=0.25)
    assert sj.estimate_pixel_scale([found, np.array([])]) == pytest.approx(sj.SDSS_MEDIAN_SEEING / found[0])
    assert np.isnan(sj.estimate_pixel_scale([np.array([])]))


def test_mcconnell_ma_relation():
    assert smc.log_mbh_mcconnell_ma(200.0) == pytest.approx(8.32)
    assert smc.log_mbh_mcconnell_ma(2000.0) - smc.log_mbh_mcconnell_ma(200.0) == pytest.approx(5.64)
    assert np.isnan(smc.log_mbh_mcconnell_ma(0.0))


def test_interval_metrics_of_a_calibrated_posterior():
    rng = np.random.default_rng(3)
    truth = rng.normal(size=2000)
    centre = truth + rng.normal(size=2000)  # posterior N(centre, 1) covers truth at nominal rates
    samples = centre[:, None] + rng.normal(size=(2000, 400))
    m = smc.interval_metrics(truth, samples)
    assert m["n"] == 2000
    assert m["coverage68"] == pytest.approx(0.68, abs=0.04)
    assert m["coverage95"] == pytest.approx(0.95, abs=0.02)
    assert abs(m["bias"]) < 0.1 and m["nmad"] == pytest.approx(1.0, rel=0.1)
    assert m["r2"] == pytest.approx(0.0, abs=0.15)
    perfect = smc.interval_metrics(truth, np.repeat(truth[:, None], 5, axis=1))
    assert perfect["r2"] == 1.0 and perfect["spearman"] == pytest.approx(1.0)
    assert smc.interval_metrics(np.array([]), np.empty((0, 5))) == {"n": 0}


def test_mahalanobis_of_a_standard_normal():
    ref = np.random.default_rng(4).normal(size=(5000, 3))
    d = smc.mahalanobis(np.array([[0.0, 0.0, 0.0], [3.0, 0.0, 4.0]]), ref)
    np.testing.assert_allclose(d, [0.0, 5.0], atol=0.15)


def test_read_spectra_of_the_copied_dr7_files():
    spectra = smc.read_spectra(CUTOUTS / "spectra")
    assert set(spectra) == {p.stem for p in (CUTOUTS / "images").glob("*.jpeg")}
    for entry in spectra.values():
        assert 0 < entry["redshift"] < 0.3
        if entry["velocity_dispersion"] >= smc.MIN_RESOLVED_SIGMA:
            assert entry["log_mbh"] == pytest.approx(smc.log_mbh_mcconnell_ma(entry["velocity_dispersion"]))
        else:
            assert np.isnan(entry["log_mbh"])
        assert all(np.isnan(entry[p]) or entry[p] > 0 for p in smc.LINES)
        assert entry["calibflux"].shape == (5,)
        assert set(smc.LINES) <= set(entry)


def test_add_portsmouth_masses_matches_by_position(tmp_path):
    spectra = smc.read_spectra(CUTOUTS / "spectra")
    first, second = sorted(spectra)
    efeds = tmp_path / "efeds.csv"
    ra, dec = spectra[first]["ra"], spectra[first]["dec"]
    efeds.write_text(f"ra,dec,z,Mstar\n{ra + 1e-4},{dec},0.1,1e10\n{ra + 1.0},{dec},0.1,1e11\n")
    assert smc.add_portsmouth_masses(spectra, efeds) == 1
    assert spectra[first]["log_mstar"] == pytest.approx(10.0)
    assert np.isnan(spectra[second]["log_mstar"])


def test_read_spectra_of_an_empty_folder(tmp_path):
    with pytest.raises(InputError, match="spec-"):
        smc.read_spectra(tmp_path)


def test_convert_jpeg_cutouts_shapes_and_calibration():
    spectra = smc.read_spectra(CUTOUTS / "spectra")
    out = smc.convert_jpeg_cutouts(CUTOUTS / "images", spectra, pixel_scale=0.15)
    assert out["cutouts"].shape == out["naive"].shape == (2, 3, 160, 160)
    assert out["n_calibrators"] == 2 and out["pixel_scale"] == 0.15
    # after calibration the central fibre aperture holds the fibre flux to within the
    # spread of the two galaxies' ratios
    ratio = sj.aperture_flux(out["cutouts"], sj.FIBRE_RADIUS_ARCSEC / sj.SDSS_PIXEL_SCALE) / np.stack(
        [spectra[i]["calibflux"][1:4] for i in out["ids"]]
    )
    assert np.all(np.abs(np.log10(ratio)) < 0.5)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """A tiny image model and photometry model trained on 40 simulated galaxies (seconds)."""
    from astro_galflow.sources.simulated import SimulatedSource
    from astro_galflow.training.flow_stage import train_flows
    from astro_galflow.training.vae_stage import train_vae

    root = tmp_path_factory.mktemp("tiny_models")
    SimulatedSource(seed=3).simulate(40).write(root / "sim.fits")
    quiet = {"log": lambda line: None}
    train_vae(root / "sim.fits", root / "vae", epochs=1, channels=(2, 4, 4), **quiet)
    train_flows(root / "sim.fits", root / "img", vae_dir=root / "vae", epochs=1, name="tiny-img", **quiet)
    train_flows(root / "sim.fits", root / "phot", epochs=1, name="tiny-phot", **quiet)
    return root


def test_end_to_end_on_two_images(tmp_path, sdss_data_dir, tiny_models):
    shutil.copytree(CUTOUTS, sdss_data_dir / "cutouts_spectra")
    out = tmp_path / "out"
    argv = ["--out", str(out), "--data-dir", str(sdss_data_dir), "--n-samples", "20", "--n-reference", "6"]
    argv += ["--photometry-model", str(tiny_models / "phot"), "--image-model", str(tiny_models / "img")]
    assert smc.main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    lines = metrics["lines_photometry_model"]
    assert lines["n_galaxies"] >= 1 and set(lines["lines"]) == set(smc.LINES)
    images = metrics["images_image_model"]
    assert images["n_images"] == 2 and images["cutout_shape"] == [2, 3, 160, 160]
    assert len(images["latent_mahalanobis"]["real"]) == 2
    full = images["full_model_proxy_photometry"]
    assert full["n_galaxies"] == 2 and full["all_finite"]
    assert set(full["per_galaxy_truth_vs_median"]) == set(images["latent_mahalanobis"]["real"])
    assert 0 <= full["outside_rate_image_features"] <= 1
    assert {"redshift", "log_mbh"} <= set(full["metrics"])
    for name in metrics["figures"]:
        assert (out / name).stat().st_size > 0
