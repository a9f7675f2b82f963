"""``galflow infer``: catalog (+ cutouts) in, posterior table out."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``infer`` subcommand."""
    parser = subparsers.add_parser(
        "infer",
        help="catalog (+ cutouts) in, posterior table out",
        description=(
            "Infer joint posteriors for every row of CATALOG and write them to OUTPUT. Formats follow the "
            "extensions (.fits, .ecsv, .parquet, .hdf5). Rows that cannot be inferred are kept and flagged."
        ),
    )
    parser.add_argument("catalog", type=Path, help="input catalog in the astro_galflow input convention")
    parser.add_argument("output", type=Path, help="posterior table to write")
    parser.add_argument("--model", default="sim-photometry", help="shipped model name or model directory")
    parser.add_argument(
        "--source",
        help="registered source that reads CATALOG in its survey's native layout (see `galflow plugins`)",
    )
    parser.add_argument("--cutouts", type=Path, help="cutouts .npy (default: the file the catalog meta names)")
    parser.add_argument("-n", "--n-samples", type=int, default=1000, help="posterior samples per object")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (same seed, same table)")
    parser.add_argument("--batch-size", type=int, default=512, help="objects per forward pass")
    parser.add_argument(
        "--backend",
        default="auto",
        help="auto|eager|compile|onnxruntime|cuda-graphs|tensorrt (auto: ONNX Runtime on CPU, CUDA graphs on GPU)",
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--quantiles", default="0.16,0.5,0.84", help="comma-separated quantiles to write")
    parser.add_argument("--store-samples", action="store_true", help="also write the N x S sample columns")
    parser.add_argument(
        "--no-calibration", action="store_true", help="skip the model's post-hoc calibration (raw flow posteriors)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    scale = parser.add_argument_group("survey scale (see the 'Survey scale' guide)")
    scale.add_argument(
        "--engine",
        choices=("auto", "memory", "local", "dask"),
        default="auto",
        help="local: stream in chunks with a resume journal, memory bounded by --chunk-rows; memory: whole "
        "catalog in RAM; dask: HATS partitions on a Dask cluster (CATALOG is a HATS catalog or a file to "
        "convert); auto (default): local, or memory for HDF5 output, which cannot be written incrementally",
    )
    scale.add_argument("--chunk-rows", type=int, help="rows per chunk of the local engine (default 65536)")
    scale.add_argument("--resume", action="store_true", help="continue an interrupted local/dask run")
    scale.add_argument("--workers", type=int, default=2, help="Dask workers of the local cluster (default 2)")
    return parser


def config_from_args(args):
    """:class:`~astro_galflow.config.GalflowConfig` from parsed arguments."""
    from astro_galflow.config import GalflowConfig
    from astro_galflow.exceptions import InputError

    try:
        quantiles = tuple(float(q) for q in args.quantiles.split(","))
        return GalflowConfig(
            model=args.model,
            n_samples=args.n_samples,
            seed=args.seed,
            backend=args.backend,
            device=args.device,
            batch_size=args.batch_size,
            quantiles=quantiles,
            store_samples=args.store_samples,
            calibrate=not args.no_calibration,
            options={"command": " ".join(args.argv)},
        )
    except ValueError as exc:
        raise InputError(str(exc)) from exc


def run(args) -> int:
    """Run inference and write the table."""
    from astro_galflow.catalogs import read_catalog, resolve_cutouts
    from astro_galflow.flags import PosteriorFlag
    from astro_galflow.models import load_model
    from astro_galflow.pipeline import infer_table
    from astro_galflow.plugins import get_plugin_manager
    from astro_galflow.registries import build_registries
    from astro_galflow.table import write_posterior_table

    config = config_from_args(args)
    if args.engine == "dask":
        from astro_galflow.scale.dask_engine import dask_infer

        dask_infer(
            args.catalog,
            args.output,
            config=config,
            n_workers=args.workers,
            resume=args.resume,
            overwrite=args.overwrite,
            progress=not args.no_progress,
        )
        print(f"wrote HATS catalog {args.output}", file=sys.stderr)
        return 0
    pm = get_plugin_manager()
    source = build_registries(pm).sources.get(args.source)() if args.source else None
    engine = args.engine
    if engine == "auto":
        engine = "memory" if args.output.suffix.lower() in (".hdf5", ".h5") else "local"
    if engine == "local":
        from astro_galflow.scale.stream import DEFAULT_CHUNK_ROWS, stream_infer

        stream_infer(
            args.catalog,
            args.output,
            config=config,
            chunk_rows=args.chunk_rows or DEFAULT_CHUNK_ROWS,
            resume=args.resume,
            overwrite=args.overwrite,
            progress=not args.no_progress,
            pm=pm,
            cutouts=args.cutouts,
            source=source,
        )
        print(f"wrote {args.output}", file=sys.stderr)
        return 0
    if args.output.exists() and not args.overwrite:
        raise FileExistsError(f"{str(args.output)!r} exists; pass --overwrite to replace it")
    if source is not None:
        table = source.read_catalog(args.catalog)
    else:
        table = read_catalog(args.catalog)
    model = load_model(config.model)
    cutouts = resolve_cutouts(table, args.catalog, args.cutouts) if model.requires_cutouts else None
    out = infer_table(table, cutouts, config=config, pm=pm, model=model, source=source, progress=not args.no_progress)
    write_posterior_table(out, args.output, overwrite=args.overwrite)
    flags = out["posterior_flags"]
    no_post = int(((flags & int(PosteriorFlag.NO_POSTERIOR)) != 0).sum())
    print(
        f"wrote {len(out)} rows to {args.output} (model {model.name}, {config.n_samples} samples, "
        f"{no_post} row(s) without posterior, {int((flags != 0).sum())} flagged)",
        file=sys.stderr,
    )
    return 0
