"""Physical sanity of the simulated population: relations hold within their scatter."""

import astropy.units as u
import numpy as np

from astro_galflow.params import LINE_PARAMETERS, PARAMETERS
from astro_galflow.simulation import population, relations
from astro_galflow.simulation.footprint import DEFAULT_FOOTPRINT


def _col(table, name):
    return np.asarray(getattr(table[name], "value", table[name]), dtype=float)


def test_mgs_selection_and_redshift_range(photometric_catalog):
    t = photometric_catalog.table
    assert len(t) == 3000
    z = _col(t, "redshift")
    assert np.all((z >= population.Z_MIN) & (z <= population.Z_MAX))
    assert 0.06 < np.median(z) < 0.12
    assert np.all(t["mag_r"] < population.MGS_R_LIMIT * u.mag)


def test_truth_columns_use_parameter_names_and_units(photometric_catalog):
    t = photometric_catalog.table
    for name, spec in PARAMETERS.items():
        assert t[name].unit == spec.unit, name
        assert np.all(np.isfinite(_col(t, name))), name
    assert t["metallicity_detectable"].dtype == bool
    assert t.meta["extinction_corrected"] is True


def test_black_hole_mass_follows_sigma_exactly(photometric_catalog):
    t = photometric_catalog.table
    sigma = t["velocity_dispersion"].to_value(u.km / u.s)
    np.testing.assert_allclose(_col(t, "log_mbh"), 8.32 + 5.64 * np.log10(sigma / 200.0))


def test_main_sequence_within_scatter(photometric_catalog):
    t = photometric_catalog.table
    sf = ~np.asarray(t["quenched"])
    z = _col(t, "redshift")[sf]
    age = np.interp(z, population.cosmology_tables()["z"], population.cosmology_tables()["age_gyr"])
    resid = _col(t, "log_sfr")[sf] - relations.main_sequence_log_sfr(_col(t, "log_mstar")[sf], age)
    # The r < 17.77 selection favours bright (high-SFR) disks slightly.
    assert abs(np.median(resid)) < 0.1
    assert 0.15 < np.std(resid) < 0.3
    q = np.asarray(t["quenched"])
    assert np.median(_col(t, "log_sfr")[q] - _col(t, "log_mstar")[q]) < -11.0


def test_mass_metallicity_within_scatter(photometric_catalog):
    t = photometric_catalog.table
    resid = _col(t, "oh_12") - relations.mass_metallicity(_col(t, "log_mstar"))
    assert abs(np.mean(resid)) < 0.02 and 0.08 < np.std(resid) < 0.12


def test_metallicity_detectable_fraction_is_realistic(photometric_catalog):
    t = photometric_catalog.table
    det = np.asarray(t["metallicity_detectable"])
    assert 0.35 < det.mean() < 0.75
    # Detection needs star formation: quenched galaxies are rarely detectable.
    assert det[np.asarray(t["quenched"])].mean() < 0.1 < det[~np.asarray(t["quenched"])].mean()


def test_emission_lines_positive_and_balmer_decrement_physical(photometric_catalog):
    t = photometric_catalog.table
    for name in LINE_PARAMETERS:
        assert np.all(_col(t, name) > 0), name
    det = np.asarray(t["metallicity_detectable"])
    decrement = _col(t, "flux_halpha")[det] / _col(t, "flux_hbeta")[det]
    assert np.all(decrement > 2.7) and 3.0 < np.median(decrement) < 6.0


def test_red_sequence_and_blue_cloud(photometric_catalog):
    t = photometric_catalog.table
    g_r = _col(t, "mag_g") - _col(t, "mag_r")
    q = np.asarray(t["quenched"])
    assert np.median(g_r[q]) - np.median(g_r[~q]) > 0.2


def test_positions_inside_default_footprint(photometric_catalog):
    t = photometric_catalog.table
    ra0, ra1, dec0, dec1 = DEFAULT_FOOTPRINT
    assert np.all((t["ra"] >= ra0 * u.deg) & (t["ra"] <= ra1 * u.deg))
    assert np.all((t["dec"] >= dec0 * u.deg) & (t["dec"] <= dec1 * u.deg))


def test_magnitude_errors_at_sdss_depth(photometric_catalog):
    t = photometric_catalog.table
    assert 0.002 < np.median(_col(t, "magerr_r")) < 0.02
    assert np.median(_col(t, "magerr_u")) > np.median(_col(t, "magerr_r"))
