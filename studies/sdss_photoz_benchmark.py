"""The real-data photometric-redshift benchmark (issue 5): train, evaluate, compare, report.

Run from the repository root::

    python studies/sdss_photoz_benchmark.py --out benchmarks/results/sdss_photoz --learning-curve

It reads the three SDSS extracts (:func:`~astro_galflow.realdata.photoz_set.load_photoz_set`;
rows, cuts and split are documented there), trains the redshift-only flow ensemble on the
``train`` rows of the chosen files (``val`` rows for early stopping), fits kNN, MLP and
gradient boosting on the same rows and features, and evaluates all of them on the ``test``
rows — separately for each file, the extinction-corrected MGS rows being the headline set.
It writes ``metrics.json`` (with the published figures of ``ANCHORS.md`` and the
issue's targets beside ours) and PNG figures, and with ``--ship`` installs the model as
``astro_galflow/data/models/sdss-photoz``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from astro_galflow.realdata.photoz_set import load_photoz_set

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the studies folder: its _paths module
from _paths import SHARED_SDSS  # noqa: E402

__all__ = ["CALIBRATION_MAX_P", "CALIBRATION_MODES", "CROSSFIT_FOLDS", "PUBLISHED", "TARGETS", "main", "run_benchmark"]

#: Published photo-z figures (``../shared/docs/ANCHORS.md``), with their samples, for the report.
PUBLISHED = [
    {
        "source": "Pasquet et al. 2019, A&A 621, A26",
        "sigma_nmad": 0.009,
        "outlier_0.05": 0.0031,
        "inputs": "ugriz 64x64 images (CNN)",
        "sample": "SDSS MGS, ~500k galaxies, z < 0.4",
        "comparable": "same galaxy population; images and 100x more training data, so an upper bound, not a peer",
    },
    {
        "source": "Beck et al. 2016, MNRAS 460, 1371",
        "sigma": 0.0205,
        "outlier_fraction": 0.041,
        "inputs": "ugriz photometry (local linear regression)",
        "sample": "all SDSS DR12 spectroscopic galaxies to z ~ 0.8",
        "comparable": "no: deeper and wider redshift range, and a plain sigma, not sigma_NMAD",
    },
    {
        "source": "Siddiqa, Mahmud & Martinez-Galarza 2025 (the paper), Table 1",
        "r2": 0.72,
        "inputs": "photometry only (VAE+flow, photometry variant)",
        "sample": "SDSS MGS x MPA-JHU, z <= 0.3",
        "comparable": "closest in sample and inputs; only R2 is reported",
    },
    {
        "source": "Parker et al. 2024 (AstroCLIP)",
        "r2": 0.68,
        "inputs": "3-band photometry MLP",
        "sample": "DESI Legacy Survey x DESI",
        "comparable": "no: other survey, bands and redshift range",
    },
]

#: Targets of issue 5 on real held-out galaxies.
TARGETS = {
    "sigma_nmad": ("<=", 0.012),
    "outlier_0.05": ("<=", 0.01),
    "r2": (">=", 0.88),
    "coverage_68": ("within", (0.66, 0.70)),
    "coverage_95": ("within", (0.93, 0.97)),
    "pit_ks": ("<", 0.03),
}


def _meets(value, rule) -> bool:
    kind, bound = rule
    if value is None:
        return False
    if kind == "<=":
        return value <= bound
    if kind == "<":
        return value < bound
    if kind == ">=":
        return value >= bound
    return bound[0] <= value <= bound[1]


def _train(catalog, out, *, ensemble, epochs, patience, seed, with_errors, name, command, quiet):
    from astro_galflow.training.flow_stage import train_flows

    return train_flows(
        catalog,
        out,
        parameters=["redshift"],
        ensemble=ensemble,
        epochs=epochs,
        patience=patience,
        seed=seed,
        with_errors=with_errors,
        name=name,
        command=command,
        log=(lambda line: None) if quiet else None,
    )


#: Calibration rows the benchmark can fit the post-hoc calibration on.
CALIBRATION_MODES = ("crossfit", "val", "none")

#: The calibration is stored only where the raw PIT of its rows departs from uniform at
#: this significance (KS p-value): otherwise the map would mostly fit those rows' noise.
CALIBRATION_MAX_P = 0.05

#: Folds of the cross-fitted calibration rows.
CROSSFIT_FOLDS = 5


def _train_subset(subset, val_table, workdir, tag, *, ensemble, epochs, patience, seed, with_errors, command):
    """Train on ``subset`` of the training rows (``val_table`` for early stopping); return the model."""
    from astropy.table import vstack

    from astro_galflow.models import load_model
    from astro_galflow.training.data import split_of

    catalog = vstack([subset, val_table], metadata_conflicts="silent")
    if not np.all(split_of(catalog)[: len(subset)] == "train"):
        raise RuntimeError(f"{command}: the training subset contains non-train rows")
    path = Path(workdir) / f"{tag}.ecsv"
    catalog.write(path, overwrite=True)
    model_dir = Path(workdir) / f"{tag}_model"
    _train(
        path,
        model_dir,
        ensemble=ensemble,
        epochs=epochs,
        patience=patience,
        seed=seed,
        with_errors=with_errors,
        name=None,
        command=command,
        quiet=True,
    )
    return load_model(model_dir)


def _pit_of(model, rows, *, n_samples, seed) -> np.ndarray:
    from astro_galflow.evaluation import metrics as M

    truth = np.asarray(rows["redshift"], dtype=np.float64)
    # another noise seed than the evaluation's: the fit must not reuse the reported draws
    samples = model.posterior_samples(rows, n_samples=n_samples, seed=seed + 1, calibrate=False).samples
    return M.pit_values(truth, samples["redshift"].astype(np.float64))


def _crossfit_pit(train_table, val_table, workdir, *, folds, ensemble, epochs, patience, seed, with_errors, n_samples):
    """PIT of every training row under an ensemble trained without its fold (K-fold cross-fitting)."""
    fold_of = np.random.default_rng(seed + 7).permutation(len(train_table)) % folds
    pit = np.empty(len(train_table))
    for fold in range(folds):
        held = fold_of == fold
        model = _train_subset(
            train_table[~held],
            val_table,
            workdir,
            f"crossfit_{fold}",
            ensemble=ensemble,
            epochs=epochs,
            patience=patience,
            seed=seed + fold + 1,
            with_errors=with_errors,
            command="calibration cross-fitting",
        )
        pit[held] = _pit_of(model, train_table[held], n_samples=n_samples, seed=seed)
    return pit


def _calibrate(model_dir, pit, *, rows: str, n_samples: int) -> dict:
    """Store the calibration fitted on ``pit`` in the model card when the raw PIT departs from uniform.

    Returns the decision with the raw KS test of the calibration rows.
    """
    from astro_galflow.calibration import QuantileRecalibration, raw_pit_test
    from astro_galflow.model_card import write_calibration

    test = raw_pit_test(pit)
    decision = {"rows": rows, "n_rows": int(len(pit)), "raw_pit_ks": test["ks"], "p_value": test["p_value"]}
    # coverage of the central intervals read off the PIT (a truth lies inside the central 68 %
    # interval exactly when its PIT lies in (0.16, 0.84))
    decision["raw_coverage_68"] = float(np.mean((pit > 0.16) & (pit < 0.84)))
    decision["raw_coverage_95"] = float(np.mean((pit > 0.025) & (pit < 0.975)))
    decision["applied"] = bool(test["p_value"] < CALIBRATION_MAX_P)
    if not decision["applied"]:
        write_calibration(model_dir, None)  # a model passed in may carry an older one
        decision["reason"] = (
            f"raw PIT of the calibration rows consistent with uniform (p = {test['p_value']:.2g} >= "
            f"{CALIBRATION_MAX_P}): a map would mostly fit their noise"
        )
        return decision
    fitted_on = {"split": rows, "n_rows": int(len(pit)), "n_samples": int(n_samples), "raw_pit_ks": test}
    write_calibration(model_dir, QuantileRecalibration.from_pit({"redshift": pit}, fitted_on=fitted_on))
    return decision


def _calibration_noise_floor(n: int) -> dict:
    """What a perfectly calibrated model shows on ``n`` galaxies: the spread of the targets' statistics.

    The median PIT KS distance (``scipy.stats.kstwo``) and the probability that the 68 %
    and 95 % coverages land inside the issue's bands (binomial).
    """
    from scipy.stats import binom, kstwo

    def in_band(level, lo, hi):
        return float(binom.cdf(np.floor(hi * n), n, level) - binom.cdf(np.ceil(lo * n) - 1, n, level))

    return {
        "n": int(n),
        "median_pit_ks": float(kstwo(n).median()),
        "p_pit_ks_below_target": float(kstwo(n).cdf(TARGETS["pit_ks"][1])),
        "p_coverage_68_in_band": in_band(0.68, *TARGETS["coverage_68"][1]),
        "p_coverage_95_in_band": in_band(0.95, *TARGETS["coverage_95"][1]),
    }


def _flow_metrics(model, table, truth, *, n_samples, seed, calibrate):
    from astro_galflow.evaluation import metrics as M
    from astro_galflow.evaluation.evaluate import evaluate_samples
    from astro_galflow.heads.ensemble import member_blocks

    samples = model.posterior_samples(table, n_samples=n_samples, seed=seed, calibrate=calibrate).samples
    samples = samples["redshift"].astype(np.float64)
    flow = evaluate_samples(truth, samples, redshift=True)
    if model.n_members > 1:
        blocks = [samples[:, a:b] for a, b in member_blocks(n_samples, model.n_members)]
        flow["uncertainty"] = M.uncertainty_decomposition(np.stack(blocks))
    return flow, samples


def _evaluate_set(model, table, baseline_results, *, n_samples, seed):
    """Flow and baseline metrics on one evaluation set; ``baseline_results`` are aligned with ``table``.

    ``flow`` is the model as shipped (calibrated when its card has a calibration);
    ``flow_uncalibrated`` the raw flow, for the record.
    """
    from astro_galflow.evaluation import metrics as M

    truth = np.asarray(table["redshift"], dtype=np.float64)
    flow, samples = _flow_metrics(model, table, truth, n_samples=n_samples, seed=seed, calibrate=True)
    entry = {"n": int(len(table)), "flow": flow, "baselines": {}}
    if model.calibration is not None:
        entry["flow_uncalibrated"] = _flow_metrics(
            model, table, truth, n_samples=n_samples, seed=seed, calibrate=False
        )[0]
    preds = {}
    for name, (prediction, baseline_samples) in baseline_results.items():
        m = M.point_metrics(truth, prediction, redshift=True)
        if baseline_samples is not None:
            m.update(M.calibration_metrics(truth, baseline_samples))
        entry["baselines"][name] = m
        preds[name] = prediction
    return entry, truth, samples, preds


def _extinction_check(data, *, seed):
    """Evidence on whether each file's magnitudes are extinction-corrected, from validation rows.

    Gradient boosting on colours + r fit to the ``mgs`` (corrected) training rows predicts the
    ``val`` rows of every file: Galactic reddening makes raw colours redder, so uncorrected
    photometry shows up as a positive median Δz/(1+z) and a positive median g−r offset from
    the MGS g−r(z) relation (bin medians, Δz = 0.02, linearly interpolated).
    """
    from astro_galflow.evaluation.baselines import design_matrix, fit_baseline

    columns = [0, 1, 2, 3, 6]  # u-g, g-r, r-i, i-z, r
    train = data[(data["origin"] == "mgs") & (data["split"] == "train")]
    z_train = np.asarray(train["redshift"], dtype=np.float64)
    gr_train = design_matrix(train)[:, 1]
    edges = np.arange(0.0, 0.3001, 0.02)
    centres, medians = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (z_train >= lo) & (z_train < hi)
        if inside.sum() >= 10:
            centres.append(z_train[inside].mean())
            medians.append(np.median(gr_train[inside]))
    out = {}
    for origin in ("mgs", "dr14", "hw"):
        rows = data[(data["origin"] == origin) & (data["split"] == "val")]
        if len(rows) == 0:
            continue
        z = np.asarray(rows["redshift"], dtype=np.float64)
        x = design_matrix(rows)
        pred = fit_baseline("gbm", design_matrix(train)[:, columns], z_train, x[:, columns], seed=seed).prediction
        out[origin] = {
            "n_val": int(len(rows)),
            "median_dz_1pz": float(np.median((pred - z) / (1 + z))),
            "median_g_minus_r_offset": (
                float(np.median(x[:, 1] - np.interp(z, centres, medians))) if len(centres) >= 2 else None
            ),
        }
    return out


def _specphoto_check(model, data_dir, *, n_samples, seed):
    """The model on the SpecPhoto x galSpecLine sample: another real file, never used in training.

    Raw model magnitudes with SFD extinction columns, corrected by the host
    (:func:`astro_galflow.inputs.apply_extinction`); galaxies with ``0 < z <= 0.3`` and
    corrected ``mag_r <= 18`` (the cuts of the photo-z set). The file shares no identifier
    with ``SDSS_MGS.train``, so an overlap of individual galaxies cannot be excluded.
    """
    import astropy.units as u

    from astro_galflow.evaluation.evaluate import evaluate_samples
    from astro_galflow.inputs import SDSS_BANDS, apply_extinction
    from astro_galflow.realdata.photoz_set import R_MAX, Z_MAX
    from astro_galflow.realdata.readers import read_mpajhu_joined

    path = Path(data_dir) / "skyserver_mpajhu_sample" / "joined_specphoto_galspecline.csv"
    if not path.is_file():
        return {"file": os.fspath(path), "found": False}
    table = read_mpajhu_joined(path)
    apply_extinction(table, SDSS_BANDS)
    z = np.asarray(table["redshift"], dtype=np.float64)
    mags = np.stack([table[f"mag_{b}"].to_value(u.mag) for b in SDSS_BANDS], axis=1)
    keep = (z > 0) & (z <= Z_MAX) & np.all(np.isfinite(mags), axis=1) & (mags[:, 2] <= R_MAX)
    rows = table[keep]
    samples = model.posterior_samples(rows, n_samples=n_samples, seed=seed).samples["redshift"]
    result = evaluate_samples(z[keep], samples.astype(np.float64), redshift=True)
    return {"file": os.fspath(path), "found": True, "n_read": int(len(table)), "n": int(keep.sum()), "flow": result}


def _learning_curve(train_table, val_table, test_table, workdir, *, fractions, epochs, patience, seed, with_errors):
    """σ_NMAD, R² and outlier rate on the MGS test rows vs training-set size (flow and GBM)."""

    from astro_galflow.evaluation import metrics as M
    from astro_galflow.evaluation.baselines import design_matrix, fit_baseline

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(train_table))
    truth = np.asarray(test_table["redshift"], dtype=np.float64)
    curve = []
    for frac in fractions:
        subset = train_table[np.sort(order[: max(2, int(round(frac * len(train_table))))])]
        model = _train_subset(
            subset,
            val_table,
            workdir,
            f"lc_{frac:.3f}",
            ensemble=1,
            epochs=epochs,
            patience=patience,
            seed=seed,
            with_errors=with_errors,
            command="learning curve",
        )
        samples = model.posterior_samples(test_table, n_samples=200, seed=seed).samples["redshift"]
        flow = M.point_metrics(truth, samples.mean(axis=1), redshift=True)
        x_train = design_matrix(subset, errors=with_errors)
        gbm = fit_baseline(
            "gbm",
            x_train,
            np.asarray(subset["redshift"], dtype=np.float64),
            design_matrix(test_table, errors=with_errors),
            seed=seed,
        )
        curve.append(
            {
                "fraction": float(frac),
                "n_train": int(len(subset)),
                "flow": flow,
                "gbm": M.point_metrics(truth, gbm.prediction, redshift=True),
            }
        )
    return curve


def _learning_curve_figure(curve):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3), layout="constrained")
    axes = fig.subplots(1, 3)
    n = [c["n_train"] for c in curve]
    for ax, key, target in zip(axes, ("sigma_nmad", "r2", "outlier_0.05"), (0.012, 0.88, 0.01)):
        for name in ("flow", "gbm"):
            ax.plot(n, [c[name][key] for c in curve], "o-", label=name)
        ax.axhline(target, color="k", ls="--", lw=0.8, label="issue-5 target")
        ax.set_xscale("log")
        ax.set_xticks(n, [str(v) for v in n], minor=False)
        ax.minorticks_off()
        ax.set_xlabel("training galaxies")
        ax.set_title(key, fontsize=9)
    axes[0].legend(fontsize=7)
    return fig


def run_benchmark(
    data_dir=SHARED_SDSS,
    out="benchmarks/results/sdss_photoz",
    *,
    train_sources=("mgs",),
    ensemble: int = 5,
    epochs: int = 300,
    patience: int = 25,
    seed: int = 0,
    with_errors: bool = True,
    n_samples: int = 1000,
    model_dir=None,
    ship: bool = False,
    learning_curve: bool = False,
    calibration_rows: str = "crossfit",
    work_dir=None,
    command: str = "",
    quiet: bool = False,
) -> dict:
    """Run the benchmark and write ``out/metrics.json`` and figures; return the metrics.

    Parameters
    ----------
    train_sources : sequence of str
        Files whose ``train``/``val`` rows train the flow and the baselines.
    model_dir : path, optional
        Evaluate this trained model instead of training one.
    ship : bool
        Copy the trained model to ``astro_galflow/data/models/sdss-photoz``.
    calibration_rows : {"crossfit", "val", "none"}
        Rows whose raw PIT the post-hoc calibration (:mod:`astro_galflow.calibration`) is
        fitted on: the MGS ``val`` rows under the trained model, and with ``"crossfit"``
        also every MGS ``train`` row under an ensemble trained without its fold
        (:data:`CROSSFIT_FOLDS` folds; more rows, less noise in the map). The ``test``
        rows are never used. The calibration is stored in the model card (with
        ``model_dir``, that model's) only where the raw PIT of those rows departs from
        uniform (KS p-value below :data:`CALIBRATION_MAX_P`); the decision is in the report.
    work_dir : path, optional
        Where the training catalogs and models go (default ``out/work``; not part of the report).
    """
    from astro_galflow.evaluation import plots
    from astro_galflow.evaluation.baselines import design_matrix, fit_baselines
    from astro_galflow.evaluation.report import write_report
    from astro_galflow.models import MODELS_DIR, load_model

    t0 = time.perf_counter()
    out = Path(out)
    work = Path(work_dir) if work_dir is not None else out / "work"
    work.mkdir(parents=True, exist_ok=True)
    data = load_photoz_set(data_dir)
    chosen = np.isin(np.asarray(data["origin"]), list(train_sources))
    catalog = data[chosen]
    catalog.meta["extinction_corrected"] = True
    catalog.meta["note"] = "raw-magnitude rows (origin dr14/hw), if any, are used as given"
    catalog_path = work / "train_catalog.ecsv"
    catalog.write(catalog_path, overwrite=True)
    if model_dir is None:
        model_dir = work / "sdss-photoz"
        _train(
            catalog_path,
            model_dir,
            ensemble=ensemble,
            epochs=epochs,
            patience=patience,
            seed=seed,
            with_errors=with_errors,
            name="sdss-photoz",
            command=command,
            quiet=quiet,
        )
    calibration = {"rows": "none", "applied": False}
    if calibration_rows != "none":
        mgs_train = catalog[(catalog["split"] == "train") & (catalog["origin"] == "mgs")]
        mgs_val = catalog[(catalog["split"] == "val") & (catalog["origin"] == "mgs")]
        pit = _pit_of(load_model(model_dir), mgs_val, n_samples=n_samples, seed=seed)
        rows = "SDSS_MGS val rows"
        if calibration_rows == "crossfit":
            crossfit = _crossfit_pit(
                mgs_train,
                mgs_val,
                work,
                folds=CROSSFIT_FOLDS,
                ensemble=ensemble,
                epochs=epochs,
                patience=patience,
                seed=seed,
                with_errors=with_errors,
                n_samples=n_samples,
            )
            pit = np.concatenate([crossfit, pit])
            rows = f"SDSS_MGS train rows ({CROSSFIT_FOLDS}-fold cross-fitted) + val rows"
        calibration = _calibrate(model_dir, pit, rows=rows, n_samples=n_samples)
    model = load_model(model_dir)
    with_errors = bool(model.card["architecture"]["with_errors"])
    train = catalog[catalog["split"] == "train"]
    x_train = design_matrix(train, errors=with_errors)
    y_train = np.asarray(train["redshift"], dtype=np.float64)

    # Every baseline is fit once on the training rows and predicts all evaluation sets.
    sets = {
        f"{origin}_{split}": data[(data["origin"] == origin) & (data["split"] == split)]
        for origin in ("mgs", "dr14", "hw")
        for split in ("val", "test")
    }
    sets = {key: rows for key, rows in sets.items() if len(rows)}
    x_eval = np.concatenate([design_matrix(rows, errors=with_errors) for rows in sets.values()])
    fitted = fit_baselines(x_train, y_train, x_eval, seed=seed)
    results, figures, start = {}, {}, 0
    for key, rows in sets.items():
        stop = start + len(rows)
        per_set = {
            name: (res.prediction[start:stop], None if res.samples is None else res.samples[start:stop])
            for name, res in fitted.items()
        }
        start = stop
        entry, truth, samples, preds = _evaluate_set(model, rows, per_set, n_samples=n_samples, seed=seed)
        results[key] = entry
        if key == "mgs_test":
            figures["predicted_vs_true"] = plots.predicted_vs_true_figure(
                {"redshift": truth}, {"redshift": samples}, {"redshift": preds}
            )
            figures["pit"] = plots.pit_figure({"redshift": truth}, {"redshift": samples})
            figures["posterior_one_galaxy"] = plots.corner_figure({"redshift": samples[0]}, {"redshift": truth[0]})

    from scipy.stats import kstwo

    headline = results["mgs_test"]["flow"]
    targets = {
        k: {"rule": list(rule), "value": headline.get(k), "met": _meets(headline.get(k), rule)}
        for k, rule in TARGETS.items()
    }
    best_baseline_r2 = max(b["r2"] for b in results["mgs_test"]["baselines"].values())
    best_baseline_nmad = min(b["sigma_nmad"] for b in results["mgs_test"]["baselines"].values())
    targets["beats_every_baseline"] = {
        "value": {
            "flow_r2": headline["r2"],
            "best_baseline_r2": best_baseline_r2,
            "flow_sigma_nmad": headline["sigma_nmad"],
            "best_baseline_sigma_nmad": best_baseline_nmad,
        },
        "met": headline["r2"] > best_baseline_r2 and headline["sigma_nmad"] < best_baseline_nmad,
    }
    metrics = {
        "benchmark": "sdss_photoz",
        "command": command,
        "data_dir": os.fspath(data_dir),
        "selection": data.meta["selection"],
        "cuts": data.meta["cuts"],
        "split": data.meta["split"],
        "train_sources": list(train_sources),
        "n_train": int(len(train)),
        "n_val": int(np.sum(catalog["split"] == "val")),
        "model": {
            "directory": os.fspath(model_dir),
            "card_name": model.name,
            "n_members": model.n_members,
            "with_errors": with_errors,
            "features": model.feature_names,
            "training_wall_time_s": model.card.get("training", {}).get("wall_time_s"),
            "calibration": model.card.get("calibration"),
        },
        "calibration_decision": calibration,
        "n_samples": n_samples,
        "seed": seed,
        "results": results,
        "headline": "mgs_test",
        "targets": targets,
        "published": PUBLISHED,
        # how far a test set of this size can judge the calibration targets at all
        "calibration_noise_floor": {
            **_calibration_noise_floor(results["mgs_test"]["n"]),
            "pit_ks_p_value": {
                key: float(kstwo.sf(results[key]["flow"]["pit_ks"], results[key]["n"]))
                for key in ("mgs_val", "mgs_test")
            },
        },
    }
    metrics["extinction_check"] = _extinction_check(data, seed=seed)
    metrics["specphoto_independent"] = _specphoto_check(model, data_dir, n_samples=n_samples, seed=seed)
    if learning_curve:
        mgs = data[data["origin"] == "mgs"]
        curve = _learning_curve(
            catalog[catalog["split"] == "train"],
            catalog[catalog["split"] == "val"],
            mgs[mgs["split"] == "test"],
            work,
            fractions=(0.125, 0.25, 0.5, 1.0),
            epochs=epochs,
            patience=patience,
            seed=seed,
            with_errors=with_errors,
        )
        metrics["learning_curve"] = curve
        figures["learning_curve"] = _learning_curve_figure(curve)
    if ship:
        dest = MODELS_DIR / "sdss-photoz"
        dest.mkdir(parents=True, exist_ok=True)
        for f in Path(model_dir).iterdir():
            if f.is_file():
                shutil.copyfile(f, dest / f.name)
        metrics["model"]["shipped_to"] = "astro_galflow/data/models/sdss-photoz"
    metrics["wall_time_s"] = round(time.perf_counter() - t0, 1)
    write_report(out, metrics, figures)
    return metrics


def main(argv=None) -> int:
    """Command-line entry point (``python studies/sdss_photoz_benchmark.py``)."""
    parser = argparse.ArgumentParser(
        prog="python studies/sdss_photoz_benchmark.py", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--data-dir", type=Path, default=SHARED_SDSS, help="SDSS extracts (default: %(default)s)")
    parser.add_argument("--out", default="benchmarks/results/sdss_photoz", help="report directory")
    parser.add_argument("--train-sources", default="mgs", help="comma-separated files to train on: mgs,dr14,hw")
    parser.add_argument("--ensemble", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--patience", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-errors", action="store_true", help="do not feed magnitude errors to the model")
    parser.add_argument("-n", "--n-samples", type=int, default=1000)
    parser.add_argument("--model", help="evaluate this model directory instead of training")
    parser.add_argument("--ship", action="store_true", help="install the model as sdss-photoz")
    parser.add_argument("--learning-curve", action="store_true", help="also train on 1/8, 1/4, 1/2 of the rows")
    parser.add_argument(
        "--calibration-rows",
        choices=CALIBRATION_MODES,
        default="crossfit",
        help="rows the post-hoc calibration is fitted on (default: cross-fitted train rows + val rows)",
    )
    parser.add_argument("--work-dir", help="training catalogs and models (default: OUT/work)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    metrics = run_benchmark(
        args.data_dir,
        args.out,
        train_sources=tuple(args.train_sources.split(",")),
        ensemble=args.ensemble,
        epochs=args.epochs,
        patience=args.patience,
        seed=args.seed,
        with_errors=not args.no_errors,
        n_samples=args.n_samples,
        model_dir=args.model,
        ship=args.ship,
        learning_curve=args.learning_curve,
        calibration_rows=args.calibration_rows,
        work_dir=args.work_dir,
        command=" ".join(["python studies/sdss_photoz_benchmark.py", *(argv if argv is not None else sys.argv[1:])]),
        quiet=args.quiet,
    )
    head = metrics["results"]["mgs_test"]
    f = head["flow"]
    print(
        f"MGS test ({head['n']} galaxies): flow sigma_NMAD={f['sigma_nmad']:.4f} bias={f['bias']:+.4f} "
        f"out05={f['outlier_0.05']:.4f} R2={f['r2']:.3f} KS={f['pit_ks']:.3f} cov68={f['coverage_68']:.3f} "
        f"cov95={f['coverage_95']:.3f} CRPS={f['crps']:.4f}"
    )
    if "flow_uncalibrated" in head:
        r = head["flow_uncalibrated"]
        print(
            f"  uncalibrated flow: sigma_NMAD={r['sigma_nmad']:.4f} KS={r['pit_ks']:.3f} "
            f"cov68={r['coverage_68']:.3f} cov95={r['coverage_95']:.3f}"
        )
    for name, b in head["baselines"].items():
        print(f"  {name}: sigma_NMAD={b['sigma_nmad']:.4f} out05={b['outlier_0.05']:.4f} R2={b['r2']:.3f}")
    print(f"report in {args.out} ({metrics['wall_time_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
