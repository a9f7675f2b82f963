"""Compact per-parameter PDFs and their export as RAIL ``qp`` ensembles.

Samples (1000 per object and parameter) are the richest posterior but the heaviest
column. A compact PDF keeps the shape in a few dozen numbers per object, stored as a
fixed-length array column ``{param}_pdf_quantiles`` (values at fixed quantile levels)
or ``{param}_pdf_hist`` (densities on a fixed grid of bins). Both are the
parametrisations of the LSST-DESC ``qp`` package (Malz et al. 2018, AJ 156, 35) that
RAIL photo-z pipelines exchange, so :func:`write_qp` turns a column into a ``qp``
ensemble file that ``qp.read`` opens.

Enable with ``config.compact_pdf`` (:class:`~astro_galflow.config.CompactPdfSettings`)::

    CompactPdfSettings(kind="quantiles", n=20)              # default levels (k + 0.5) / n
    CompactPdfSettings(kind="histogram", bins=50,
                       ranges={"redshift": (0.0, 1.0)})      # per-parameter (lo, hi)

This module is a built-in plugin: it implements ``galflow_summarize_posterior`` (the
columns) and ``galflow_modify_table`` (the levels/bin edges in ``meta["compact_pdf"]``),
and does nothing when the option is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from astro_galflow.exceptions import InputError
from astro_galflow.plugins import hookimpl

__all__ = [
    "OPTION",
    "DEFAULT_RANGES",
    "quantile_levels",
    "compact_quantiles",
    "compact_histogram",
    "to_qp_ensemble",
    "write_qp",
]

#: Key of the table meta that records the compact PDFs' levels or bin edges.
OPTION = "compact_pdf"

#: Default histogram ranges in physical units (cover the SDSS MPA-JHU value ranges;
#: line fluxes in 1e-17 erg/s/cm2).
DEFAULT_RANGES = {
    "log_mstar": (6.0, 13.0),
    "log_sfr": (-4.0, 3.0),
    "redshift": (0.0, 1.5),
    "log_mbh": (4.0, 11.0),
    "oh_12": (7.5, 9.5),
    "flux_halpha": (0.0, 1000.0),
    "flux_hbeta": (0.0, 300.0),
    "flux_nii_6584": (0.0, 500.0),
    "flux_oiii_5007": (0.0, 500.0),
}


def quantile_levels(n: int) -> np.ndarray:
    """``n`` quantile levels ``(k + 0.5) / n``: evenly spaced, symmetric, never 0 or 1."""
    if n < 2:
        raise ValueError(f"a quantile PDF needs at least 2 levels, got {n}")
    return (np.arange(n) + 0.5) / n


def compact_quantiles(samples: np.ndarray, levels) -> np.ndarray:
    """Quantiles of each row's samples at ``levels``; shape ``(n_rows, len(levels))``, float32.

    Rows with any non-finite sample (no posterior) are NaN.
    """
    samples = np.asarray(samples, dtype=np.float64)
    out = np.full((samples.shape[0], len(levels)), np.nan, dtype=np.float32)
    ok = np.isfinite(samples).all(axis=1)
    if ok.any():
        out[ok] = np.quantile(samples[ok], levels, axis=1).T
    return out


def compact_histogram(samples: np.ndarray, edges) -> np.ndarray:
    """Normalised density of each row's samples in the bins ``edges``; float32.

    Samples outside the grid are clipped into the edge bins so that each row's density
    integrates to one over the grid. Rows without a posterior are NaN.
    """
    samples = np.asarray(samples, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    n_bins = len(edges) - 1
    out = np.full((samples.shape[0], n_bins), np.nan, dtype=np.float32)
    ok = np.isfinite(samples).all(axis=1)
    if ok.any():
        idx = np.clip(np.searchsorted(edges, samples[ok], side="right") - 1, 0, n_bins - 1)
        counts = np.zeros((idx.shape[0], n_bins))
        np.add.at(counts, (np.repeat(np.arange(idx.shape[0]), idx.shape[1]), idx.ravel()), 1.0)
        out[ok] = counts / (idx.shape[1] * np.diff(edges))
    return out


def _options(config) -> dict | None:
    settings = getattr(config, "compact_pdf", None)
    if settings is None:
        return None
    return {"kind": settings.kind, "n": settings.n, "bins": settings.bins, "ranges": dict(settings.ranges or {})}


def _edges(name: str, opts: dict) -> np.ndarray:
    lo, hi = opts["ranges"].get(name, DEFAULT_RANGES.get(name, (np.nan, np.nan)))
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise InputError(
            f"no histogram range for parameter {name!r}; give CompactPdfSettings(ranges={{{name!r}: (lo, hi)}})"
        )
    return np.linspace(lo, hi, opts["bins"] + 1)


@hookimpl
def galflow_summarize_posterior(parameter, samples, config):
    """``{param}_pdf_quantiles`` or ``{param}_pdf_hist`` when ``config.compact_pdf`` is set."""
    opts = _options(config)
    if opts is None:
        return None
    if opts["kind"] == "quantiles":
        levels = quantile_levels(opts["n"])
        values = compact_quantiles(samples, levels)
        return {
            "pdf_quantiles": (
                values,
                parameter.unit,
                f"{parameter.description}: posterior quantiles at levels meta['compact_pdf']['levels']",
            )
        }
    values = compact_histogram(samples, _edges(parameter.name, opts))
    return {
        "pdf_hist": (
            values,
            None,
            f"{parameter.description}: posterior density in the bins meta['compact_pdf']['edges'][{parameter.name!r}]",
        )
    }


@hookimpl
def galflow_modify_table(table, config):
    """Record the quantile levels or bin edges of the compact PDFs in ``table.meta``."""
    opts = _options(config)
    if opts is None:
        return
    if opts["kind"] == "quantiles":
        table.meta[OPTION] = {"kind": "quantiles", "levels": quantile_levels(opts["n"]).tolist()}
        return
    names = [c[: -len("_pdf_hist")] for c in table.colnames if c.endswith("_pdf_hist")]
    table.meta[OPTION] = {"kind": "histogram", "edges": {name: _edges(name, opts).tolist() for name in names}}


def to_qp_ensemble(table, parameter: str):
    """A ``qp.Ensemble`` of one parameter's posteriors.

    Uses ``{parameter}_pdf_quantiles`` (``qp.quant``), ``{parameter}_pdf_hist``
    (``qp.hist``) or, failing both, quantiles of ``{parameter}_samples``. Only rows
    with a posterior are included; the ensemble's ancillary data hold their ``row``
    number in ``table``, ``ra``, ``dec`` and (when numeric) ``source_id``.

    Raises
    ------
    InputError
        If the table has none of those columns for ``parameter``.
    """
    import qp

    meta = table.meta.get(OPTION, {})
    q_col, h_col, s_col = f"{parameter}_pdf_quantiles", f"{parameter}_pdf_hist", f"{parameter}_samples"
    if q_col in table.colnames:
        values = _plain(table[q_col])
        levels = np.asarray(meta.get("levels", quantile_levels(values.shape[1])))
        kind = "quantiles"
    elif h_col in table.colnames:
        values = _plain(table[h_col])
        try:
            edges = np.asarray(meta["edges"][parameter])
        except KeyError:
            raise InputError(f"table meta lacks compact_pdf edges of {parameter!r}, needed to read {h_col!r}") from None
        kind = "histogram"
    elif s_col in table.colnames:
        levels = quantile_levels(20)
        values = compact_quantiles(_plain(table[s_col]), levels)
        kind = "quantiles"
    else:
        raise InputError(
            f"table has no {q_col!r}, {h_col!r} or {s_col!r} column to build a qp ensemble of {parameter!r}"
        )
    rows = np.flatnonzero(np.isfinite(values).all(axis=1))
    if kind == "quantiles":
        # qp interpolates the CDF between levels; strictly increasing locations keep it invertible.
        locs = np.maximum.accumulate(values[rows].astype(np.float64), axis=1)
        locs = locs + np.arange(locs.shape[1]) * 1e-9 * np.maximum(1.0, np.abs(locs).max(initial=1.0))
        ens = qp.Ensemble(qp.quant, data={"quants": levels, "locs": locs})
    else:
        ens = qp.Ensemble(qp.hist, data={"bins": edges, "pdfs": values[rows].astype(np.float64)})
    ancil = {"row": rows.astype(np.int64)}
    for name in ("ra", "dec", "source_id"):
        if name in table.colnames:
            col = _plain(table[name])
            if col.dtype.kind in "iuf":
                ancil[name] = col[rows]
    ens.set_ancil(ancil)
    return ens


def write_qp(table, parameter: str, path) -> Path:
    """Write :func:`to_qp_ensemble` of ``parameter`` to ``path`` (``.hdf5``), readable by ``qp.read``."""
    path = Path(path)
    if path.suffix.lower() not in (".hdf5", ".h5"):
        raise InputError(f"qp ensembles are written as HDF5; give a .hdf5 path, not {os.fspath(path)!r}")
    to_qp_ensemble(table, parameter).write_to(os.fspath(path))
    return path


def _plain(col) -> np.ndarray:
    return np.asarray(getattr(col, "value", col))
