"""Fixtures of the scale tests: a tiny real model trained once per session, input catalogs."""

from __future__ import annotations

import numpy as np
import pytest

from astro_galflow.config import GalflowConfig
from astro_galflow.testing import make_input_table


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A real photometry-only Gaussian model (2 parameters), trained for 2 epochs (~3 s)."""
    import torch

    from astro_galflow.training.flow_stage import train_flows

    torch.set_num_threads(1)
    directory = tmp_path_factory.mktemp("scale-model")
    table = make_input_table(400, seed=1)
    r = table["mag_r"].value
    table["log_mstar"] = 20.0 - 0.5 * r + np.random.default_rng(0).normal(0.0, 0.1, len(table))
    table["redshift"] = 0.01 * (r - 10.0)
    table.write(directory / "train.ecsv")
    train_flows(
        directory / "train.ecsv", directory / "model", head="gaussian", parameters=["log_mstar", "redshift"],
        epochs=2, patience=1, batch_size=128, architecture={"context_dim": 16, "n_couplings": 2, "flow_hidden": 8},
        log=lambda line: None,
    )  # fmt: skip
    return directory / "model"


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
