"""Fixtures of the scale tests: a tiny real model trained once per session, input catalogs."""

from __future__ import annotations

import pytest

from astro_galflow.config import GalflowConfig


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A real photometry-only Gaussian model (2 parameters), trained for 2 epochs (~3 s)."""
    from astro_galflow.testing.models import train_tiny_model

    return train_tiny_model(
        tmp_path_factory.mktemp("scale-model"),
        n_rows=400,
        batch_size=128,
        architecture={"context_dim": 16, "n_couplings": 2, "flow_hidden": 8},
    )


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    """The loaded :func:`tiny_model_dir`."""
    from astro_galflow.models import load_model

    return load_model(tiny_model_dir)


@pytest.fixture
def scale_config(tiny_model_dir):
    """A small run configuration on the tiny model."""
    return GalflowConfig(model=str(tiny_model_dir), n_samples=16, seed=3, batch_size=64, backend="eager")


@pytest.fixture(scope="session")
def scale_pm():
    """A plugin manager with the built-in plugins (no entry points)."""
    from astro_galflow.plugins import get_plugin_manager

    return get_plugin_manager(load_entrypoints=False)
