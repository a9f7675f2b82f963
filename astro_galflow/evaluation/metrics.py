"""Point-estimate and calibration metrics of posterior samples, in pure numpy.

Every function takes plain arrays: ``truth`` of shape ``(n,)``, point predictions of shape
``(n,)`` and posterior samples of shape ``(n, S)`` (one row of ``S`` draws per galaxy).
Non-finite truths, predictions or sample rows are the caller's business: the functions
use the rows they are given and raise :class:`~astro_galflow.exceptions.InputError` on
shape mismatches and empty input.

References
----------
* σ_NMAD and outlier rates: Brammer, van Dokkum & Coppi 2008, ApJ 686, 1503 (Sect. 5);
  Ilbert et al. 2006, A&A 457, 841 (the ``|Δz|/(1+z) > 0.15`` outlier definition).
* PIT: Dawid 1984, J. R. Stat. Soc. A 147, 278; its use for photo-z in
  Schmidt et al. 2020, MNRAS 499, 1587 (LSST DESC photo-z data challenge).
* CRPS: Gneiting & Raftery 2007, JASA 102, 359 (energy form, Eq. 21; Gaussian
  closed form, Eq. 5 of Gneiting et al. 2005, MWR 133, 1098).
* AUC as the Mann-Whitney statistic: Hanley & McNeil 1982, Radiology 143, 29.
"""

from __future__ import annotations

import math

import numpy as np

from astro_galflow.exceptions import InputError

__all__ = [
    "NMAD_SCALE",
    "r2_score",
    "rmse",
    "bias",
    "sigma_nmad",
    "outlier_fraction",
    "pit_values",
    "pit_histogram",
    "pit_ks_statistic",
    "interval_coverage",
    "crps_samples",
    "crps_gaussian",
    "detectability_metrics",
    "uncertainty_decomposition",
    "point_metrics",
    "calibration_metrics",
]

#: Factor that makes the median absolute deviation of a Gaussian equal its σ (1 / Φ⁻¹(3/4)).
NMAD_SCALE = 1.482602218505602


def _vector(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise InputError(f"{name} must be one-dimensional (n,), got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(f"{name} is empty")
    return arr


def _pair(truth, pred) -> tuple[np.ndarray, np.ndarray]:
    truth = _vector(truth, "truth")
    pred = _vector(pred, "prediction")
    if truth.shape != pred.shape:
        raise InputError(f"truth has shape {truth.shape} but prediction has shape {pred.shape}")
    return truth, pred


def _with_samples(truth, samples) -> tuple[np.ndarray, np.ndarray]:
    truth = _vector(truth, "truth")
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[0] != truth.shape[0] or samples.shape[1] == 0:
        raise InputError(f"samples must have shape (n={truth.shape[0]}, S>0), got {samples.shape}")
    return truth, samples


def _scaled_residual(truth, pred, relative: bool) -> np.ndarray:
    truth, pred = _pair(truth, pred)
    delta = pred - truth
    # Photo-z convention: residuals in units of (1 + z_true) (Brammer et al. 2008).
    return delta / (1.0 + truth) if relative else delta


def r2_score(truth, pred) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot`` (as scikit-learn's ``r2_score``).

    A constant truth (``SS_tot = 0``) gives 1 for a perfect prediction and 0 otherwise,
    scikit-learn's convention. A truth so nearly constant that ``SS_res / SS_tot``
    overflows gives ``-inf`` (scikit-learn gives the same, with a warning).
    """
    truth, pred = _pair(truth, pred)
    ss_tot = np.sum((truth - truth.mean()) ** 2)
    ss_res = np.sum((truth - pred) ** 2)
    if ss_tot == 0:
        return 1.0 if ss_res == 0 else 0.0
    with np.errstate(over="ignore"):
        return float(1.0 - ss_res / ss_tot)


def rmse(truth, pred) -> float:
    """Root-mean-square error of ``pred`` about ``truth``."""
    truth, pred = _pair(truth, pred)
    return float(np.sqrt(np.mean((pred - truth) ** 2)))


def bias(truth, pred, *, relative: bool = False) -> float:
    """Mean residual ``pred - truth`` (divided by ``1 + truth`` when ``relative``, for redshift)."""
    return float(np.mean(_scaled_residual(truth, pred, relative)))


def sigma_nmad(truth, pred, *, relative: bool = False) -> float:
    """Normalised median absolute deviation of the residuals.

    ``1.4826 × median(|Δ − median(Δ)|)`` with ``Δ = pred − truth``, or
    ``Δ = (pred − truth) / (1 + truth)`` when ``relative`` (the photo-z σ_NMAD of
    Brammer et al. 2008 and σ_MAD of Pasquet et al. 2019). Equals σ for Gaussian residuals.
    """
    delta = _scaled_residual(truth, pred, relative)
    return float(NMAD_SCALE * np.median(np.abs(delta - np.median(delta))))


def outlier_fraction(truth, pred, threshold: float, *, relative: bool = True) -> float:
    """Fraction of rows with ``|pred − truth| / (1 + truth) > threshold`` (plain ``|Δ|`` if not ``relative``)."""
    delta = _scaled_residual(truth, pred, relative)
    return float(np.mean(np.abs(delta) > threshold))


def pit_values(truth, samples) -> np.ndarray:
    """Probability integral transform of each truth under its sample distribution.

    The empirical CDF at the truth, counting ties as one half, so a truth drawn from
    the same distribution as its samples gives PIT values uniform on [0, 1].

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    truth, samples = _with_samples(truth, samples)
    below = np.sum(samples < truth[:, None], axis=1)
    ties = np.sum(samples == truth[:, None], axis=1)
    return (below + 0.5 * ties) / samples.shape[1]


def pit_histogram(pit, bins: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of PIT values on [0, 1] as densities (1 everywhere for perfect calibration).

    Returns
    -------
    density : numpy.ndarray, shape (bins,)
    edges : numpy.ndarray, shape (bins + 1,)
    """
    pit = _vector(pit, "pit")
    density, edges = np.histogram(np.clip(pit, 0.0, 1.0), bins=bins, range=(0.0, 1.0), density=True)
    return density, edges


def pit_ks_statistic(pit) -> float:
    """Kolmogorov-Smirnov distance between the PIT values and the uniform distribution.

    Same value as ``scipy.stats.kstest(pit, "uniform").statistic``.
    """
    pit = np.sort(np.clip(_vector(pit, "pit"), 0.0, 1.0))
    n = pit.size
    upper = np.arange(1, n + 1) / n - pit
    lower = pit - np.arange(0, n) / n
    return float(max(upper.max(), lower.max()))


def interval_coverage(truth, samples, level: float) -> float:
    """Fraction of truths inside the central ``level`` interval of their samples.

    The interval runs between the ``(1 − level)/2`` and ``(1 + level)/2`` sample
    quantiles (linear interpolation).
    """
    if not 0.0 < level < 1.0:
        raise InputError(f"coverage level must lie in (0, 1), got {level}")
    truth, samples = _with_samples(truth, samples)
    lo, hi = np.quantile(samples, [(1.0 - level) / 2.0, (1.0 + level) / 2.0], axis=1)
    return float(np.mean((truth >= lo) & (truth <= hi)))


def crps_samples(truth, samples) -> np.ndarray:
    """Continuous ranked probability score of each row from its samples (lower is better).

    Energy form ``E|X − y| − ½ E|X − X'|`` with the empirical distribution of the
    samples (Gneiting & Raftery 2007, Eq. 21), computed in O(S log S) per row from the
    sorted samples. It has the unit of ``truth``.

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    truth, samples = _with_samples(truth, samples)
    s = samples.shape[1]
    sorted_samples = np.sort(samples, axis=1)
    term1 = np.mean(np.abs(sorted_samples - truth[:, None]), axis=1)
    # sum_{i,j} |x_i - x_j| = 2 * sum_i (2i - S - 1) x_(i) for sorted x (1-based i).
    weights = 2.0 * np.arange(1, s + 1) - s - 1.0
    pair_sum = 2.0 * sorted_samples @ weights
    return term1 - 0.5 * pair_sum / (s * s)


def crps_gaussian(truth, mean, sigma) -> np.ndarray:
    """Closed-form CRPS of a Gaussian N(mean, sigma²) at ``truth`` (Gneiting et al. 2005, Eq. 5)."""
    from scipy.special import erf

    truth = np.asarray(truth, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    w = (truth - np.asarray(mean, dtype=np.float64)) / sigma
    pdf = np.exp(-0.5 * w**2) / math.sqrt(2.0 * math.pi)
    cdf = 0.5 * (1.0 + erf(w / math.sqrt(2.0)))
    return sigma * (w * (2.0 * cdf - 1.0) + 2.0 * pdf - 1.0 / math.sqrt(math.pi))


def _rank_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    from scipy.stats import rankdata

    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def detectability_metrics(truth, probability, *, threshold: float = 0.5) -> dict[str, float]:
    """Accuracy (at ``threshold``) and ROC AUC of a detectability classifier.

    Parameters
    ----------
    truth : array-like of bool, shape (n,)
        Whether the metallicity is measurable.
    probability : array-like of float, shape (n,)
        Predicted probability of being measurable.

    Returns
    -------
    dict
        ``accuracy``, ``auc`` (NaN when only one class is present), ``positive_fraction``.
    """
    labels = np.asarray(truth).astype(bool)
    prob = _vector(probability, "probability")
    if labels.shape != prob.shape:
        raise InputError(f"truth has shape {labels.shape} but probability has shape {prob.shape}")
    return {
        "accuracy": float(np.mean((prob >= threshold) == labels)),
        "auc": _rank_auc(labels, prob),
        "positive_fraction": float(labels.mean()),
    }


def uncertainty_decomposition(member_samples) -> dict[str, float]:
    """Aleatoric and epistemic spread of an ensemble's posterior samples.

    By the law of total variance the variance of the pooled samples is the mean of the
    members' variances (aleatoric) plus the variance of the members' means (epistemic;
    Lakshminarayanan et al. 2017, NeurIPS 30), the decomposition of the paper's Table 2.
    Returned are medians over galaxies of ``sqrt`` of each part and of the total.

    Parameters
    ----------
    member_samples : array-like, shape (K, n, S)
        Samples of each of ``K`` ensemble members for ``n`` galaxies.
    """
    samples = np.asarray(member_samples, dtype=np.float64)
    if samples.ndim != 3 or min(samples.shape) == 0:
        raise InputError(f"member_samples must have shape (K, n, S), got {samples.shape}")
    aleatoric = samples.var(axis=2).mean(axis=0)
    epistemic = samples.mean(axis=2).var(axis=0)
    return {
        "aleatoric": float(np.median(np.sqrt(aleatoric))),
        "epistemic": float(np.median(np.sqrt(epistemic))),
        "total": float(np.median(np.sqrt(aleatoric + epistemic))),
        "n_members": int(samples.shape[0]),
    }


def point_metrics(truth, pred, *, redshift: bool = False) -> dict[str, float]:
    """R², RMSE, bias and σ_NMAD; for redshift also relative bias/σ_NMAD and outlier rates.

    With ``redshift`` the ``bias`` and ``sigma_nmad`` entries are in units of ``1 + z``
    and ``outlier_0.05``/``outlier_0.15`` give the fractions with ``|Δz|/(1+z)`` above
    0.05 and 0.15.
    """
    truth, pred = _pair(truth, pred)
    out = {
        "n": int(truth.size),
        "r2": r2_score(truth, pred),
        "rmse": rmse(truth, pred),
        "bias": bias(truth, pred, relative=redshift),
        "sigma_nmad": sigma_nmad(truth, pred, relative=redshift),
    }
    if redshift:
        out["outlier_0.05"] = outlier_fraction(truth, pred, 0.05)
        out["outlier_0.15"] = outlier_fraction(truth, pred, 0.15)
    return out


def calibration_metrics(truth, samples, *, bins: int = 20) -> dict:
    """PIT histogram and KS statistic, 68 %/95 % coverage and mean CRPS of posterior samples."""
    truth, samples = _with_samples(truth, samples)
    pit = pit_values(truth, samples)
    density, edges = pit_histogram(pit, bins=bins)
    return {
        "pit_ks": pit_ks_statistic(pit),
        "pit_histogram": density.tolist(),
        "pit_bin_edges": edges.tolist(),
        "coverage_68": interval_coverage(truth, samples, 0.68),
        "coverage_95": interval_coverage(truth, samples, 0.95),
        "crps": float(np.mean(crps_samples(truth, samples))),
    }
