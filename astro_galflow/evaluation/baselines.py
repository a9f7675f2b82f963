"""The paper's baselines: kNN, MLP regression and gradient boosting on photometric features.

Siddiqa et al. (2025, Sect. 4) compare their flows with kNN and MLP regressors on the same
inputs; gradient boosting (scikit-learn's ``HistGradientBoostingRegressor``, after
Ke et al. 2017, NeurIPS 30) is the strongest classical photo-z baseline on colours.
All three are fit on the same training rows and features as the flow and predict the same
held-out rows. kNN also gives a sample-based posterior: the training targets of a
galaxy's ``k`` nearest neighbours (the empirical PDF of Beck et al. 2016, MNRAS 460, 1371),
so it has calibration metrics too; the other two give point estimates only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from astro_galflow.exceptions import InputError
from astro_galflow.inputs import photometry_features

__all__ = ["BASELINES", "BaselineResult", "design_matrix", "fit_baseline", "fit_baselines"]

#: Baseline names in report order.
BASELINES = ("knn", "mlp", "gbm")


@dataclass
class BaselineResult:
    """Predictions of one baseline on the evaluation rows.

    Attributes
    ----------
    name : str
    prediction : numpy.ndarray, shape (n,)
    samples : numpy.ndarray of shape (n, S), or None
        Posterior-like samples where the method gives them (kNN neighbours).
    """

    name: str
    prediction: np.ndarray
    samples: np.ndarray | None = None


def design_matrix(table, *, errors: bool = False) -> np.ndarray:
    """Colours ``u-g, g-r, r-i, i-z`` and magnitudes (plus magnitude errors if ``errors``).

    The same photometric features the flows see (:func:`astro_galflow.inputs.photometry_features`).
    """
    features, errs = photometry_features(table)
    return np.concatenate([features, errs], axis=1) if errors else features


def _check(x, y=None):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise InputError(f"baseline features must have shape (n > 0, d), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise InputError(f"baseline features contain {int(np.sum(~np.isfinite(x)))} non-finite values")
    if y is not None:
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (x.shape[0],) or not np.all(np.isfinite(y)):
            raise InputError(f"baseline targets must be finite with shape ({x.shape[0]},), got {y.shape}")
    return x, y


def fit_baseline(name: str, x_train, y_train, x_eval, *, seed: int = 0, n_neighbors: int = 30) -> BaselineResult:
    """Fit baseline ``name`` (one of :data:`BASELINES`) and predict ``x_eval``.

    Features are standardised on the training rows. Hyper-parameters are fixed
    (not tuned on the evaluation rows): kNN ``k = n_neighbors`` with distance weights;
    MLP two hidden layers of 64 (Adam, early stopping on 10 % of the training rows);
    gradient boosting 500 iterations at learning rate 0.05 with early stopping.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.neural_network import MLPRegressor
    from sklearn.preprocessing import StandardScaler

    x_train, y_train = _check(x_train, y_train)
    x_eval, _ = _check(x_eval)
    scaler = StandardScaler().fit(x_train)
    xt, xe = scaler.transform(x_train), scaler.transform(x_eval)
    if name == "knn":
        k = min(n_neighbors, xt.shape[0])
        model = KNeighborsRegressor(n_neighbors=k, weights="distance").fit(xt, y_train)
        neighbours = model.kneighbors(xe, return_distance=False)
        return BaselineResult(name, model.predict(xe), y_train[neighbours])
    if name == "mlp":
        model = MLPRegressor(
            hidden_layer_sizes=(64, 64),
            learning_rate_init=1e-3,
            max_iter=500,
            early_stopping=True,
            random_state=seed,
        )
        # The target is standardised too: MLPRegressor's L2 loss and tolerance assume O(1) targets.
        mu, sd = y_train.mean(), y_train.std() or 1.0
        model.fit(xt, (y_train - mu) / sd)
        return BaselineResult(name, model.predict(xe) * sd + mu)
    if name == "gbm":
        model = HistGradientBoostingRegressor(
            max_iter=500, learning_rate=0.05, early_stopping=True, random_state=seed
        ).fit(xt, y_train)
        return BaselineResult(name, model.predict(xe))
    raise InputError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")


def fit_baselines(x_train, y_train, x_eval, *, names=BASELINES, seed: int = 0) -> dict[str, BaselineResult]:
    """Fit every baseline of ``names`` on the same rows; ``{name: BaselineResult}``."""
    return {name: fit_baseline(name, x_train, y_train, x_eval, seed=seed) for name in names}
