"""A tiny real model for tests and benchmarks, trained in seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from astro_galflow.testing.tables import make_input_table

__all__ = ["train_tiny_model"]


def train_tiny_model(directory, *, n_rows: int = 400, batch_size: int = 128, architecture: dict | None = None) -> Path:
    """Train a 2-parameter (log_mstar, redshift) photometry-only Gaussian model for 2 epochs.

    The labels are simple functions of the r magnitude, so the model has something real
    to learn; it exercises the whole save/load/infer path without the cost of the flows.

    Parameters
    ----------
    directory : path
        Folder for the training catalog (``train.ecsv``) and the model (``model/``).
    n_rows : int
        Training rows.
    batch_size : int
        Training batch size.
    architecture : dict, optional
        Overrides of :data:`astro_galflow.training.flow_stage.DEFAULT_ARCHITECTURE`.

    Returns
    -------
    pathlib.Path
        The model directory, loadable with :func:`astro_galflow.models.load_model`.
    """
    import torch

    from astro_galflow.training.flow_stage import train_flows

    torch.set_num_threads(1)
    directory = Path(directory)
    table = make_input_table(n_rows, seed=1)
    r = table["mag_r"].value
    table["log_mstar"] = 20.0 - 0.5 * r + np.random.default_rng(0).normal(0.0, 0.1, len(table))
    table["redshift"] = 0.01 * (r - 10.0)
    table.write(directory / "train.ecsv", overwrite=True)
    train_flows(
        directory / "train.ecsv",
        directory / "model",
        head="gaussian",
        parameters=["log_mstar", "redshift"],
        epochs=2,
        patience=1,
        batch_size=batch_size,
        architecture=architecture,
        log=lambda line: None,
    )
    return directory / "model"
