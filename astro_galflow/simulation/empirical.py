"""The simulated photometry's link to real SDSS photometry: colour maps, error model, Galactic dust.

Three pieces, fitted to real SDSS files by :func:`fit` (the command below) and shipped as
``astro_galflow/data/sdss_photometry_model.json``, so the simulator needs no real data:

* **Colour transfer.** The four CWW templates, given an intrinsic scatter about their
  one-dimensional locus (:data:`INTRINSIC_SCATTER`), (:mod:`~astro_galflow.simulation.sed`) span
  too narrow a range of u - g and i - z, put the red sequence a few hundredths of a
  magnitude off the real one and correlate the four colours differently from real
  galaxies. In each of ``N_Z_BINS`` redshift bins (equal-count bins of the real sample)
  the simulated galaxies' four adjacent colours are carried onto the real joint colour
  distribution by the iterative distribution transfer of Pitie, Kokaram & Dahyot (2005,
  "N-dimensional probability density function transfer and its application to colour
  transfer", ICCV, 1434; 2007, CVIU 107, 123): :data:`TRANSFER_STEPS` times, both
  samples are rotated by a random orthonormal matrix (seeded; the last rotation is the
  identity, so each colour's own distribution is matched exactly), each rotated axis is
  quantile-mapped from the simulated onto the real distribution (``x -> Q_real(F_sim(x))``)
  and the result is rotated back. A galaxy's colours are the blend, linear in redshift, of
  the transfers of the two bins whose centres bracket it. Each step is monotonic along its
  axes (the gradient of a convex function, so it never reverses the order of two galaxies
  along the direction between them), and the composed transfer keeps each galaxy's
  place in u - g and g - r, the colours that carry its type, nearly unchanged (rank
  correlation of mapped and template colours ~0.98; r - i ~0.8 and i - z ~0.65, whose
  template spread is mostly the added intrinsic scatter), so the physical labels stay
  those the published relations give;
  unlike per-colour maps the transfer also matches how the colours vary together, which
  is what a classifier told simulated from real galaxies apart by (issue 16). The real
  colours are first pulled towards their bin mean by the linear map that removes the
  bin's mean measurement-noise covariance from their covariance (the simulator adds its
  own noise afterwards). The r band is untouched, so the selection and masses are too.
* **Error model.** The median ``log10`` model-magnitude error as a function of magnitude
  in each band, binned (0.25 mag) on the real files, times the five-band residual about
  those medians of a real galaxy drawn at random among the :data:`ERROR_NEIGHBOURS`
  nearest in redshift, r and colours (a nearest-neighbour hot deck): the errors of one
  galaxy go up and down together with its size and sky, and depend on its type and
  distance, which a multivariate normal of the residuals missed.
* **Galactic extinction.** ``E(B-V)`` is drawn from the SFD (Schlegel, Finkbeiner &
  Davis 1998, ApJ 500, 525) values of real SDSS spectroscopic galaxies' sight lines
  (``extinction_r / 2.285`` of the SkyServer SpecPhoto samples; no dust-map package
  with bundled map data is installable here). The true dust differs from the map by
  the map's 16 % uncertainty (Schlegel et al. 1998, section 3.4); SDSS corrects with
  the map value and the coefficients ``A_b / E(B-V) = 4.239, 3.303, 2.285, 1.698,
  1.263`` (Schlafly & Finkbeiner 2011, ApJ 737, 103, Table 6, R_V = 3.1, the ones
  SkyServer's ``extinction_<band>`` use), so the corrected photometry keeps a residual
  ``R_b * (E_true - E_map)`` that is correlated across bands.

Refit (after any change to the population's colours) from the repository root with::

    python studies/fit_sdss_photometry_model.py --data-dir ../shared/data/sdss

The real rows used are the ``train`` split (:func:`astro_galflow.training.data.split_of`)
of the MLZ ``SDSS_MGS.train`` file, so the ``val``/``test`` rows of the real photo-z set
stay untouched by the simulator.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

__all__ = [
    "MODEL_FILE",
    "SF11_COEFFICIENTS",
    "SFD_FRACTIONAL_ERROR",
    "COLOURS",
    "INTRINSIC_SCATTER",
    "scatter_colours",
    "load_model",
    "model_arrays",
    "map_colours",
    "magnitude_errors",
    "draw_ebv",
    "fit",
    "fit_transfer",
    "TRANSFER_STEPS",
    "ERROR_NEIGHBOURS",
    "colours_of",
]

MODEL_FILE = Path(__file__).resolve().parent.parent / "data" / "sdss_photometry_model.json"
#: ``A_b / E(B-V)_SFD`` in ugriz (Schlafly & Finkbeiner 2011, Table 6, R_V = 3.1).
SF11_COEFFICIENTS = np.array([4.239, 3.303, 2.285, 1.698, 1.263])
#: Fractional uncertainty of the SFD reddening (Schlegel et al. 1998, section 3.4).
SFD_FRACTIONAL_ERROR = 0.16
COLOURS = ("u-g", "g-r", "r-i", "i-z")
#: Intrinsic colour scatter (mag) added to the template colours before the maps: the four
#: templates put every galaxy on one curve in colour space, real galaxies of one redshift
#: and g - r scatter about it with their ages, metallicities and dust (their u - g most).
#: Chosen, not fitted: the maps then restore each colour's real distribution.
INTRINSIC_SCATTER = np.array([0.06, 0.02, 0.03, 0.03])
N_Z_BINS = 10
#: Steps of the iterative colour transfer (random rotations, the last one the identity).
TRANSFER_STEPS = 12
_TRANSFER_LEVELS = np.linspace(0.0, 1.0, 41)
_LEVELS = np.linspace(0.0, 1.0, 101)
_MAG_BIN = 0.25
#: Real galaxies among which a simulated one's error residuals are drawn.
ERROR_NEIGHBOURS = 8


def model_arrays(fitted: dict) -> dict:
    """A fitted model (lists, as :func:`fit` returns and the JSON file holds) as numpy arrays."""
    return {k: (np.asarray(v, float) if isinstance(v, list) else v) for k, v in fitted.items()}


@lru_cache(maxsize=1)
def load_model(path=MODEL_FILE) -> dict:
    """The shipped fitted model as numpy arrays."""
    return model_arrays(json.loads(Path(path).read_text()))


def _axis_map(values, q_from, q_to):
    """Monotone 1-D quantile map ``Q_to(F_from(v))``; beyond the fitted range the end shift carries on."""
    return values + np.interp(values, q_from, q_to) - np.clip(values, q_from[0], q_from[-1])


def _transfer(model, k, colours):
    """The colour transfer of redshift bin ``k`` (all its steps) applied to ``(n, 4)`` colours."""
    x = np.array(colours, float, copy=True)
    for rot, q_from, q_to in zip(
        model["transfer_rotations"][k], model["transfer_quantiles_sim"][k], model["transfer_quantiles_real"][k]
    ):
        proj = x @ rot.T
        for a in range(proj.shape[1]):
            proj[:, a] = _axis_map(proj[:, a], q_from[a], q_to[a])
        x = proj @ rot
    return x


def scatter_colours(rng, colours) -> np.ndarray:
    """Template colours ``(n, 4)`` with the intrinsic scatter :data:`INTRINSIC_SCATTER` added."""
    colours = np.asarray(colours, float)
    return colours + rng.normal(0.0, 1.0, colours.shape) * INTRINSIC_SCATTER


def map_colours(model, redshift, colours) -> np.ndarray:
    """Colours ``(n, 4)`` (u-g, g-r, r-i, i-z) of simulated galaxies at ``redshift`` carried onto real SDSS.

    Each galaxy goes through the distribution transfers of the two redshift bins whose
    centres bracket it, and the two results are blended linearly in redshift.
    """
    z = np.asarray(redshift, float)
    colours = np.asarray(colours, float)
    centres = model["z_centres"]
    pos = np.clip(np.interp(z, centres, np.arange(centres.size)), 0, centres.size - 1 - 1e-9)
    lo = pos.astype(int)
    frac = pos - lo
    out = np.zeros_like(colours)
    for k in range(centres.size):
        for rows, weight in ((lo == k, 1.0 - frac), (lo + 1 == k, frac)):
            if np.any(rows):
                out[rows] += weight[rows, None] * _transfer(model, k, colours[rows])
    return out


def _neighbour_features(redshift, mags) -> np.ndarray:
    return np.column_stack([redshift, mags[:, 2], colours_of(mags)])


def magnitude_errors(rng, model, mags, redshift) -> np.ndarray:
    """Model-magnitude errors ``(n, 5)`` of galaxies with ugriz magnitudes ``mags`` (SDSS system).

    The median error at each band's magnitude, times the residual of one of the
    :data:`ERROR_NEIGHBOURS` real galaxies nearest in redshift, r and colours (drawn at
    random): the residuals of one galaxy's five bands go up and down together with its
    size and sky, and depend on its type and distance.

    Parameters
    ----------
    rng : numpy.random.Generator
        Picks the neighbour of each galaxy.
    model : dict
        The fitted model (:func:`load_model`).
    mags : numpy.ndarray
        ``(n, 5)`` ugriz magnitudes.
    redshift : numpy.ndarray
        ``(n,)`` redshifts.
    """
    mags = np.asarray(mags, float)
    centres, medians = model["err_mag_centres"], model["err_log_median"]
    mean = np.stack([np.interp(mags[:, b], centres[b], medians[b]) for b in range(5)], axis=1)
    tree = cKDTree(model["err_neighbour_features"] / model["err_neighbour_scale"])
    query = _neighbour_features(np.asarray(redshift, float), mags) / model["err_neighbour_scale"]
    _, idx = tree.query(query, k=ERROR_NEIGHBOURS)
    pick = idx[np.arange(len(mags)), rng.integers(0, ERROR_NEIGHBOURS, len(mags))]
    return 10.0 ** (mean + model["err_log_residuals"][pick])


def draw_ebv(rng, model, n) -> tuple[np.ndarray, np.ndarray]:
    """SFD map ``E(B-V)`` along real sight lines and the true ``E(B-V)`` (the map's 16 % error)."""
    quantiles = model["ebv_quantiles"]
    ebv_map = np.interp(rng.random(n), np.linspace(0.0, 1.0, quantiles.size), quantiles)
    ebv_true = np.clip(ebv_map * (1.0 + rng.normal(0.0, SFD_FRACTIONAL_ERROR, n)), 0.0, None)
    return ebv_map, ebv_true


def colours_of(mags):
    return np.stack([mags[:, k] - mags[:, k + 1] for k in range(4)], axis=1)


def _error_model(redshift, mags, errs) -> dict:
    logs = np.log10(errs)
    centres, medians, resid = [], [], np.empty_like(logs)
    for b in range(5):
        edges = np.arange(np.floor(mags[:, b].min() * 4) / 4, mags[:, b].max() + _MAG_BIN, _MAG_BIN)
        idx = np.digitize(mags[:, b], edges) - 1
        c, m = [], []
        for k in range(edges.size - 1):
            rows = idx == k
            if rows.sum() >= 20:
                c.append(float(np.median(mags[rows, b])))
                m.append(float(np.median(logs[rows, b])))
        centres.append(c)
        medians.append(m)
        resid[:, b] = logs[:, b] - np.interp(mags[:, b], c, m)
    # Pad the per-band curves to one length (repeat the last point) so they form arrays.
    width = max(len(c) for c in centres)
    centres = [c + [c[-1] + _MAG_BIN * (j + 1) for j in range(width - len(c))] for c in centres]
    medians = [m + [m[-1]] * (width - len(m)) for m in medians]
    features = _neighbour_features(redshift, mags)
    return {
        "err_mag_centres": centres,
        "err_log_median": medians,
        "err_neighbour_features": features.tolist(),
        "err_neighbour_scale": features.std(axis=0).tolist(),
        "err_log_residuals": resid.tolist(),
    }


def _colour_noise_cov(errs) -> np.ndarray:
    """Mean covariance ``(4, 4)`` of the measurement noise of adjacent colours from ugriz errors.

    Colour ``j`` is ``m_j - m_(j+1)``: its variance is ``e_j^2 + e_(j+1)^2`` and adjacent
    colours share a band, so they covary by ``-e_(j+1)^2``.
    """
    var = np.mean(np.asarray(errs, float) ** 2, axis=0)
    cov = np.diag(var[:4] + var[1:])
    off = -var[1:4]
    return cov + np.diag(off, 1) + np.diag(off, -1)


def _deconvolve(colours, noise_cov, max_fraction=0.5) -> np.ndarray:
    """Real colours pulled towards their mean so that their covariance loses ``noise_cov``.

    The linear map ``W = C^(1/2) V diag(s) V^T C^(-1/2)`` (``C`` the colours' covariance,
    ``V, 1 - s^2`` the eigenvectors and eigenvalues of ``C^(-1/2) N C^(-1/2)``) gives
    ``W C W^T = C - N``; no direction loses more than ``max_fraction`` of its variance.
    """
    from scipy.linalg import sqrtm  # fitting only

    mean = colours.mean(axis=0)
    cov = np.cov(colours.T)
    root = sqrtm(cov).real
    inv_root = np.linalg.inv(root)
    lam, vec = np.linalg.eigh(inv_root @ noise_cov @ inv_root)
    s = np.sqrt(np.clip(1.0 - lam, 1.0 - max_fraction, 1.0))
    w = root @ vec @ np.diag(s) @ vec.T @ inv_root
    return mean + (colours - mean) @ w.T


def fit_transfer(source, target, rng, n_steps=TRANSFER_STEPS, levels=_TRANSFER_LEVELS):
    """Iterative distribution transfer of ``source`` points onto ``target`` points (Pitie et al. 2005, 2007).

    Each step rotates both samples by a random orthonormal matrix (the last step by the
    identity, so that every colour's own distribution is matched exactly), quantile-maps
    each rotated axis of the (already transferred) source onto the target's, and rotates
    back. Returns the rotations ``(n_steps, d, d)`` and the source and target quantiles
    ``(n_steps, d, levels.size)`` that :func:`map_colours` replays.
    """
    # fitting only: scipy.stats costs a third of a second of every simulation's import
    from scipy.stats import special_ortho_group

    x = np.array(source, float, copy=True)
    d = x.shape[1]
    rotations = [special_ortho_group.rvs(d, random_state=rng) for _ in range(n_steps - 1)] + [np.eye(d)]
    q_from = np.empty((n_steps, d, levels.size))
    q_to = np.empty_like(q_from)
    for step, rot in enumerate(rotations):
        proj, proj_target = x @ rot.T, target @ rot.T
        q_from[step] = np.quantile(proj, levels, axis=0).T
        q_to[step] = np.quantile(proj_target, levels, axis=0).T
        for a in range(d):
            proj[:, a] = _axis_map(proj[:, a], q_from[step, a], q_to[step, a])
        x = proj @ rot
    return np.array(rotations), q_from, q_to


def fit(sim_z, sim_colours, real_z, real_mags, real_errs, ebv, *, seed=0, n_steps=TRANSFER_STEPS) -> dict:
    """Fit the model from simulated true colours (before the maps) and real observed magnitudes.

    Parameters
    ----------
    sim_z, sim_colours : numpy.ndarray
        Redshifts and noise-free colours ``(n, 4)`` (u-g, g-r, r-i, i-z, intrinsic scatter
        included) of simulated selected galaxies.
    real_z, real_mags, real_errs : numpy.ndarray
        Real redshifts, extinction-corrected ugriz model magnitudes and their errors.
    ebv : numpy.ndarray
        SFD ``E(B-V)`` of real sight lines.
    seed : int
        Seed of the random rotations of the colour transfer (the fit is deterministic).
    n_steps : int
        Steps of the colour transfer (:func:`fit_transfer`); 1 is the identity rotation
        alone, i.e. one quantile map per colour.
    """
    rng = np.random.default_rng(seed)
    edges = np.quantile(real_z, np.linspace(0.0, 1.0, N_Z_BINS + 1))
    centres = 0.5 * (edges[1:] + edges[:-1])
    sim_c, real_c = np.asarray(sim_colours, float), colours_of(real_mags)
    rotations, q_sim, q_real = [], [], []
    for k in range(N_Z_BINS):
        rs = (sim_z >= edges[k]) & (sim_z <= edges[k + 1])
        rr = (real_z >= edges[k]) & (real_z <= edges[k + 1])
        # The simulator adds measurement noise after the transfer: aim at the real colours
        # with the bin's mean noise covariance taken out.
        target = _deconvolve(real_c[rr], _colour_noise_cov(real_errs[rr]))
        rot, qs, qr = fit_transfer(sim_c[rs], target, rng, n_steps)
        rotations.append(rot)
        q_sim.append(qs)
        q_real.append(qr)
    return {
        "z_edges": edges.tolist(),
        "z_centres": centres.tolist(),
        "transfer_rotations": np.array(rotations).tolist(),
        "transfer_quantiles_sim": np.array(q_sim).tolist(),
        "transfer_quantiles_real": np.array(q_real).tolist(),
        **_error_model(real_z, real_mags, real_errs),
        "ebv_quantiles": np.quantile(ebv, _LEVELS).tolist(),
    }
