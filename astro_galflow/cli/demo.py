"""``galflow demo``: the main job on the embedded default, end to end, offline.

Simulates 1,000 galaxies (gri cutouts + ugriz photometry; ``-n`` for more) in a sky patch
with the built-in simulated survey, infers their joint posteriors with the shipped
``sim-default`` model, prints the results as soon as inference ends, writes the
HEALPix-indexed posterior table and figures, and lists every file with its size. A failed
or interrupted run removes what it wrote.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

__all__ = ["add_parser", "run"]

#: Rows per inference batch: small enough that the progress bar moves every few seconds.
_DEMO_BATCH = 128


def add_parser(subparsers):
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="simulate a sky patch, infer with sim-default, write table + figures",
        description=(
            "Simulate galaxies in a sky patch, infer their joint posteriors with a shipped model and write "
            "OUT/posteriors.parquet (HEALPix-indexed), OUT/simulated.fits (+ OUT/simulated.cutouts.npy, 0.31 MB "
            "per galaxy) and figures in OUT/figures. Prints each step, the results as soon as inference ends, "
            "and every file written with its size."
        ),
    )
    parser.add_argument("--out", type=Path, default=Path("galflow-demo"), help="output folder")
    parser.add_argument(
        "-n", "--n-galaxies", type=int, default=1000, help="galaxies to simulate (cutouts: 0.31 MB per galaxy)"
    )
    parser.add_argument("--n-samples", type=int, default=1000, help="posterior samples per galaxy")
    parser.add_argument("--model", default="sim-default", help="shipped model or model directory")
    parser.add_argument("--seed", type=int, default=42, help="seed of the simulation and of the posterior noise")
    parser.add_argument("--backend", default="auto", help="auto|eager|compile|onnxruntime (auto: ONNX Runtime on CPU)")
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


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _size(nbytes: float) -> str:
    if nbytes < 1000:
        return f"{nbytes:.0f} B"
    for unit in ("kB", "MB", "GB"):
        nbytes /= 1000
        if nbytes < 1000 or unit == "GB":
            break
    return f"{nbytes:.1f} {unit}"


def _onnx_exports(cache) -> set:
    return set(cache.glob("*.onnx")) if cache is not None and cache.is_dir() else set()


def run(args) -> int:
    """Run the demo, saying what it does at each step, and print where the outputs are.

    On any error or interrupt the files this run started to write are removed (and the
    ``--out`` folder, if this run created it), so that nothing half-written is left.
    """
    written: list[Path] = []
    created = not args.out.exists()
    try:
        return _run(args, written)
    except BaseException:
        if created:
            shutil.rmtree(args.out, ignore_errors=True)
        for path in written:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        raise


def _run(args, written: list) -> int:
    import numpy as np

    from astro_galflow.backends.export_cache import default_cache_dir
    from astro_galflow.config import GalflowConfig
    from astro_galflow.cutouts import CUTOUT_SIZE, cutouts_path_for
    from astro_galflow.evaluation import metrics as M
    from astro_galflow.exceptions import InputError
    from astro_galflow.models import load_model
    from astro_galflow.pipeline import infer_table
    from astro_galflow.plugins import get_plugin_manager
    from astro_galflow.sources.simulated import SimulatedSource
    from astro_galflow.table import write_posterior_table

    t0 = time.perf_counter()
    if args.n_galaxies < 1 or args.n_samples < 2:
        raise InputError(f"-n must be >= 1 and --n-samples >= 2, got {args.n_galaxies} and {args.n_samples}")
    out = args.out
    table_path = out / "posteriors.parquet"
    catalog_path = out / "simulated.fits"
    if not args.overwrite:
        for path in (table_path, catalog_path):
            if path.exists():
                raise FileExistsError(f"{str(path)!r} exists; pass --overwrite or choose another --out")
    model = load_model(args.model)

    images = model.requires_cutouts
    cutout_bytes = args.n_galaxies * 4 * len(model.image_bands) * CUTOUT_SIZE**2 if images else 0
    _say(
        f"[1/4] simulating {args.n_galaxies:,} galaxies (ugriz photometry"
        + (f" + gri cutouts, {_size(cutout_bytes)} written to {cutouts_path_for(catalog_path)}" if images else "")
        + ") ..."
    )
    out.mkdir(parents=True, exist_ok=True)
    written += [catalog_path, cutouts_path_for(catalog_path)] if images else [catalog_path]
    catalog = SimulatedSource(seed=args.seed).simulate(
        args.n_galaxies, render=images, cutouts_path=cutouts_path_for(catalog_path) if images else None, progress=True
    )
    catalog.write(catalog_path, overwrite=True)
    t_sim = time.perf_counter() - t0

    cache = default_cache_dir()
    exports_before = _onnx_exports(cache)
    members = f"{model.n_members} flow members" if model.n_members > 1 else "one flow"
    _say(
        f"[2/4] inferring the joint posterior of {len(model.parameters)} parameters with {model.name} "
        f"({members}, {args.n_samples} samples per galaxy, backend {args.backend}) ..."
    )
    if args.backend in ("auto", "onnxruntime") and not exports_before:
        where = f"cached in {cache}" if cache is not None else "not cached: GALFLOW_CACHE_DIR is empty"
        _say(f"      first run on this machine: exporting the model to ONNX first, about a minute ({where})")
    config = GalflowConfig(
        model=args.model,
        n_samples=args.n_samples,
        seed=args.seed,
        backend=args.backend,
        # small batches so that the bar moves every few seconds
        batch_size=_DEMO_BATCH,
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
    exported = _onnx_exports(cache) - exports_before
    if exported:
        _say(f"      (including a one-time ONNX export of {len(exported)} graph(s) into {cache})")
    samples = {p: np.asarray(posterior[f"{p}_samples"].value, dtype=np.float64) for p in model.parameters}
    posterior.remove_columns([f"{p}_samples" for p in model.parameters])
    written.append(table_path)
    write_posterior_table(posterior, table_path, overwrite=True)

    truth, draws = _model_space(catalog.table, samples, model)
    summary = {
        p: {
            "r2": M.r2_score(truth[p], draws[p].mean(axis=1)),
            "coverage68": M.interval_coverage(truth[p], draws[p], 0.68),
            "coverage95": M.interval_coverage(truth[p], draws[p], 0.95),
        }
        for p in truth
    }
    flagged = int((np.asarray(posterior["posterior_flags"]) != 0).sum())
    print(
        f"\n{len(posterior):,} SIMULATED galaxies, first result after {time.perf_counter() - t0:.0f} s "
        f"(known truth; line fluxes in log1p space; not comparable with real-data numbers):"
    )
    print(f"  {'parameter':<16} {'R2':>6} {'cov68':>6} {'cov95':>6}")
    for p, s in summary.items():
        print(f"  {p:<16} {s['r2']:6.3f} {s['coverage68']:6.3f} {s['coverage95']:6.3f}")
    print(f"  ({flagged} of {len(posterior):,} rows flagged; posterior_flags explains why)\n", flush=True)

    from astro_galflow.evaluation.report import write_report

    t_fig = time.perf_counter()
    _say(f"[3/4] drawing figures into {out / 'figures'} ...")
    written.append(out / "figures")
    figures = _figures(catalog.table, posterior, samples, model)
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
    _say(f"      {len(figures)} figures in {time.perf_counter() - t_fig:.0f} s")

    _say("[4/4] done; wrote:")
    files = [p for p in written if p.is_file()] + sorted((out / "figures").iterdir())
    for path in files:
        print(f"  {str(path):<44} {_size(path.stat().st_size):>9}")
    total = sum(path.stat().st_size for path in files)
    print(
        f"time: simulate {t_sim:.0f} s, infer {t_infer:.0f} s ({len(posterior) / max(t_infer, 1e-9):.0f} galaxies/s, "
        f"{args.n_samples} samples each, {model.n_members} members), total {time.perf_counter() - t0:.0f} s; "
        f"{_size(total)} on disk"
    )
    print(f"next: galflow infer {catalog_path} my-posteriors.parquet --model {model.name}")
    return 0
