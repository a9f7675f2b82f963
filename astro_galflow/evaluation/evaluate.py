"""Evaluate a model on a held-out split of a labelled catalog: metrics, baselines, plot data.

:func:`evaluate_model` is what ``galflow evaluate`` runs. Per parameter it reports, in the
model space of :mod:`astro_galflow.params` (``log1p`` for line fluxes, as the paper's
Table 1), point metrics of the posterior mean, calibration of the samples, the
aleatoric/epistemic split of an ensemble and the paper's baselines fit on the ``train``
rows of the same catalog with the model's own input features.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from astro_galflow.evaluation import metrics as M
from astro_galflow.exceptions import InputError
from astro_galflow.inputs import apply_extinction
from astro_galflow.params import METALLICITY_PARAMETER, get_parameter
from astro_galflow.training.data import catalog_cutouts, detectable_of, read_catalog, split_of

__all__ = ["EvaluationResult", "evaluate_model", "evaluate_samples", "read_labelled_catalog"]


@dataclass
class EvaluationResult:
    """Metrics (JSON-ready) and the arrays the figures need.

    Attributes
    ----------
    metrics : dict
        ``{"n_rows": ..., "parameters": {p: {...}}, "baselines": {p: {name: {...}}}, ...}``.
    truth, samples : dict of str to numpy.ndarray
        Model-space truths ``(n,)`` and samples ``(n, S)`` of each parameter.
    baseline_predictions : dict
        ``{p: {name: (n,)}}``, aligned with ``truth[p]``.
    features : numpy.ndarray
        Raw model features ``(n, F)`` of the evaluated rows.
    """

    metrics: dict
    truth: dict = field(default_factory=dict)
    samples: dict = field(default_factory=dict)
    baseline_predictions: dict = field(default_factory=dict)
    features: np.ndarray | None = None


def evaluate_samples(truth, samples, *, redshift: bool = False, bins: int = 20) -> dict:
    """Point metrics of the sample mean and median plus calibration metrics of ``samples``."""
    truth = np.asarray(truth, dtype=np.float64)
    samples = np.asarray(samples, dtype=np.float64)
    out = M.point_metrics(truth, samples.mean(axis=1), redshift=redshift)
    out["median_estimate"] = M.point_metrics(truth, np.median(samples, axis=1), redshift=redshift)
    out.update(M.calibration_metrics(truth, samples, bins=bins))
    return out


def read_labelled_catalog(path, model):
    """``(table, cutouts, cutout_index)`` of a labelled catalog file, ready for ``model``.

    Magnitudes are extinction-corrected for the model's bands where the catalog has
    extinction columns (:func:`astro_galflow.inputs.apply_extinction`); cutouts (memory-mapped)
    are opened only for image models, else both are None.
    """

    table = read_catalog(path)
    apply_extinction(table, model.photometry_bands)
    cutouts, index = catalog_cutouts(table, path) if model.requires_cutouts else (None, None)
    return table, cutouts, index


def _row_chunks(rows: np.ndarray, size: int):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _cutouts_of(cutouts, index, rows):
    if cutouts is None:
        return None
    order = np.asarray(index)[rows]
    # Memory maps read fastest in increasing order; restore the row order afterwards.
    sort = np.argsort(order)
    block = np.asarray(cutouts[order[sort]])
    return block[np.argsort(sort)]


def _features(model, table, rows, cutouts, index, chunk):
    parts = [model.features(table[r], _cutouts_of(cutouts, index, r)) for r in _row_chunks(rows, chunk)]
    return np.concatenate(parts, axis=0) if parts else np.empty((0, len(model.feature_names)), np.float32)


def evaluate_model(
    model,
    table,
    cutouts=None,
    cutout_index=None,
    *,
    split: str = "test",
    n_samples: int = 1000,
    seed: int = 0,
    baselines=("knn", "mlp", "gbm"),
    max_baseline_train: int = 20000,
    chunk: int = 1024,
    calibrate: bool = True,
    log=None,
) -> EvaluationResult:
    """Evaluate ``model`` on the ``split`` rows of a labelled, input-convention ``table``.

    Parameters
    ----------
    model : astro_galflow.models.GalflowModel
    table : astropy.table.Table
        Catalog with the model's photometry columns and label columns named as its
        parameters (rows with a NaN label are left out of that parameter's metrics).
    cutouts, cutout_index : array-like, optional
        Cutout array and the row of it belonging to each table row (image models).
    split : {"test", "val", "train", "all"}
        Rows evaluated, by :func:`astro_galflow.training.data.split_of`.
    baselines : sequence of str
        Baselines of :mod:`astro_galflow.evaluation.baselines` fit on the ``train`` rows
        (at most ``max_baseline_train`` of them, a seeded random subset) with the model's features.
    chunk : int
        Rows per posterior call, bounding the memory for cutouts.
    calibrate : bool
        Apply the model card's post-hoc calibration (when it has one); False measures
        the raw flow (what :func:`~astro_galflow.calibration.fit_calibration` fits on).
    log : callable, optional
        Receives one line per step (features, posterior chunks, each baseline) with its
        duration, so that a long evaluation is never silent; default: no output.

    Raises
    ------
    InputError
        If the table has no label column of the model's parameters, or no rows in ``split``.
    """
    from astro_galflow.evaluation.baselines import fit_baselines
    from astro_galflow.heads.ensemble import member_blocks

    log = log or (lambda line: None)
    detectable = detectable_of(table)

    def label(p, index):
        values = get_parameter(p).to_model_space(np.asarray(table[p], dtype=np.float64)[index])
        if p == METALLICITY_PARAMETER:
            # O/H is learnt, and only defined, for galaxies with a measurable metallicity
            # (training masks the others the same way); detectability has its own metrics.
            values[detectable[index] == 0.0] = np.nan
        return values

    labelled = [p for p in model.parameters if p in table.colnames]
    if not labelled:
        raise InputError(
            f"catalog has no label column for model {model.name!r}; expected some of {', '.join(model.parameters)}"
        )
    if model.requires_cutouts and cutouts is None:
        raise InputError(f"model {model.name!r} needs cutouts; the catalog names none")
    if cutouts is not None and cutout_index is None:
        cutout_index = np.arange(len(table))
    labels = split_of(table)
    rows = np.arange(len(table)) if split == "all" else np.flatnonzero(labels == split)
    if rows.size == 0:
        raise InputError(f"catalog has no rows in split {split!r} (splits present: {sorted(set(labels))})")

    t0 = time.perf_counter()
    features = _features(model, table, rows, cutouts, cutout_index, chunk)
    usable = np.isfinite(features).all(axis=1)
    rows, features = rows[usable], features[usable]
    log(f"features of {len(rows):,} {split} rows ({np.sum(~usable)} unusable): {time.perf_counter() - t0:.1f} s")
    samples = {p: [] for p in labelled}
    extra: dict[str, list] = {}
    n_chunks = -(-len(rows) // chunk)
    for k, r in enumerate(_row_chunks(rows, chunk)):
        t0 = time.perf_counter()
        post = model.posterior_samples(
            table[r], _cutouts_of(cutouts, cutout_index, r), n_samples=n_samples, seed=seed + k, calibrate=calibrate
        )
        for p in labelled:
            samples[p].append(get_parameter(p).to_model_space(post.samples[p]))
        for name, col in post.columns.items():
            extra.setdefault(name, []).append(np.asarray(col))
        log(
            f"posterior samples, chunk {k + 1}/{n_chunks} ({len(r):,} rows x {n_samples}): {time.perf_counter() - t0:.1f} s"
        )
    samples = {p: np.concatenate(v) for p, v in samples.items()}
    extra = {k: np.concatenate(v) for k, v in extra.items()}

    result = EvaluationResult(
        metrics={
            "model": model.name,
            "split": split,
            "n_rows": int(len(rows)),
            "n_unusable_rows": int(np.sum(~usable)),
            "n_samples": int(n_samples),
            "seed": int(seed),
            "calibrated": bool(calibrate and model.calibration is not None),
            "space": {p: get_parameter(p).transform for p in labelled},
            "parameters": {},
            "baselines": {},
        },
        features=features,
    )
    for p in labelled:
        truth = label(p, rows)
        ok = np.isfinite(truth)
        if ok.sum() < 2:
            continue
        entry = evaluate_samples(truth[ok], samples[p][ok], redshift=p == "redshift")
        if model.n_members > 1:
            blocks = [samples[p][ok][:, a:b] for a, b in member_blocks(n_samples, model.n_members) if b > a]
            # Members get n_samples // K draws and the first n_samples % K one more; the
            # decomposition needs equal blocks, so drop the extra draws.
            size = min(block.shape[1] for block in blocks)
            entry["uncertainty"] = M.uncertainty_decomposition(np.stack([block[:, :size] for block in blocks]))
        result.metrics["parameters"][p] = entry
        result.truth[p], result.samples[p] = truth[ok], samples[p][ok]
    if "metallicity_detectable" in table.colnames and "oh_12_detectable_probability" in extra:
        result.metrics["detectability"] = M.detectability_metrics(
            np.asarray(table["metallicity_detectable"])[rows].astype(bool), extra["oh_12_detectable_probability"]
        )

    if baselines:
        train_rows = np.flatnonzero(labels == "train")
        if train_rows.size > max_baseline_train:
            train_rows = np.sort(np.random.default_rng(seed).choice(train_rows, max_baseline_train, replace=False))
        t0 = time.perf_counter()
        x_train = _features(model, table, train_rows, cutouts, cutout_index, chunk)
        log(f"baselines: features of {len(train_rows):,} train rows: {time.perf_counter() - t0:.1f} s")
        for p in result.truth:
            y = label(p, train_rows)
            fit_rows = np.isfinite(x_train).all(axis=1) & np.isfinite(y)
            if fit_rows.sum() < 2:
                continue
            truth_rows = np.isfinite(label(p, rows))
            t0 = time.perf_counter()
            fitted = fit_baselines(x_train[fit_rows], y[fit_rows], features[truth_rows], names=baselines, seed=seed)
            log(
                f"baselines {','.join(baselines)} for {p} ({int(fit_rows.sum()):,} train rows): {time.perf_counter() - t0:.1f} s"
            )
            result.metrics["baselines"][p] = {}
            result.baseline_predictions[p] = {}
            for name, res in fitted.items():
                entry = M.point_metrics(result.truth[p], res.prediction, redshift=p == "redshift")
                if res.samples is not None:
                    entry.update(M.calibration_metrics(result.truth[p], res.samples))
                entry["n_train"] = int(fit_rows.sum())
                result.metrics["baselines"][p][name] = entry
                result.baseline_predictions[p][name] = res.prediction
    return result
