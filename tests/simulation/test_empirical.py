"""The empirical link of the simulated photometry to real SDSS photometry (colour maps, errors, dust)."""

from pathlib import Path

import numpy as np
import pytest

from astro_galflow.simulation import empirical, population

MGS_HEAD = Path(__file__).resolve().parents[1] / "data" / "sdss" / "SDSS_MGS_head40.train"


def _synthetic_model(rng):
    """A model fitted to simulated colours N(0, 0.1) and 'real' colours N(0.5, 0.3) in every bin."""
    n = 4000
    z_sim, z_real = rng.uniform(0.01, 0.3, n), rng.uniform(0.01, 0.3, n)
    sim_colours = rng.normal(0.0, 0.1, (n, 4))
    real_colours = rng.normal(0.5, 0.3, (n, 4))
    real_r = rng.uniform(15.0, 17.7, (n, 1))
    real_mags = np.concatenate([np.zeros((n, 1)), -np.cumsum(real_colours, axis=1)], axis=1) + real_r
    real_errs = np.full((n, 5), 1e-3)
    return empirical.model_arrays(
        empirical.fit(z_sim, sim_colours, z_real, real_mags, real_errs, rng.exponential(0.03, n))
    )


def test_colour_maps_carry_the_simulated_distribution_onto_the_real_one():
    rng = np.random.default_rng(0)
    model = _synthetic_model(rng)
    z = rng.uniform(0.02, 0.28, 5000)
    mapped = empirical.map_colours(model, z, rng.normal(0.0, 0.1, (5000, 4)))
    np.testing.assert_allclose(np.median(mapped, axis=0), 0.5, atol=0.03)
    np.testing.assert_allclose(np.std(mapped, axis=0), 0.3, rtol=0.1)


def test_colour_transfer_keeps_the_type_order():
    from scipy.stats import spearmanr

    from astro_galflow.simulation import photometry

    g = population.draw_population(3000, np.random.default_rng(5), map_colours=False)
    colours = empirical.scatter_colours(
        np.random.default_rng(1), empirical.colours_of(photometry.nmgy_to_mag(g["flux_true"]))
    )
    mapped = empirical.map_colours(empirical.load_model(), g["redshift"], colours)
    rho = [spearmanr(colours[:, c], mapped[:, c])[0] for c in range(4)]
    # u - g and g - r carry the template type; the templates' i - z spread is mostly the
    # added intrinsic scatter, which the transfer may reshuffle.
    assert rho[0] > 0.95 and rho[1] > 0.95 and rho[2] > 0.7 and rho[3] > 0.5, rho


def test_colour_transfer_matches_a_correlated_target():
    rng = np.random.default_rng(4)
    source = rng.normal(0.0, 1.0, (6000, 4))
    cov = np.array([[1.0, 0.7, 0.0, 0.0], [0.7, 1.0, 0.3, 0.0], [0.0, 0.3, 1.0, -0.4], [0.0, 0.0, -0.4, 1.0]])
    target = rng.multivariate_normal(np.ones(4), cov, 6000)
    rot, q_from, q_to = empirical.fit_transfer(source, target, np.random.default_rng(0))
    model = {"transfer_rotations": [rot], "transfer_quantiles_sim": [q_from], "transfer_quantiles_real": [q_to]}
    moved = empirical._transfer(model, 0, rng.normal(0.0, 1.0, (6000, 4)))
    np.testing.assert_allclose(np.cov(moved.T), cov, atol=0.1)
    np.testing.assert_allclose(moved.mean(axis=0), 1.0, atol=0.05)


def test_error_model_matches_real_mgs_errors():
    data = np.loadtxt(MGS_HEAD, comments="#")
    mags, errs = data[:, 1:6], data[:, 10:15]
    drawn = empirical.magnitude_errors(np.random.default_rng(1), empirical.load_model(), mags, data[:, 0])
    # Medians per band agree within 0.15 dex (the 40 rows scatter by ~0.05 dex).
    np.testing.assert_allclose(np.median(np.log10(drawn), 0), np.median(np.log10(errs), 0), atol=0.15)


def test_sfd_draws_are_real_sight_lines_with_the_map_error():
    rng = np.random.default_rng(2)
    ebv_map, ebv_true = empirical.draw_ebv(rng, empirical.load_model(), 20000)
    assert np.all(ebv_map >= 0) and np.all(ebv_true >= 0)
    assert 0.01 < np.median(ebv_map) < 0.1  # SDSS sight lines are at high latitude
    ratio = ebv_true[ebv_map > 0.02] / ebv_map[ebv_map > 0.02]
    assert np.std(ratio) == pytest.approx(empirical.SFD_FRACTIONAL_ERROR, rel=0.1)


def test_default_population_has_mapped_colours():
    bare = population.draw_population(2000, np.random.default_rng(3), map_colours=False)
    real = population.draw_population(2000, np.random.default_rng(3))
    assert np.all(real["ebv_sfd"] > 0) and np.all(bare["ebv_sfd"] == 0)

    def ug(g):  # in the SDSS system, like the real file (u_SDSS = u_AB + 0.04)
        return -2.5 * np.log10(g["flux_obs"][:, 0] / g["flux_obs"][:, 1]) + 0.04

    real_ug = np.loadtxt(MGS_HEAD, comments="#")[:, 6]
    # The real u - g spread (IQR ~0.4 mag) is wider than the bare templates give.
    iqr = lambda x: np.subtract(*np.percentile(x, [75, 25]))  # noqa: E731
    assert iqr(ug(real)) > iqr(ug(bare))
    # The first 40 MGS rows have a median u - g of 1.82 (the whole file: 1.64).
    assert abs(np.median(ug(real)) - np.median(real_ug)) < 0.3
