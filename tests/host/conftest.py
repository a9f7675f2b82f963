"""Fixtures of the host tests: a tiny real model trained on the simulated survey."""

import pytest


@pytest.fixture(scope="session")
def simulated_catalog_path(tmp_path_factory):
    """A 400-galaxy photometry-only simulated catalog written as FITS."""
    from astro_galflow.sources.simulated import SimulatedSource

    path = tmp_path_factory.mktemp("sim") / "sim.fits"
    SimulatedSource(seed=3).simulate(400, render=False).write(path)
    return path


@pytest.fixture(scope="session")
def tiny_model(simulated_catalog_path, tmp_path_factory):
    """A Gaussian-baseline model trained for a few epochs (fast, real weights, real card)."""
    from astro_galflow.models import load_model
    from astro_galflow.training.flow_stage import train_flows

    out = tmp_path_factory.mktemp("model") / "tiny-gaussian"
    train_flows(simulated_catalog_path, out, head="gaussian", epochs=3, patience=3, seed=0, log=lambda line: None)
    return load_model(out)
