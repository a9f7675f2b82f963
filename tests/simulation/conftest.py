"""Shared simulated catalogs (drawn once per test session: the draws take ~1 s)."""

import pytest


@pytest.fixture(scope="session")
def photometric_catalog():
    """3000 galaxies without images."""
    from astro_galflow.sources.simulated import SimulatedSource

    return SimulatedSource(seed=11).simulate(3000, render=False)


@pytest.fixture(scope="session")
def rendered_catalog():
    """24 galaxies with cutouts in memory."""
    from astro_galflow.sources.simulated import SimulatedSource

    return SimulatedSource(seed=5).simulate(24)
