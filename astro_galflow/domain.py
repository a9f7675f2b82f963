"""The training-domain check: a density score of a row's features, and what a flagged row gets.

A per-feature min/max box misses what matters most for photometric inference: colour
*combinations* no training galaxy has, each colour inside its own range. The check here
is a Gaussian mixture fitted to the model's training features (standardised), stored in
the model card under ``"domain"``. A row's score is its negative log-density under the
mixture; its ``ood_score`` column is that score minus the card's threshold, in nats, so a
row is ``OUTSIDE_TRAINING_DOMAIN`` exactly when ``ood_score > 0``. The threshold is the
99th percentile of the score on held-out training-domain rows (the validation split): the
flag's false-positive rate on rows like the training set is 1 %.

Why a Gaussian mixture: ``studies/fit_domain_checks.py --compare`` measures it against a
k-nearest-neighbour distance on held-out simulated rows, real SDSS galaxies and synthetic
off-manifold colours (docs/user_guide/guarantees.rst has the table). The two separate
alike or the mixture better; the mixture is ``K (F^2 + F + 1)`` numbers in the card
(30 kB for 9 photometric features, 0.6 MB for ``sim-default``'s 73), while the kNN
distance needs every training row at inference.

Out of domain means uncertain, not extreme: the flow's posterior of a flagged row is an
extrapolation, often narrow and at the edge of the training labels. :func:`temper`
mixes it with the training distribution of the labels, with weight
:func:`tempering_weight` growing from 0 at the threshold to 1 far beyond it, so a flagged
row's posterior is broad, never confidently extreme.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "DOMAIN_METHOD",
    "FALSE_POSITIVE_RATE",
    "DomainCheck",
    "check_and_temper",
    "domain_problems",
    "fit_domain_check",
    "temper",
    "tempering_weight",
]

DOMAIN_METHOD = "gaussian_mixture"
#: Share of held-out training-domain rows flagged: the threshold's quantile is 1 - this.
FALSE_POSITIVE_RATE = 0.01
#: Mixture sizes tried; the one with the best held-out log-likelihood is kept.
COMPONENT_CHOICES = (1, 2, 4, 8)
_LOG_2PI = math.log(2.0 * math.pi)


@dataclass
class DomainCheck:
    """A Gaussian-mixture density of standardised training features and its threshold.

    Attributes
    ----------
    center, scale : numpy.ndarray, shape (F,)
        Standardisation of the features (training mean and standard deviation).
    weights : numpy.ndarray, shape (K,)
    means : numpy.ndarray, shape (K, F)
    precisions_cholesky : numpy.ndarray, shape (K, F, F)
        As scikit-learn's ``GaussianMixture.precisions_cholesky_`` (full covariances).
    threshold : float
        Score (negative log-density, nats) above which a row is outside the domain.
    spread : float
        ``threshold`` minus the median held-out score: the scale of :func:`tempering_weight`.
    fitted_on : dict
        Provenance: catalog, rows, command, false-positive rate.
    """

    center: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    means: np.ndarray
    precisions_cholesky: np.ndarray
    threshold: float = math.inf
    spread: float = 1.0
    fitted_on: dict = field(default_factory=dict)

    def score(self, features: np.ndarray) -> np.ndarray:
        """Negative log-density ``(n,)`` of raw features ``(n, F)``; NaN where a feature is not finite."""
        x = (np.asarray(features, dtype=np.float64) - self.center) / self.scale
        finite = np.isfinite(x).all(axis=1)
        x = np.where(finite[:, None], x, 0.0)
        n_features = x.shape[1]
        log_terms = []
        for w, mu, chol in zip(self.weights, self.means, self.precisions_cholesky):
            y = (x - mu) @ chol
            log_det = np.sum(np.log(np.diag(chol)))
            log_terms.append(math.log(w) + log_det - 0.5 * (n_features * _LOG_2PI + np.sum(y * y, axis=1)))
        log_terms = np.stack(log_terms, axis=1)
        top = log_terms.max(axis=1)
        log_density = top + np.log(np.exp(log_terms - top[:, None]).sum(axis=1))
        return np.where(finite, -log_density, np.nan)

    def ood_score(self, features: np.ndarray) -> np.ndarray:
        """``score - threshold`` ``(n,)``: positive outside the training domain (the ``ood_score`` column)."""
        return (self.score(features) - self.threshold).astype(np.float32)

    def to_card(self) -> dict:
        """JSON-ready ``"domain"`` entry of a model card."""
        return {
            "method": DOMAIN_METHOD,
            "center": _rounded(self.center),
            "scale": _rounded(self.scale),
            "weights": _rounded(self.weights),
            "means": [_rounded(m) for m in self.means],
            "precisions_cholesky": [[_rounded(r) for r in c] for c in self.precisions_cholesky],
            "threshold": float(self.threshold),
            "spread": float(self.spread),
            "fitted_on": self.fitted_on,
        }

    @classmethod
    def from_card(cls, entry: dict) -> DomainCheck:
        """Inverse of :meth:`to_card` (validate the entry with :func:`domain_problems` first)."""
        return cls(
            center=np.asarray(entry["center"], dtype=np.float64),
            scale=np.asarray(entry["scale"], dtype=np.float64),
            weights=np.asarray(entry["weights"], dtype=np.float64),
            means=np.asarray(entry["means"], dtype=np.float64),
            precisions_cholesky=np.asarray(entry["precisions_cholesky"], dtype=np.float64),
            threshold=float(entry["threshold"]),
            spread=float(entry["spread"]),
            fitted_on=dict(entry.get("fitted_on", {})),
        )


def _rounded(values) -> list[float]:
    # 8 significant digits: far below the density's statistical precision, keeps cards small
    return [float(f"{v:.8g}") for v in np.asarray(values, dtype=np.float64).ravel()]


def fit_domain_check(
    train_features: np.ndarray,
    heldout_features: np.ndarray,
    *,
    seed: int = 0,
    components=COMPONENT_CHOICES,
    false_positive_rate: float = FALSE_POSITIVE_RATE,
    fitted_on: dict | None = None,
) -> DomainCheck:
    """Fit the mixture on training features; set its threshold on held-out ones.

    Parameters
    ----------
    train_features : numpy.ndarray, shape (n, F)
        Raw features of the rows the model was trained on (non-finite rows are dropped).
    heldout_features : numpy.ndarray, shape (m, F)
        Raw features of held-out rows of the same domain (the validation split); they
        choose the number of components and set the threshold.
    seed : int
        Seed of the mixture's initialisation.
    components : sequence of int
        Mixture sizes to try.
    false_positive_rate : float
        Share of held-out rows that lie above the threshold.
    fitted_on : dict, optional
        Provenance stored in the card.
    """
    from sklearn.mixture import GaussianMixture

    train = np.asarray(train_features, dtype=np.float64)
    held = np.asarray(heldout_features, dtype=np.float64)
    train = train[np.isfinite(train).all(axis=1)]
    held = held[np.isfinite(held).all(axis=1)]
    if len(train) < 10 or len(held) < 10:
        raise ValueError(f"too few finite rows to fit a domain check: {len(train)} training, {len(held)} held-out")
    center, scale = train.mean(axis=0), train.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    best = None
    for k in components:
        if k > len(train) // 20:
            continue
        mixture = GaussianMixture(k, covariance_type="full", reg_covar=1e-4, random_state=seed, n_init=1)
        mixture.fit((train - center) / scale)
        held_ll = mixture.score((held - center) / scale)
        if best is None or held_ll > best[0]:
            best = (held_ll, mixture)
    mixture = best[1]
    check = DomainCheck(
        center=center,
        scale=scale,
        weights=mixture.weights_,
        means=mixture.means_,
        precisions_cholesky=mixture.precisions_cholesky_,
    )
    # threshold and spread from the rounded parameters the card will hold
    check = DomainCheck.from_card(check.to_card())
    held_scores = check.score(held)
    check.threshold = float(np.quantile(held_scores, 1.0 - false_positive_rate))
    check.spread = float(max(check.threshold - np.median(held_scores), 1e-3))
    check.fitted_on = {
        "n_train": int(len(train)),
        "n_heldout": int(len(held)),
        "n_components": int(len(mixture.weights_)),
        "false_positive_rate": float(false_positive_rate),
        "seed": int(seed),
        **(fitted_on or {}),
    }
    return check


def domain_problems(entry, n_features: int | None) -> list[str]:
    """Problems of a card's ``"domain"`` entry as ``"<field>: <problem>"`` lines."""
    if not isinstance(entry, dict):
        return [f"(entry): must be an object, got {type(entry).__name__}"]
    if entry.get("method") != DOMAIN_METHOD:
        return [f"method: {entry.get('method')!r} is not {DOMAIN_METHOD!r}"]
    problems = []
    for name in ("center", "scale", "weights", "means", "precisions_cholesky", "threshold", "spread"):
        if name not in entry:
            problems.append(f"{name}: missing")
            continue
        try:
            np.asarray(entry[name], dtype=np.float64)
        except (TypeError, ValueError):
            problems.append(f"{name}: must be numeric")
    if problems:
        return problems
    check = DomainCheck.from_card(entry)
    k, f = check.means.shape if check.means.ndim == 2 else (None, None)
    if k is None:
        return ["means: must be a list of per-component lists"]
    shapes = {
        "center": (check.center.shape, (f,)),
        "scale": (check.scale.shape, (f,)),
        "weights": (check.weights.shape, (k,)),
        "precisions_cholesky": (check.precisions_cholesky.shape, (k, f, f)),
    }
    problems += [f"{name}: has shape {have}, expected {want}" for name, (have, want) in shapes.items() if have != want]
    if n_features is not None and f != n_features:
        problems.append(f"means: components have {f} features; the card has {n_features}")
    if not problems:
        if not (np.all(check.weights > 0) and abs(check.weights.sum() - 1.0) < 1e-4):
            problems.append("weights: must be positive and sum to 1")
        if not np.all(check.scale > 0):
            problems.append("scale: must be positive")
        diagonals = np.diagonal(check.precisions_cholesky, axis1=1, axis2=2)
        if not np.all(diagonals > 0):
            problems.append("precisions_cholesky: diagonals must be positive")
    if not math.isfinite(check.threshold):
        problems.append("threshold: must be a finite number")
    if not (math.isfinite(check.spread) and check.spread > 0):
        problems.append("spread: must be a positive number")
    return problems


def tempering_weight(ood_score: np.ndarray, spread: float) -> np.ndarray:
    """Weight ``(n,)`` of the training distribution in a row's tempered posterior.

    ``1 - exp(-ood_score / spread)`` for ``ood_score > 0``, else 0: zero at the threshold
    (no jump for rows just inside), 63 % one ``spread`` beyond it, over 95 % three
    beyond. NaN scores (rows with no usable features) get 0; they carry no posterior.
    """
    excess = np.nan_to_num(np.asarray(ood_score, dtype=np.float64), nan=0.0)
    return np.where(excess > 0, -np.expm1(-np.maximum(excess, 0.0) / spread), 0.0)


def temper(samples: np.ndarray, weight: np.ndarray, mean, std, low, high, *, seeds=None) -> np.ndarray:
    """Mix each row's joint samples with the training distribution of the labels.

    Each draw of row ``i`` is replaced, with probability ``weight[i]``, by a draw of the
    training labels' distribution: per parameter a normal of the training ``mean`` and
    ``std``, truncated to the training range ``[low, high]`` (model space). The result
    samples ``(1 - w) p(theta | x) + w p_train(theta)``: as broad as the training set
    where the model knows nothing, never narrower than the model's own posterior.

    Parameters
    ----------
    samples : numpy.ndarray, shape (n, S, D)
        Model-space samples; not modified.
    weight : numpy.ndarray, shape (n,)
        In [0, 1] (:func:`tempering_weight`).
    mean, std, low, high : array-like, shape (D,)
        The card's ``targets`` statistics.
    seeds : numpy.ndarray, optional
        Per-row seeds of the replacement draws (the rows' noise seeds), so a row's result
        does not depend on the other rows of its batch; default ``0, 1, 2...``.
    """
    samples = np.asarray(samples)
    out = samples.copy()
    weight = np.clip(np.asarray(weight, dtype=np.float64), 0.0, 1.0)
    rows = np.flatnonzero(weight > 0)
    if rows.size == 0:
        return out
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    a, b = (np.asarray(low) - mean) / std, (np.asarray(high) - mean) / std
    seeds = np.arange(len(samples)) if seeds is None else np.asarray(seeds)
    n_samples, n_params = samples.shape[1:]
    for row in rows:
        rng = np.random.default_rng([int(seeds[row]), 15])  # the row's own stream, not the support truncation's
        replace = rng.random(n_samples) < weight[row]
        prior = mean + std * _truncated_standard_normal(rng, a, b, (n_samples, n_params))
        out[row, replace] = prior[replace].astype(samples.dtype)
    return out


def _truncated_standard_normal(rng, a, b, size) -> np.ndarray:
    """Standard normal draws truncated to ``[a, b]`` (per column) by inverting the CDF.

    Not :func:`scipy.stats.truncnorm`: importing ``scipy.stats`` costs a third of a
    second of every run with a flagged row. The bounds here are the training range, a
    few standard deviations from the mean, where the plain inverse CDF is exact to
    double precision; a bound on the upper side is mirrored to the lower tail, where
    ``ndtr`` keeps its relative precision.
    """
    from scipy.special import ndtr, ndtri

    a, b = np.broadcast_to(np.asarray(a, float), size[-1:]), np.broadcast_to(np.asarray(b, float), size[-1:])
    upper = a > 0  # both bounds above the mean: draw -x from [-b, -a]
    lo, hi = np.where(upper, -b, a), np.where(upper, -a, b)
    p_lo, p_hi = ndtr(lo), ndtr(hi)
    x = ndtri(p_lo + rng.random(size) * (p_hi - p_lo))
    return np.clip(np.where(upper, -x, x), a, b)


def check_and_temper(check: DomainCheck, features: np.ndarray, samples: np.ndarray, targets: dict, *, seeds=None):
    """The domain check of a batch and its tempering, in one call for the sampling code.

    Parameters
    ----------
    check : DomainCheck
    features : numpy.ndarray, shape (n, F)
        Raw features of the rows.
    samples : numpy.ndarray, shape (n, S, D)
        Model-space samples of the rows.
    targets : dict
        The card's ``"targets"`` entry (``mean``, ``std``, ``min``, ``max`` in model space).
    seeds : numpy.ndarray, optional
        Per-row seeds (:func:`temper`).

    Returns
    -------
    samples : numpy.ndarray, shape (n, S, D)
        Tempered samples (:func:`temper`).
    ood_score : numpy.ndarray, shape (n,)
        float32 ``score - threshold`` (the ``ood_score`` column).
    outside : numpy.ndarray, shape (n,)
        bool, ``ood_score > 0`` (``OUTSIDE_TRAINING_DOMAIN``).
    """
    ood = check.ood_score(features)
    weight = tempering_weight(ood, check.spread)
    tempered = temper(samples, weight, targets["mean"], targets["std"], targets["min"], targets["max"], seeds=seeds)
    with np.errstate(invalid="ignore"):
        return tempered, ood, ood > 0
