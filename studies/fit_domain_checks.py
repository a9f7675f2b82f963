"""Fit a model's training-domain check (:mod:`astro_galflow.domain`) and store it in its card.

Retrofits a trained model without retraining its heads: the model's training features are
rebuilt from its training catalog, a Gaussian mixture is fitted on the ``train`` split and
its threshold set at a 1 % false-positive rate on the ``val`` split (the split rule of
:func:`astro_galflow.training.data.split_of`, the one training used). Run from the
repository root::

    # simulated models: their training survey (seed 2026, 20,000 galaxies, as
    # studies/ship_sim_models.py simulates it; sim-default needs its cutouts too)
    galflow simulate /tmp/sim/train.fits -n 20000 --seed 2026
    python studies/fit_domain_checks.py --model astro_galflow/data/models/sim-photometry \\
        --catalog /tmp/sim/train.fits --compare
    python studies/fit_domain_checks.py --model astro_galflow/data/models/sim-default \\
        --catalog /tmp/sim/train.fits --compare
    # the real photo-z model: the MGS rows of the SDSS extracts it was trained on
    python studies/fit_domain_checks.py --model astro_galflow/data/models/sdss-photoz --photoz --compare

``--compare`` also measures how well the mixture and a k-nearest-neighbour distance
separate held-out training-domain rows (the ``test`` split, never used) from real SDSS
galaxies and from synthetic off-manifold rows (each colour of a held-out row replaced by
that colour of another random held-out row, magnitudes rebuilt from ``r``: every colour
inside its range, the combination not), and prints a JSON report (``--report`` writes it).
``--evaluate`` reports, on the real galaxies, the share flagged and the redshift
R²/outlier rate/coverage on all and on unflagged rows.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import astropy.units as u
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the studies folder: its _paths module
from _paths import SHARED_SDSS  # noqa: E402

__all__ = ["main", "training_features", "off_manifold", "separation"]

#: The issue-15 probe: each colour inside sim-photometry's training range, the combination not.
PROBE_COLOURS = {"u-g": 0.75, "g-r": 1.45, "r-i": 0.12, "i-z": 0.46, "mag_r": 17.0}
#: Neighbours of the kNN score compared with the mixture.
KNN_K = 10
#: |dz| / (1 + z) above which a redshift is an outlier (the usual photo-z convention).
OUTLIER_DZ = 0.15


def _features(model, table, cutouts=None, index=None, chunk: int = 512) -> np.ndarray:
    parts = []
    for start in range(0, len(table), chunk):
        rows = np.arange(start, min(start + chunk, len(table)))
        block = None
        if cutouts is not None:
            order = np.asarray(index)[rows]
            sort = np.argsort(order)
            block = np.asarray(cutouts[order[sort]])[np.argsort(sort)]
        parts.append(model.features(table[rows], block))
    return np.concatenate(parts, axis=0)


def _photoz_table(data_dir, sources):
    from astro_galflow.realdata.photoz_set import load_photoz_set

    return load_photoz_set(data_dir, sources=sources)


def training_features(model, args):
    """``(table, cutouts, index, split)`` of the model's training catalog."""
    from astro_galflow.evaluation.evaluate import read_labelled_catalog
    from astro_galflow.training.data import split_of

    if args.photoz:
        table = _photoz_table(args.data_dir, ("mgs",))
        return table, None, None, np.asarray(table["split"])
    table, cutouts, index = read_labelled_catalog(args.catalog, model)
    return table, cutouts, index, split_of(table)


def off_manifold(table, bands, *, seed: int = 0):
    """Copy of ``table`` with each adjacent colour taken from another random row, magnitudes rebuilt from r."""
    from astro_galflow.inputs import column_values

    rng = np.random.default_rng(seed)
    mags = np.stack([column_values(table, f"mag_{b}", u.mag) for b in bands], axis=1)
    colours = mags[:, :-1] - mags[:, 1:]
    shuffled = np.stack([colours[rng.permutation(len(table)), k] for k in range(colours.shape[1])], axis=1)
    r = list(bands).index("r")
    rebuilt = np.empty_like(mags)
    rebuilt[:, r] = mags[:, r]
    for k in range(r - 1, -1, -1):
        rebuilt[:, k] = rebuilt[:, k + 1] + shuffled[:, k]
    for k in range(r + 1, len(bands)):
        rebuilt[:, k] = rebuilt[:, k - 1] - shuffled[:, k - 1]
    out = table.copy()
    for k, b in enumerate(bands):
        out[f"mag_{b}"] = rebuilt[:, k] * u.mag
    return out


def _knn_scores(train, queries: dict, heldout):
    from sklearn.neighbors import NearestNeighbors

    center, scale = train.mean(axis=0), train.std(axis=0)
    knn = NearestNeighbors(n_neighbors=KNN_K).fit((train - center) / scale)

    def score(x):
        x = x[np.isfinite(x).all(axis=1)]
        return knn.kneighbors((x - center) / scale)[0].mean(axis=1)

    return score(heldout), {name: score(x) for name, x in queries.items()}


def separation(held_scores, query_scores: dict) -> dict:
    """Threshold at the held-out 99th percentile; share above it and AUROC per query set."""
    from sklearn.metrics import roc_auc_score

    threshold = np.quantile(held_scores, 0.99)
    report = {}
    for name, scores in query_scores.items():
        labels = np.r_[np.zeros(len(held_scores)), np.ones(len(scores))]
        report[name] = {
            "n": int(len(scores)),
            "flagged": float(np.mean(scores > threshold)),
            "auroc": float(roc_auc_score(labels, np.r_[held_scores, scores])),
        }
    return report


def _compare(model, check, train_x, table, cutouts, index, split, args) -> dict:
    """Mixture vs kNN on test-split rows, real SDSS galaxies and off-manifold rows."""
    test = np.flatnonzero(split == "test")
    val = np.flatnonzero(split == "val")
    queries = {}
    test_table = table[test]
    test_cut = None if cutouts is None else np.asarray(index)[test]
    queries["held-out (test split)"] = _features(model, test_table, cutouts, test_cut)
    queries["off-manifold colours"] = _features(
        model, off_manifold(test_table, model.photometry_bands, seed=args.seed), cutouts, test_cut
    )
    if not args.photoz and not model.requires_cutouts:
        real = _photoz_table(args.data_dir, ("mgs", "dr14", "hw"))
        queries["real SDSS (photo-z set)"] = _features(model, real)
    elif args.photoz:
        real = _photoz_table(args.data_dir, ("dr14", "hw"))
        queries["other real SDSS (dr14 + hw files)"] = _features(model, real)
    held = _features(model, table[val], cutouts, None if cutouts is None else np.asarray(index)[val])
    mixture = separation(
        check.score(held[np.isfinite(held).all(axis=1)]), {k: _finite(check.score(v)) for k, v in queries.items()}
    )
    knn_held, knn_q = _knn_scores(train_x, queries, held[np.isfinite(held).all(axis=1)])
    probe = None
    if "u" in model.photometry_bands and not model.requires_cutouts:
        probe = _probe(model, check)
    return {"gaussian_mixture": mixture, f"knn_{KNN_K}": separation(knn_held, knn_q), "issue_probe_ood_score": probe}


def _finite(x):
    return x[np.isfinite(x)]


def _probe(model, check) -> float:
    from astropy.table import QTable

    c = PROBE_COLOURS
    mags = {"r": c["mag_r"]}
    mags["g"] = mags["r"] + c["g-r"]
    mags["u"] = mags["g"] + c["u-g"]
    mags["i"] = mags["r"] - c["r-i"]
    mags["z"] = mags["i"] - c["i-z"]
    row = QTable({f"mag_{b}": [mags[b]] * u.mag for b in model.photometry_bands})
    for b in model.photometry_bands:
        row[f"magerr_{b}"] = [0.02] * u.mag
    return float(check.ood_score(model.features(row))[0])


def _redshift_metrics(truth, samples) -> dict:
    median = np.median(samples, axis=1)
    lo, hi = np.percentile(samples, [16, 84], axis=1)
    resid = median - truth
    return {
        "n": int(len(truth)),
        "r2": float(1 - np.sum(resid**2) / np.sum((truth - truth.mean()) ** 2)),
        "outlier_rate": float(np.mean(np.abs(resid) / (1 + truth) > OUTLIER_DZ)),
        "coverage_68": float(np.mean((truth >= lo) & (truth <= hi))),
        "median_width_68": float(np.median(hi - lo)),
    }


def _evaluate(model, args) -> dict:
    """Share flagged and redshift metrics on the real galaxies, all rows and unflagged rows."""
    from astro_galflow.flags import PosteriorFlag

    if args.photoz:
        data = _photoz_table(args.data_dir, ("mgs", "dr14", "hw"))
        sets = {
            "held-out MGS test split": data[(data["origin"] == "mgs") & (data["split"] == "test")],
            "dr14 + hw files (never trained on)": data[data["origin"] != "mgs"],
        }
    else:
        sets = {"real SDSS photo-z set": _photoz_table(args.data_dir, ("mgs", "dr14", "hw"))}
    report = {}
    for name, table in sets.items():
        post = model.posterior_samples(table, n_samples=args.n_samples, seed=args.seed)
        z = post.samples["redshift"].astype(np.float64)
        truth = np.asarray(table["redshift"], dtype=np.float64)
        flagged = (post.flags & int(PosteriorFlag.OUTSIDE_TRAINING_DOMAIN)) > 0
        box = model.outside_domain_features(model.features(table)).any(axis=1)
        report[name] = {
            "flagged": float(np.mean(flagged)),
            "flagged_by_min_max_box": float(np.mean(box)),
            "support_flagged": float(np.mean((post.flags & int(PosteriorFlag.OUTSIDE_PHYSICAL_SUPPORT)) > 0)),
            "all": _redshift_metrics(truth, z),
            "unflagged": _redshift_metrics(truth[~flagged], z[~flagged]),
            "flagged_rows": _redshift_metrics(truth[flagged], z[flagged]) if flagged.sum() > 1 else None,
        }
        if args.photoz and "magerr_r" in table.colnames and not np.isfinite(np.asarray(table["magerr_r"])).any():
            # rows without errors get typical ones; how much of the flag is due to that?
            report[name]["flagged_with_mgs_median_errors"] = _flagged_with_median_errors(model, table, args)
    return report


def _flagged_with_median_errors(model, table, args) -> float:
    """Share flagged when rows without errors get the MGS training rows' median errors."""
    mgs = _photoz_table(args.data_dir, ("mgs",))
    table = table.copy()
    for band in model.photometry_bands:
        table[f"magerr_{band}"] = np.full(len(table), np.median(np.asarray(mgs[f"magerr_{band}"]))) * u.mag
    return float(np.mean(model.outside_domain(model.features(table))))


def main(argv=None) -> int:
    """Fit (and optionally compare/evaluate) the domain check; returns an exit code."""
    parser = argparse.ArgumentParser(prog="python studies/fit_domain_checks.py", description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="model directory whose card gets the domain entry")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--catalog", type=Path, help="the model's training catalog (e.g. the simulated train.fits)")
    source.add_argument("--photoz", action="store_true", help="train on the MGS rows of the SDSS photo-z set")
    parser.add_argument("--data-dir", type=Path, default=SHARED_SDSS, help="SDSS extracts (default: %(default)s)")
    parser.add_argument("--max-rows", type=int, default=None, help="fit on the first N training-split rows only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare", action="store_true", help="measure mixture vs kNN separation")
    parser.add_argument("--evaluate", action="store_true", help="flagged share and redshift metrics on real SDSS")
    parser.add_argument("-n", "--n-samples", type=int, default=300)
    parser.add_argument("--report", type=Path, help="write the JSON report here")
    parser.add_argument("--dry-run", action="store_true", help="do not write the card")
    args = parser.parse_args(argv)

    from astro_galflow.domain import fit_domain_check
    from astro_galflow.model_card import write_card
    from astro_galflow.models import load_model

    model = load_model(args.model)
    table, cutouts, index, split = training_features(model, args)
    train_rows = np.flatnonzero(split == "train")[: args.max_rows]
    val_rows = np.flatnonzero(split == "val")
    pick = (lambda rows: None) if cutouts is None else (lambda rows: np.asarray(index)[rows])
    train_x = _features(model, table[train_rows], cutouts, pick(train_rows))
    val_x = _features(model, table[val_rows], cutouts, pick(val_rows))
    command = " ".join(["python studies/fit_domain_checks.py", *(argv if argv is not None else sys.argv[1:])])
    check = fit_domain_check(
        train_x,
        val_x,
        seed=args.seed,
        fitted_on={
            "catalog": "SDSS photo-z set (mgs)" if args.photoz else str(args.catalog),
            "split": "train (fit), val (threshold)",
            "command": command,
        },
    )
    report = {"model": str(args.model), "fitted_on": check.fitted_on, "threshold": check.threshold}
    if not args.dry_run:
        card = dict(model.card)
        card["domain"] = check.to_card()
        write_card(args.model, card)
        model = load_model(args.model)  # validates the new entry and uses it below
    else:
        model.domain = check
    if args.compare:
        report["separation"] = _compare(model, check, train_x, table, cutouts, index, split, args)
    if args.evaluate:
        report["real_sdss"] = _evaluate(model, args)
    text = json.dumps(report, indent=1)
    print(text)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
