"""Tiny labelled catalogs (with cutouts) for the model tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from astro_galflow.cutouts import create_cutouts
from astro_galflow.testing import make_input_table


def _labelled_table(n: int, seed: int = 0):
    """An input table with labels that depend on the photometry (so there is signal to learn)."""
    table = make_input_table(n, seed=seed)
    rng = np.random.default_rng(seed + 1)
    r = np.asarray(table["mag_r"].value)
    gr = np.asarray(table["mag_g"].value) - r
    table["redshift"] = np.clip(0.02 + 0.03 * (r - 14.5) + rng.normal(0, 0.01, n), 0.001, 0.3)
    table["log_mstar"] = 10.5 - 0.4 * (r - 16) + 1.5 * (gr - 0.75) + rng.normal(0, 0.1, n)
    table["log_sfr"] = 0.8 * (table["log_mstar"] - 10) - 3 * (gr - 0.75) + rng.normal(0, 0.3, n)
    table["log_mbh"] = 8.0 + 1.1 * (table["log_mstar"] - 10.5) + rng.normal(0, 0.3, n)
    table["oh_12"] = 8.9 + 0.1 * (table["log_mstar"] - 10) + rng.normal(0, 0.05, n)
    table["metallicity_detectable"] = rng.random(n) < 0.7
    sfr = 10 ** table["log_sfr"]
    table["flux_halpha"] = 300 * sfr * 10 ** (-0.4 * (r - 16)) * rng.lognormal(0, 0.2, n)
    table["flux_hbeta"] = table["flux_halpha"] / 3.5 * rng.lognormal(0, 0.1, n)
    table["flux_nii_6584"] = table["flux_halpha"] * 0.4 * rng.lognormal(0, 0.2, n)
    table["flux_oiii_5007"] = table["flux_hbeta"] * rng.lognormal(0, 0.5, n)
    return table


def _write_catalog(directory, n: int, *, seed: int = 0, cutouts: bool = False):
    """Write a labelled ECSV catalog (and its cutouts) to ``directory``; return its path."""
    table = _labelled_table(n, seed)
    path = directory / "train.ecsv"
    if cutouts:
        rng = np.random.default_rng(seed + 2)
        images = create_cutouts(directory / "train.cutouts.npy", n)
        yy, xx = np.mgrid[-80:80, -80:80]
        for i in range(n):
            size = 3 + 5 * rng.random()
            amp = 10 ** (-0.4 * (float(table["mag_r"][i].value) - 22.5)) / (2 * np.pi * size**2)
            profile = amp * np.exp(-0.5 * (xx**2 + yy**2) / size**2)
            images[i] = profile[None] * np.array([0.8, 1.0, 1.2])[:, None, None] + rng.normal(0, 0.02, (3, 160, 160))
        images.flush()
        table["cutout_index"] = np.arange(n)
        table.meta["cutouts_file"] = "train.cutouts.npy"
    table.write(path, overwrite=True)
    return path


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def labelled_table():
    """Factory ``labelled_table(n, seed=0)`` of labelled input tables."""
    return _labelled_table


@pytest.fixture
def write_catalog():
    """Factory ``write_catalog(directory, n, seed=0, cutouts=False)`` -> catalog path."""
    return _write_catalog
