"""Per-column standardisation statistics, stored in model cards."""

from __future__ import annotations

import numpy as np

__all__ = ["column_stats"]


def column_stats(values: np.ndarray) -> dict[str, list[float]]:
    """``mean``, ``std``, ``min``, ``max`` of each column, ignoring NaN.

    A constant or empty column gets ``std = 1`` so that standardising never divides by
    zero.
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    counts = finite.sum(axis=0)
    safe = np.where(finite, values, 0.0)
    mean = np.where(counts > 0, safe.sum(axis=0) / np.maximum(counts, 1), 0.0)
    var = np.where(finite, (values - mean) ** 2, 0.0).sum(axis=0) / np.maximum(counts, 1)
    std = np.sqrt(var)
    std = np.where(std > 1e-6, std, 1.0)
    lo = np.where(counts > 0, np.where(finite, values, np.inf).min(axis=0), 0.0)
    hi = np.where(counts > 0, np.where(finite, values, -np.inf).max(axis=0), 0.0)
    return {"mean": mean.tolist(), "std": std.tolist(), "min": lo.tolist(), "max": hi.tolist()}
