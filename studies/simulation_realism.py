"""Realism score of the simulated survey: can a classifier tell it from real SDSS photometry?

A classifier two-sample test (Lopez-Paz & Oquab 2017, "Revisiting classifier two-sample
tests", ICLR): equal numbers of simulated galaxies and real SDSS Main Galaxy Sample
galaxies (MLZ ``SDSS_MGS.train``: spectroscopic redshift, extinction-corrected model
magnitudes and their errors; read with :func:`astro_galflow.realdata.read_mgs_photoz`;
only the ``val`` and ``test`` rows of :func:`astro_galflow.training.data.split_of`, as
the simulator's colour and error maps are fitted to the ``train`` rows) are labelled 0/1 and a gradient-boosted tree classifier
(:class:`sklearn.ensemble.HistGradientBoostingClassifier`) is scored by stratified
5-fold cross-validated ROC AUC. AUC 0.5 means the two samples cannot be told apart;
1.0 means every galaxy can be sorted. Features: redshift, r, u-g, g-r, r-i, i-z and
log10 of the five magnitude errors. Both samples are cut alike: ``0 < z <= 0.3``,
``r <= 18``, finite magnitudes.

Also written: the two-sample KS statistic of each feature, the AUC of a classifier given
only the photometry (no errors), of one given only the five errors and of each feature alone (which features give the
simulation away), colour-colour and colour-redshift figures.

Run from the repository root::

    python studies/simulation_realism.py --out benchmarks/results/simulation_realism

writes ``<out>/metrics.json``, ``<out>/colour_colour.png``, ``<out>/colour_redshift.png``
and ``<out>/features.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the studies folder: its _paths module
from _paths import SHARED_SDSS  # noqa: E402

__all__ = ["FEATURES", "PHOTOMETRY", "ERRORS", "features_of", "real_features", "simulated_features", "realism", "main"]

BANDS = "ugriz"
PHOTOMETRY = ("redshift", "r", "u-g", "g-r", "r-i", "i-z")
ERRORS = tuple(f"log_err_{b}" for b in BANDS)
FEATURES = PHOTOMETRY + ERRORS
_MGS_FILE = Path("mgs_photoz") / "SDSS_MGS.train"


def features_of(redshift, mags, magerrs) -> dict[str, np.ndarray]:
    """The compared features from redshifts and ``(n, 5)`` ugriz magnitudes and errors, cut alike."""
    z = np.asarray(redshift, float)
    mags = np.asarray(mags, float)
    magerrs = np.asarray(magerrs, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            "redshift": z,
            "r": mags[:, 2],
            "u-g": mags[:, 0] - mags[:, 1],
            "g-r": mags[:, 1] - mags[:, 2],
            "r-i": mags[:, 2] - mags[:, 3],
            "i-z": mags[:, 3] - mags[:, 4],
            **{f"log_err_{b}": np.log10(magerrs[:, k]) for k, b in enumerate(BANDS)},
        }
    keep = (z > 0) & (z <= 0.3) & (mags[:, 2] <= 18.0)
    keep &= np.all([np.isfinite(v) for v in out.values()], axis=0)
    return {k: v[keep] for k, v in out.items()}


def real_features(data_dir) -> dict[str, np.ndarray]:
    """Features of the real MGS galaxies."""
    from astro_galflow.realdata import read_mgs_photoz
    from astro_galflow.training.data import split_of

    t = read_mgs_photoz(Path(data_dir) / _MGS_FILE)
    # The simulator's empirical maps are fitted to the train split: score on the others.
    t = t[split_of(t) != "train"]
    mags = np.stack([np.asarray(t[f"mag_{b}"].value) for b in BANDS], axis=1)
    errs = np.stack([np.asarray(t[f"magerr_{b}"].value) for b in BANDS], axis=1)
    return features_of(t["redshift"], mags, errs)


def simulated_features(n: int, seed: int, *, map_colours: bool = True) -> dict[str, np.ndarray]:
    """Features of ``n`` simulated galaxies (no images).

    ``map_colours=False`` draws the bare-template photometry with the physical error
    model (:func:`astro_galflow.simulation.population.draw_population`), which is the
    simulator of the project before issue 16, draw for draw.
    """
    from astro_galflow.simulation import photometry
    from astro_galflow.simulation.population import draw_population

    g = draw_population(n, np.random.default_rng(seed), map_colours=map_colours)
    offsets = np.array([photometry.SDSS_MINUS_AB[b] for b in BANDS])
    mags = photometry.nmgy_to_mag(g["flux_obs"]) + offsets
    errs = photometry.mag_error(g["flux_obs"], g["flux_err"])
    return features_of(g["redshift"], mags, errs)


def _cv_auc(x, y, seed, folds=5, max_iter=200) -> tuple[float, float]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    aucs = []
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        clf = HistGradientBoostingClassifier(max_iter=max_iter, learning_rate=0.1, random_state=seed)
        clf.fit(x[train], y[train])
        aucs.append(roc_auc_score(y[test], clf.predict_proba(x[test])[:, 1]))
    return float(np.mean(aucs)), float(np.std(aucs))


def realism(sim: dict, real: dict, *, seed: int = 0, per_feature: bool = True, max_iter: int = 200) -> dict:
    """Classifier two-sample test and per-feature KS of two feature dicts.

    ``max_iter`` is the number of boosting iterations (200 in the reported scores).

    The larger sample is subsampled (without replacement) to the size of the smaller.
    Returns AUCs (mean and spread over the folds) and KS statistics, rounded.
    """
    from scipy.stats import ks_2samp

    rng = np.random.default_rng(seed)
    n = min(len(sim["redshift"]), len(real["redshift"]))
    pick_s = rng.choice(len(sim["redshift"]), n, replace=False)
    pick_r = rng.choice(len(real["redshift"]), n, replace=False)

    def matrix(names):
        xs = np.stack([sim[k][pick_s] for k in names], axis=1)
        xr = np.stack([real[k][pick_r] for k in names], axis=1)
        return np.concatenate([xs, xr]), np.concatenate([np.zeros(n), np.ones(n)])

    out = {"n_each": int(n)}
    auc, spread = _cv_auc(*matrix(FEATURES), seed, max_iter=max_iter)
    out["auc"] = round(auc, 4)
    out["auc_fold_std"] = round(spread, 4)
    auc, spread = _cv_auc(*matrix(PHOTOMETRY), seed, max_iter=max_iter)
    out["auc_photometry_only"] = round(auc, 4)
    auc, spread = _cv_auc(*matrix(ERRORS), seed, max_iter=max_iter)
    out["auc_errors_only"] = round(auc, 4)
    out["ks"] = {k: round(float(ks_2samp(sim[k], real[k]).statistic), 4) for k in FEATURES}
    out["median_sim"] = {k: round(float(np.median(sim[k])), 4) for k in FEATURES}
    out["median_real"] = {k: round(float(np.median(real[k])), 4) for k in FEATURES}
    if per_feature:
        out["auc_single_feature"] = {k: round(_cv_auc(*matrix((k,)), seed, max_iter=max_iter)[0], 4) for k in FEATURES}
    return out


def _figures(sim, real, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def panel(ax, xk, yk):
        for data, colour, label in ((real, "k", "SDSS MGS"), (sim, "C1", "simulated")):
            x, y = data[xk], data[yk]
            lo = np.percentile(np.concatenate([sim[xk], real[xk]]), [0.5, 99.5])
            hi = np.percentile(np.concatenate([sim[yk], real[yk]]), [0.5, 99.5])
            h, xe, ye = np.histogram2d(x, y, bins=40, range=[lo, hi], density=True)
            levels = np.unique(np.quantile(h[h > 0], [0.5, 0.8, 0.95]))
            if levels.size >= 2:
                ax.contour(0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1]), h.T, levels=levels, colors=colour)
            else:  # too few galaxies for contours
                ax.scatter(x, y, s=4, color=colour)
            ax.plot([], [], color=colour, label=label)
        ax.set_xlabel(xk)
        ax.set_ylabel(yk)

    written = []
    fig, axes = plt.subplots(1, 3, figsize=(12, 4), constrained_layout=True)
    for ax, (xk, yk) in zip(axes, (("g-r", "u-g"), ("g-r", "r-i"), ("r-i", "i-z"))):
        panel(ax, xk, yk)
    axes[0].legend(frameon=False)
    fig.savefig(out / "colour_colour.png", dpi=100)
    plt.close(fig)
    written.append("colour_colour.png")
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8), constrained_layout=True)
    for ax, yk in zip(axes, PHOTOMETRY[2:]):
        panel(ax, "redshift", yk)
    axes[0].legend(frameon=False)
    fig.savefig(out / "colour_redshift.png", dpi=100)
    plt.close(fig)
    written.append("colour_redshift.png")
    fig, axes = plt.subplots(2, 6, figsize=(16, 5.5), constrained_layout=True)
    for ax, k in zip(axes.flat, FEATURES + ("r",)):
        lo, hi = np.percentile(np.concatenate([sim[k], real[k]]), [0.5, 99.5])
        bins = np.linspace(lo, hi, 40)
        ax.hist(real[k], bins=bins, density=True, histtype="stepfilled", alpha=0.4, color="k", label="SDSS MGS")
        ax.hist(sim[k], bins=bins, density=True, histtype="step", lw=1.5, color="C1", label="simulated")
        ax.set_xlabel(k)
    axes.flat[-1].set_visible(False)
    axes.flat[0].legend(frameon=False)
    fig.savefig(out / "features.png", dpi=100)
    plt.close(fig)
    written.append("features.png")
    return written


def main(argv=None) -> int:
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python studies/simulation_realism.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--data-dir", type=Path, default=SHARED_SDSS, help="SDSS extracts (default: %(default)s)")
    parser.add_argument("-n", type=int, default=8000, help="simulated galaxies drawn (default 8000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-iter", type=int, default=200, help="boosting iterations (default 200)")
    parser.add_argument("--no-figures", action="store_true")
    parser.add_argument(
        "--bare-templates", action="store_true", help="score the template-only simulator (the 'before')"
    )
    args = parser.parse_args(argv)

    start = time.perf_counter()
    real = real_features(args.data_dir)
    sim = simulated_features(args.n, args.seed, map_colours=not args.bare_templates)
    result = {
        "command": "python studies/simulation_realism.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "real_file": str(_MGS_FILE) + " (val + test split rows)",
        "simulator": "bare templates, physical errors (before)" if args.bare_templates else "default",
        "features": list(FEATURES),
        "classifier": "HistGradientBoostingClassifier(max_iter=200), stratified 5-fold ROC AUC, equal sample sizes",
        **realism(sim, real, seed=args.seed, max_iter=args.max_iter),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.no_figures:
        result["figures"] = _figures(sim, real, args.out)
    result["seconds"] = round(time.perf_counter() - start, 1)
    (args.out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"AUC {result['auc']:.3f} (photometry only {result['auc_photometry_only']:.3f}, errors only "
        f"{result['auc_errors_only']:.3f}), n = {result['n_each']} each"
    )
    for k in FEATURES:
        single = result.get("auc_single_feature", {}).get(k, float("nan"))
        print(f"  {k:10s} KS {result['ks'][k]:.3f}  AUC alone {single:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
