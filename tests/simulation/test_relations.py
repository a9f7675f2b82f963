"""The scaling relations reproduce the published formulas they cite."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from astro_galflow.simulation import relations

finite = {"allow_nan": False, "allow_infinity": False}


@given(st.floats(30.0, 500.0, **finite))
def test_black_hole_mass_is_mcconnell_ma(sigma):
    assert np.isclose(relations.black_hole_mass(sigma), 8.32 + 5.64 * np.log10(sigma / 200.0))


def test_black_hole_mass_at_pivot():
    assert relations.black_hole_mass(200.0) == 8.32


@given(st.floats(8.1, 8.85, **finite))
def test_n2_inverts_pettini_pagel_cubic(oh):
    n2 = relations.n2_from_metallicity(oh)
    assert np.isclose(9.37 + 2.03 * n2 + 1.26 * n2**2 + 0.32 * n2**3, oh, atol=2e-3)


@given(st.floats(8.0, 9.0, **finite))
def test_o3n2_inverts_pettini_pagel(oh):
    assert np.isclose(8.73 - 0.32 * relations.o3n2_from_metallicity(oh), oh)


def test_mass_metallicity_rises_then_flattens():
    oh = relations.mass_metallicity(np.array([9.0, 10.0, 11.0]))
    assert np.all(np.diff(oh) > 0)
    assert oh[2] - oh[1] < oh[1] - oh[0]


def test_quenched_fraction_increases_with_mass():
    f = relations.quenched_fraction(np.linspace(8.5, 12.0, 20))
    assert np.all(np.diff(f) > 0) and f[0] > 0.04 and f[-1] < 1.0


def test_balmer_decrement_is_case_b_without_dust():
    assert np.isclose(relations.balmer_decrement(0.0), relations.CASE_B_HALPHA_HBETA)
    assert relations.balmer_decrement(1.0) > relations.CASE_B_HALPHA_HBETA


def test_halpha_kennicutt_evans():
    assert np.isclose(np.log10(relations.halpha_luminosity_from_sfr(0.0)), 41.27)


def test_mass_function_is_positive_and_falls_at_high_mass():
    phi = relations.stellar_mass_function(np.array([9.0, 10.5, 11.5, 12.0]))
    assert np.all(phi > 0) and np.all(np.diff(phi[1:]) < 0)
