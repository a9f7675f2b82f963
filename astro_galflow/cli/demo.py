"""``galflow demo``: the main job on the embedded default, end to end, offline.

Simulates a few thousand galaxies (gri cutouts + ugriz photometry) in a sky patch with the
built-in simulated survey, infers their joint posteriors with the shipped ``sim-default``
model, writes the HEALPix-indexed posterior table and figures, and prints a summary.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="simulate a sky patch, infer with sim-default, write table + figures",
        description=(
            "Simulate galaxies in a sky patch, infer their joint posteriors with a shipped model and write "
            "OUT/posteriors.parquet (HEALPix-indexed), OUT/simulated.fits (+ cutouts) and figures in OUT/figures."
        ),
    )
    parser.add_argument("--out", type=Path, default=Path("galflow-demo"), help="output folder (default galflow-demo)")
    parser.add_argument("-n", "--n-galaxies", type=int, default=3000, help="galaxies to simulate (default 3000)")
    parser.add_argument("--n-samples", type=int, default=1000, help="posterior samples per galaxy (default 1000)")
    parser.add_argument("--model", default="sim-default", help="shipped model or model directory")
    parser.add_argument("--seed", type=int, default=42, help="seed of the simulation and of the posterior noise")
    parser.add_argument("--backend", default="auto", help="auto|eager|compile|onnxruntime")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT folder's files")
    return parser


def _values(column):
    import numpy as np

    return np.asarray(getattr(column, "value", column), dtype=np.float64)


def _model_space(table, samples, model):
    """Truth and draws per parameter in the space the model learns in (log1p for line fluxes).

    Rows without a posterior, and O/H of galaxies whose metallicity is not measurable, are
    left out.
    """
    import numpy as np

    from astro_galflow.params import get_parameter

    truth, draws = {}, {}
    for p in model.parameters:
        if p not in table.colnames:
            continue
        spec = get_parameter(p)
        t = _values(table[p])
        ok = np.isfinite(t) & np.isfinite(samples[p]).all(axis=1)
        if p == "oh_12" and "metallicity_detectable" in table.colnames:
            ok &= np.asarray(table["metallicity_detectable"], dtype=bool)
        truth[p], draws[p] = spec.to_model_space(t[ok]), spec.to_model_space(samples[p][ok])
    return truth, draws


def _figures(table, posterior, samples, model):
    from matplotlib.figure import Figure

    from astro_galflow.evaluation.plots import corner_figure, pit_figure, predicted_vs_true_figure
    from astro_galflow.params import get_parameter

    truth, draws = _model_space(table, samples, model)
    first = {p: get_parameter(p) for p in model.parameters}
    figures = {
        "predicted_vs_true": predicted_vs_true_figure(truth, draws),
        "pit_calibration": pit_figure(truth, draws),
        "corner_galaxy0": corner_figure(
            {p: spec.to_model_space(samples[p][0]) for p, spec in first.items()},
            {p: float(first[p].to_model_space(_values(table[p])[0])) for p in truth},
        ),
    }
    sky = Figure(figsize=(5.5, 4.5), layout="constrained")
    ax = sky.subplots()
    points = ax.scatter(
        posterior["ra"].value, posterior["dec"].value, c=posterior["redshift_p50"].value, s=4, cmap="viridis"
    )
    sky.colorbar(points, ax=ax, label="posterior median redshift")
    ax.set_xlabel("RA [deg]")
    ax.set_ylabel("Dec [deg]")
    ax.invert_xaxis()
    figures["sky_redshift"] = sky
    return figures


def run(args) -> int:
    """Run the demo and print where the outputs are."""
    import numpy as np

    from astro_galflow.config import GalflowConfig
    from astro_galflow.evaluation import metrics as M
    from astro_galflow.models import load_model
    from astro_galflow.pipeline import infer_table
    from astro_galflow.plugins import get_plugin_manager
    from astro_galflow.sources.simulated import SimulatedSource
    from astro_galflow.table import write_posterior_table

    t0 = time.perf_counter()
    out = args.out
    table_path = out / "posteriors.parquet"
    if table_path.exists() and not args.overwrite:
        raise FileExistsError(f"{str(table_path)!r} exists; pass --overwrite or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    model = load_model(args.model)

    print(f"simulating {args.n_galaxies} galaxies (gri cutouts + ugriz) ...", file=sys.stderr, flush=True)
    catalog = SimulatedSource(seed=args.seed).simulate(args.n_galaxies, render=model.requires_cutouts)
    catalog.write(out / "simulated.fits", overwrite=True)
    t_sim = time.perf_counter() - t0

    config = GalflowConfig(
        model=args.model,
        n_samples=args.n_samples,
        seed=args.seed,
        backend=args.backend,
        store_samples=True,
        command=" ".join(args.argv),
    )
    posterior = infer_table(
        catalog.table,
        catalog.cutouts,
        config=config,
        pm=get_plugin_manager(),
        model=model,
        source=SimulatedSource(seed=args.seed),
        progress=True,
    )
    t_infer = time.perf_counter() - t0 - t_sim
    samples = {p: np.asarray(posterior[f"{p}_samples"].value, dtype=np.float64) for p in model.parameters}
    posterior.remove_columns([f"{p}_samples" for p in model.parameters])
    write_posterior_table(posterior, table_path, overwrite=True)

    from astro_galflow.evaluation.report import write_report

    figures = _figures(catalog.table, posterior, samples, model)
    truth, draws = _model_space(catalog.table, samples, model)
    summary = {
        p: {
            "r2": M.r2_score(truth[p], draws[p].mean(axis=1)),
            "coverage68": M.interval_coverage(truth[p], draws[p], 0.68),
            "coverage95": M.interval_coverage(truth[p], draws[p], 0.95),
        }
        for p in truth
    }
    write_report(
        out / "figures",
        {
            "simulated": True,
            "model": model.name,
            "n_galaxies": len(posterior),
            "seconds": {"simulate": t_sim, "infer": t_infer},
            "parameters": summary,
        },
        figures,
    )
    flagged = int((np.asarray(posterior["posterior_flags"]) != 0).sum())
    print(f"\nposterior table : {table_path} ({len(posterior)} rows, {flagged} flagged, HEALPix-indexed)")
    print(f"figures         : {out / 'figures'}")
    print(f"simulated input : {out / 'simulated.fits'}")
    print(
        f"time            : simulate {t_sim:.0f} s, infer {t_infer:.0f} s "
        f"({len(posterior) / max(t_infer, 1e-9):.0f} galaxies/s, {args.n_samples} samples each)"
    )
    print("\nSIMULATED galaxies (known truth; line fluxes in log1p space) -- not comparable with real-data numbers:")
    print(f"  {'parameter':<16} {'R2':>6} {'cov68':>6} {'cov95':>6}")
    for p, s in summary.items():
        print(f"  {p:<16} {s['r2']:6.3f} {s['coverage68']:6.3f} {s['coverage95']:6.3f}")
    return 0
