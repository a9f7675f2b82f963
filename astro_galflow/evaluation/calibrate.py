"""Fit a model's post-hoc calibration on a held-out split and store it in its card.

The split must be one the weights never trained on and the reported metrics never use:
``val`` by default (early stopping looked at its loss, not at its PIT), never ``test``.
See :mod:`astro_galflow.calibration` for the method.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from astro_galflow.calibration import QuantileRecalibration
from astro_galflow.evaluation import metrics as M

__all__ = ["fit_calibration", "raw_pit_test", "write_calibration"]


def fit_calibration(
    model,
    table,
    cutouts=None,
    cutout_index=None,
    *,
    split: str = "val",
    n_samples: int = 1000,
    seed: int = 0,
    chunk: int = 1024,
    provenance: dict | None = None,
) -> QuantileRecalibration:
    """PIT-based recalibration of ``model`` fitted on the ``split`` rows of a labelled table.

    Parameters
    ----------
    model : astro_galflow.models.GalflowModel
        Sampled without its current calibration (the fit starts from the raw flow).
    table, cutouts, cutout_index
        As for :func:`astro_galflow.evaluation.evaluate.evaluate_model`.
    split : str
        Rows the maps are fitted on (by :func:`astro_galflow.training.data.split_of`).
    n_samples, seed, chunk
        Posterior samples per galaxy, noise seed and rows per call.
    provenance : dict, optional
        Extra ``fitted_on`` entries (e.g. the catalog path).

    Returns
    -------
    astro_galflow.calibration.QuantileRecalibration
    """
    from astro_galflow.evaluation.evaluate import evaluate_model

    result = evaluate_model(
        model,
        table,
        cutouts,
        cutout_index,
        split=split,
        n_samples=n_samples,
        seed=seed,
        baselines=(),
        chunk=chunk,
        calibrate=False,
    )
    pit = {p: M.pit_values(result.truth[p], result.samples[p]) for p in result.truth}
    fitted_on = {
        "split": split,
        "n_rows": {p: int(len(v)) for p, v in pit.items()},
        "raw_pit_ks": {p: raw_pit_test(v) for p, v in pit.items()},
        "n_samples": int(n_samples),
        "seed": int(seed),
        **(provenance or {}),
    }
    return QuantileRecalibration.from_pit(pit, fitted_on=fitted_on)


def raw_pit_test(pit) -> dict:
    """KS distance of PIT values from uniform and its p-value (``scipy.stats.kstwo``).

    A large p-value means the calibration split cannot tell the raw model from a calibrated
    one: the fitted map then mostly follows that split's noise, about ``0.5 / sqrt(n)`` in
    CDF level for ``n`` rows, and may do more harm than good on new rows.
    """
    from scipy.stats import kstwo

    pit = np.asarray(pit, dtype=np.float64)
    pit = pit[np.isfinite(pit)]
    if pit.size == 0:
        return {"ks": None, "p_value": None}
    ks = M.pit_ks_statistic(pit)
    return {"ks": ks, "p_value": float(kstwo.sf(ks, pit.size))}


def write_calibration(directory, calibration: QuantileRecalibration | None) -> Path:
    """Store ``calibration`` as the ``"calibration"`` entry of ``directory/card.json``.

    None removes any calibration the card has. The weights, and so their sha256 in the
    card, are untouched.

    Returns
    -------
    pathlib.Path
        The card written.
    """
    from astro_galflow.models import write_card

    card_path = Path(directory) / "card.json"
    card = json.loads(card_path.read_text())
    if calibration is None:
        card.pop("calibration", None)
    else:
        card["calibration"] = calibration.to_card()
    return write_card(directory, card)
