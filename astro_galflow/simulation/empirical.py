"""The simulated photometry's link to real SDSS photometry: colour maps, error model, Galactic dust.

Three pieces, fitted to real SDSS files by :func:`fit` (the command below) and shipped as
``astro_galflow/data/sdss_photometry_model.json``, so the simulator needs no real data:

* **Colour maps.** The four CWW templates, given an intrinsic scatter about their
  one-dimensional locus (:data:`INTRINSIC_SCATTER`), (:mod:`~astro_galflow.simulation.sed`) span
  too narrow a range of u - g and i - z and put the red sequence a few hundredths of a
  magnitude off the real one. In each of ``N_Z_BINS`` redshift bins (equal-count bins
  of the real sample) each adjacent colour of the simulated galaxies is moved by
  quantile mapping onto the real colour distribution (``c -> Q_real(F_sim(c))``, the
  empirical distribution-matching of e.g. Panofsky & Brier 1968; used for simulated
  photometry by Hearin et al. 2020, MNRAS 495, 5040), interpolated linearly in redshift
  between bin centres. The map is monotonic in colour, so the ordering of galaxies by
  colour, hence by template type, specific SFR and mass-to-light ratio, is kept: the
  physical labels stay those the published relations give. The real quantiles are
  narrowed about their median by the real measurement noise (the simulator adds its own
  noise afterwards). The r band is untouched, so the selection and masses are too.
* **Error model.** The median ``log10`` model-magnitude error as a function of magnitude
  in each band, binned (0.25 mag) on the real files, with the 5 x 5 covariance of the
  residuals about it (errors of one galaxy go up and down together with its size and
  sky), drawn as a multivariate normal.
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
_LEVELS = np.linspace(0.0, 1.0, 101)
_MAG_BIN = 0.25


def model_arrays(fitted: dict) -> dict:
    """A fitted model (lists, as :func:`fit` returns and the JSON file holds) as numpy arrays."""
    return {k: (np.asarray(v, float) if isinstance(v, list) else v) for k, v in fitted.items()}


@lru_cache(maxsize=1)
def load_model(path=MODEL_FILE) -> dict:
    """The shipped fitted model as numpy arrays."""
    return model_arrays(json.loads(Path(path).read_text()))


def _colour_shift_at_bin(model, k, colour_index, values):
    q_sim = model["colour_quantiles_sim"][colour_index, k]
    q_real = model["colour_quantiles_real"][colour_index, k]
    # Beyond the simulated range the end shift carries on (no extrapolated slope).
    return np.interp(values, q_sim, q_real) - np.clip(values, q_sim[0], q_sim[-1])


def scatter_colours(rng, colours) -> np.ndarray:
    """Template colours ``(n, 4)`` with the intrinsic scatter :data:`INTRINSIC_SCATTER` added."""
    colours = np.asarray(colours, float)
    return colours + rng.normal(0.0, 1.0, colours.shape) * INTRINSIC_SCATTER


def map_colours(model, redshift, colours) -> np.ndarray:
    """Quantile-mapped colours ``(n, 4)`` (u-g, g-r, r-i, i-z) of simulated galaxies at ``redshift``."""
    z = np.asarray(redshift, float)
    centres = model["z_centres"]
    pos = np.clip(np.interp(z, centres, np.arange(centres.size)), 0, centres.size - 1 - 1e-9)
    lo = pos.astype(int)
    frac = pos - lo
    out = np.array(colours, float, copy=True)
    for c in range(len(COLOURS)):
        shift = np.zeros(z.size)
        for k in range(centres.size):
            for rows, weight in ((lo == k, 1.0 - frac), (lo + 1 == k, frac)):
                if np.any(rows):
                    shift[rows] += weight[rows] * _colour_shift_at_bin(model, k, c, out[rows, c])
        out[:, c] += shift
    return out


def magnitude_errors(rng, model, mags) -> np.ndarray:
    """Model-magnitude errors ``(n, 5)`` of galaxies with ugriz magnitudes ``mags`` (SDSS system)."""
    mags = np.asarray(mags, float)
    centres, medians = model["err_mag_centres"], model["err_log_median"]
    mean = np.stack([np.interp(mags[:, b], centres[b], medians[b]) for b in range(5)], axis=1)
    resid = rng.multivariate_normal(np.zeros(5), model["err_log_cov"], size=len(mags))
    return 10.0 ** (mean + resid)


def draw_ebv(rng, model, n) -> tuple[np.ndarray, np.ndarray]:
    """SFD map ``E(B-V)`` along real sight lines and the true ``E(B-V)`` (the map's 16 % error)."""
    quantiles = model["ebv_quantiles"]
    ebv_map = np.interp(rng.random(n), np.linspace(0.0, 1.0, quantiles.size), quantiles)
    ebv_true = np.clip(ebv_map * (1.0 + rng.normal(0.0, SFD_FRACTIONAL_ERROR, n)), 0.0, None)
    return ebv_map, ebv_true


def colours_of(mags):
    return np.stack([mags[:, k] - mags[:, k + 1] for k in range(4)], axis=1)


def _error_model(mags, errs) -> dict:
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
    return {"err_mag_centres": centres, "err_log_median": medians, "err_log_cov": np.cov(resid.T).tolist()}


def fit(sim_z, sim_colours, real_z, real_mags, real_errs, ebv) -> dict:
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
    """
    edges = np.quantile(real_z, np.linspace(0.0, 1.0, N_Z_BINS + 1))
    centres = 0.5 * (edges[1:] + edges[:-1])
    sim_c, real_c = np.asarray(sim_colours, float), colours_of(real_mags)
    colour_var = real_errs[:, :4] ** 2 + real_errs[:, 1:] ** 2
    q_sim = np.empty((4, N_Z_BINS, _LEVELS.size))
    q_real = np.empty_like(q_sim)
    for k in range(N_Z_BINS):
        rs = (sim_z >= edges[k]) & (sim_z <= edges[k + 1])
        rr = (real_z >= edges[k]) & (real_z <= edges[k + 1])
        for c in range(4):
            q_sim[c, k] = np.quantile(sim_c[rs, c], _LEVELS)
            q = np.quantile(real_c[rr, c], _LEVELS)
            med = np.median(real_c[rr, c])
            iqr_var = ((q[75] - q[25]) / 1.349) ** 2
            # Remove the measurement noise the simulator will add back (at most half the spread).
            shrink = np.sqrt(max(1.0 - np.median(colour_var[rr, c]) / iqr_var, 0.5))
            q_real[c, k] = med + (q - med) * shrink
    return {
        "z_edges": edges.tolist(),
        "z_centres": centres.tolist(),
        "colour_quantiles_sim": q_sim.tolist(),
        "colour_quantiles_real": q_real.tolist(),
        **_error_model(real_mags, real_errs),
        "ebv_quantiles": np.quantile(ebv, _LEVELS).tolist(),
    }
