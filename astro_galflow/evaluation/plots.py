"""Evaluation figures (the paper's Figures 1-5, plus calibration).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot, so it
works headless and leaves no global state; :func:`astro_galflow.evaluation.report.write_report`
saves them. Inputs are model-space arrays as in :class:`~astro_galflow.evaluation.evaluate.EvaluationResult`.
"""

from __future__ import annotations

import warnings

import numpy as np

from astro_galflow.evaluation import metrics as M
from astro_galflow.exceptions import InputError

__all__ = [
    "predicted_vs_true_figure",
    "corner_figure",
    "pit_figure",
    "latent_dims_most_tied",
    "latent_traversal_figure",
    "umap_embedding",
    "umap_figure",
]


def _label(parameter: str) -> str:
    from astro_galflow.params import PARAMETERS

    spec = PARAMETERS.get(parameter)
    if spec is None:
        return parameter
    return f"log1p {spec.label}" if spec.transform == "log1p" else spec.label


def _grid(n: int, size: float = 3.2):
    from matplotlib.figure import Figure

    ncol = min(n, 3)
    nrow = int(np.ceil(n / ncol))
    fig = Figure(figsize=(size * ncol, size * nrow), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def predicted_vs_true_figure(truth: dict, samples: dict, baseline_predictions: dict | None = None):
    """Posterior mean (with 16-84 % bars on a subset) against truth, one panel per parameter.

    The best baseline by R² is overplotted in grey where ``baseline_predictions`` is given.
    """
    if not truth:
        raise InputError("no parameters to plot")
    fig, axes = _grid(len(truth))
    for ax, (p, t) in zip(axes, truth.items()):
        s = samples[p]
        mean = s.mean(axis=1)
        lo, hi = np.percentile(s, [16, 84], axis=1)
        show = np.random.default_rng(0).permutation(t.size)[:300]
        for name, pred in (baseline_predictions or {}).get(p, {}).items():
            ax.scatter(t, pred, s=2, color="0.7", alpha=0.3, label=f"{name} (R²={M.r2_score(t, pred):.3f})")
        ax.errorbar(
            t[show],
            mean[show],
            yerr=[mean[show] - lo[show], hi[show] - mean[show]],
            fmt="none",
            ecolor="C0",
            alpha=0.3,
            lw=0.6,
        )
        ax.scatter(t, mean, s=3, color="C0", label=f"flow mean (R²={M.r2_score(t, mean):.3f})")
        edges = [min(t.min(), mean.min()), max(t.max(), mean.max())]
        ax.plot(edges, edges, color="k", lw=0.8)
        ax.set_xlabel(f"true {_label(p)}")
        ax.set_ylabel(f"predicted {_label(p)}")
        ax.legend(fontsize=6, markerscale=3, loc="upper left")
    return fig


def corner_figure(samples: dict, truths: dict | None = None):
    """Corner plot of one galaxy's joint posterior (``samples``: parameter -> ``(S,)``), with ``corner``."""
    import corner
    from matplotlib.figure import Figure

    names = list(samples)
    data = np.stack([np.asarray(samples[p], dtype=np.float64) for p in names], axis=1)
    if len(names) == 1:
        # corner's truth overplotting indexes a 2-D axes grid, which a 1-D posterior lacks.
        fig = Figure(figsize=(4.0, 3.2), layout="constrained")
        ax = fig.subplots()
        ax.hist(data[:, 0], bins=40, histtype="step", density=True, color="k")
        for q in np.percentile(data[:, 0], [16, 50, 84]):
            ax.axvline(q, ls="--", color="0.5", lw=0.8)
        if truths is not None and np.isfinite(truths.get(names[0], np.nan)):
            ax.axvline(truths[names[0]], color="C0", label="truth")
            ax.legend(fontsize=7)
        ax.set_xlabel(_label(names[0]))
        return fig
    fig = Figure(figsize=(2.2 * len(names) + 1, 2.2 * len(names) + 1))
    fig.subplots(len(names), len(names), squeeze=False)
    truth_values = None if truths is None else [truths.get(p, np.nan) for p in names]
    with warnings.catch_warnings():
        # corner warns about too few points for contours on tiny test posteriors.
        warnings.simplefilter("ignore", UserWarning)
        corner.corner(
            data,
            labels=[_label(p) for p in names],
            truths=truth_values,
            fig=fig,
            quantiles=[0.16, 0.5, 0.84],
            show_titles=True,
            title_fmt=".3f",
        )
    return fig


def pit_figure(truth: dict, samples: dict, bins: int = 20):
    """PIT histograms with the uniform line, the KS statistic and 68/95 % coverage per parameter."""
    if not truth:
        raise InputError("no parameters to plot")
    fig, axes = _grid(len(truth))
    for ax, (p, t) in zip(axes, truth.items()):
        pit = M.pit_values(t, samples[p])
        density, edges = M.pit_histogram(pit, bins=bins)
        ax.stairs(density, edges, fill=True, alpha=0.6)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_title(
            f"{_label(p)}: KS={M.pit_ks_statistic(pit):.3f}, "
            f"cov68={M.interval_coverage(t, samples[p], 0.68):.3f}, cov95={M.interval_coverage(t, samples[p], 0.95):.3f}",
            fontsize=7,
        )
        ax.set_xlabel("PIT")
        ax.set_ylabel("density")
    return fig


def latent_dims_most_tied(latents, targets: dict) -> dict[str, int]:
    """Index of the latent dimension with the largest absolute Spearman ρ with each target.

    Parameters
    ----------
    latents : array-like, shape (n, L)
        Latent means (VAE μ).
    targets : dict of str to array-like (n,)
        E.g. ``{"redshift": z, "log_sfr": sfr}``.
    """
    from scipy.stats import spearmanr

    latents = np.asarray(latents, dtype=np.float64)
    out = {}
    for name, y in targets.items():
        y = np.asarray(y, dtype=np.float64)
        ok = np.isfinite(y) & np.isfinite(latents).all(axis=1)
        rho = [abs(spearmanr(latents[ok, k], y[ok]).statistic) for k in range(latents.shape[1])]
        out[name] = int(np.nanargmax(rho))
    return out


def _rgb(image: np.ndarray) -> np.ndarray:
    # gri -> RGB (i red, r green, g blue) with an asinh stretch (Lupton et al. 2004, PASP 116, 133).
    rgb = np.arcsinh(np.clip(np.asarray(image)[::-1].transpose(1, 2, 0), 0, None) * 10.0)
    top = rgb.max()
    return rgb / top if top > 0 else rgb


def latent_traversal_figure(decoder, latent, dims: dict, *, deltas=(-3.0, -1.5, 0.0, 1.5, 3.0)):
    """Perturbational decoding: images decoded while one latent dimension is shifted.

    Parameters
    ----------
    decoder : callable
        ``(m, L)`` float32 latents -> ``(m, C, H, W)`` images (e.g. the VAE decoder wrapped
        to take and return numpy arrays).
    latent : array-like, shape (L,)
        Latent vector of the reference galaxy.
    dims : dict of str to int
        Row label (e.g. ``"redshift"``) -> latent dimension to shift
        (see :func:`latent_dims_most_tied`).
    deltas : sequence of float
        Shifts in units of the prior's σ (1).
    """
    from matplotlib.figure import Figure

    latent = np.asarray(latent, dtype=np.float32)
    if latent.ndim != 1:
        raise InputError(f"latent must be one vector (L,), got shape {latent.shape}")
    fig = Figure(figsize=(1.6 * len(deltas), 1.7 * len(dims)), layout="constrained")
    axes = fig.subplots(len(dims), len(deltas), squeeze=False)
    for row, (name, dim) in enumerate(dims.items()):
        batch = np.repeat(latent[None, :], len(deltas), axis=0)
        batch[:, dim] += np.asarray(deltas, dtype=np.float32)
        images = np.asarray(decoder(batch))
        if images.ndim != 4 or images.shape[0] != len(deltas):
            raise InputError(f"decoder returned shape {images.shape}; expected ({len(deltas)}, C, H, W)")
        for col, ax in enumerate(axes[row]):
            ax.imshow(_rgb(images[col]), origin="lower")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"z{dim} {deltas[col]:+.1f}σ", fontsize=7)
        axes[row, 0].set_ylabel(f"{name}\n(latent {dim})", fontsize=8)
    return fig


def umap_embedding(features, *, seed: int = 0, n_neighbors: int = 15) -> np.ndarray:
    """2-D UMAP embedding (McInnes et al. 2018, arXiv:1802.03426) of standardised ``features``."""
    with warnings.catch_warnings():
        # umap-learn warns at import that TensorFlow (ParametricUMAP) is absent; we do not use it.
        warnings.simplefilter("ignore", ImportWarning)
        import umap
    x = np.asarray(features, dtype=np.float64)
    x = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    return umap.UMAP(n_neighbors=n_neighbors, random_state=seed, n_jobs=1).fit_transform(x)


def umap_figure(feature_sets: dict, color, *, color_label: str = "", embed=umap_embedding):
    """Side-by-side 2-D embeddings of several feature sets coloured by one quantity.

    Parameters
    ----------
    feature_sets : dict of str to array-like (n, F)
        E.g. ``{"latents": mu, "latents + photometry": features}``.
    color : array-like, shape (n,)
    embed : callable
        ``features -> (n, 2)``; UMAP by default.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.0 * len(feature_sets), 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(feature_sets)))
    for ax, (name, feats) in zip(axes, feature_sets.items()):
        xy = np.asarray(embed(feats))
        art = ax.scatter(xy[:, 0], xy[:, 1], c=color, s=3, cmap="viridis")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(art, ax=list(axes), label=color_label)
    return fig
