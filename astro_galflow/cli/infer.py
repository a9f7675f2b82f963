"""``galflow infer``: catalog (+ cutouts) in, posterior table out, on any engine."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

__all__ = ["add_parser", "run", "config_from_args"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**63), got {value}")
    return value


def _quantiles(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(q) for q in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    bad = [q for q in values if not 0.0 < q < 1.0]
    if bad:
        raise argparse.ArgumentTypeError(f"quantiles must lie strictly between 0 and 1, got {bad[0]}")
    return values


def _device(text: str) -> str:
    kind, _, index = text.partition(":")
    if kind not in ("cpu", "cuda") or (index and not index.isdigit()) or (kind == "cpu" and index):
        raise argparse.ArgumentTypeError(f"must be 'cpu', 'cuda' or 'cuda:N', got {text!r}")
    return text


def add_parser(subparsers):
    """Add the ``infer`` subcommand."""
    parser = subparsers.add_parser(
        "infer",
        help="catalog (+ cutouts) in, posterior table out",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description=(
            "Infer joint posteriors for every row of CATALOG and write them to OUTPUT. Formats follow the "
            "extensions (.fits, .ecsv, .parquet, .hdf5 out; also .csv, .vot in). Rows that cannot be inferred are "
            "kept and flagged. Every engine gives the same table for the same seed."
        ),
    )
    parser.add_argument("catalog", type=Path, help="input catalog in the astro_galflow input convention")
    parser.add_argument("output", type=Path, help="posterior table to write (a directory for --engine dask)")
    parser.add_argument("--model", default="sim-photometry", help="shipped model name or model directory")
    parser.add_argument(
        "--source",
        help="registered source that reads CATALOG in its survey's native layout (see `galflow plugins`)",
    )
    parser.add_argument("--cutouts", type=Path, help="cutouts .npy (default: the file the catalog meta names)")
    parser.add_argument("-n", "--n-samples", type=_positive_int, default=1000, help="posterior samples per object")
    parser.add_argument("--seed", type=_seed, default=0, help="noise seed (same seed, same table)")
    parser.add_argument("--batch-size", type=_positive_int, default=512, help="objects per forward pass")
    parser.add_argument(
        "--backend",
        default="auto",
        help="a registered backend (`galflow plugins`), or auto: the model's preferred backends that run here",
    )
    parser.add_argument("--device", type=_device, default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--quantiles", type=_quantiles, default="0.16,0.5,0.84", help="comma-separated quantiles")
    parser.add_argument("--store-samples", action="store_true", help="also write the N x S sample columns")
    parser.add_argument(
        "--no-calibration", action="store_true", help="skip the model's post-hoc calibration (raw flow posteriors)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    backends = parser.add_argument_group("backend settings")
    backends.add_argument("--threads", type=_positive_int, help="ONNX Runtime threads (default: torch's)")
    backends.add_argument("--rows-per-call", type=_positive_int, help="galaxies per ONNX Runtime call")
    backends.add_argument(
        "--onnx-cache-dir",
        help="ONNX export cache folder ('' disables; default $GALFLOW_CACHE_DIR or astropy's cache)",
    )
    backends.add_argument(
        "--no-restructure", action="store_true", help="export the plain sampler graph (for comparisons)"
    )
    scale = parser.add_argument_group("engines (see the 'Survey scale' guide)")
    scale.add_argument(
        "--engine",
        choices=("auto", "memory", "local", "dask"),
        default="auto",
        help="local (= auto): stream in chunks with a resume journal, memory bounded by --chunk-rows; memory: "
        "whole catalog in RAM; dask: HATS partitions on a Dask cluster (CATALOG is a HATS catalog or a file to "
        "convert; OUTPUT a HATS catalog)",
    )
    scale.add_argument("--chunk-rows", type=_positive_int, default=None, help="rows per chunk of the local engine")
    scale.add_argument("--resume", action="store_true", help="continue an interrupted local/dask run")
    scale.add_argument("--workers", type=_positive_int, default=2, help="Dask workers of the local cluster")
    return parser


def config_from_args(args):
    """:class:`~astro_galflow.config.GalflowConfig` from parsed arguments."""
    from astro_galflow.config import BackendSettings, GalflowConfig

    return GalflowConfig(
        model=args.model,
        n_samples=args.n_samples,
        seed=args.seed,
        backend=args.backend,
        device=args.device,
        batch_size=args.batch_size,
        quantiles=args.quantiles if isinstance(args.quantiles, tuple) else _quantiles(args.quantiles),
        store_samples=args.store_samples,
        calibrate=not args.no_calibration,
        source=args.source,
        backend_settings=BackendSettings(
            threads=args.threads,
            rows_per_call=args.rows_per_call,
            restructure=not args.no_restructure,
            onnx_cache_dir=args.onnx_cache_dir,
        ),
        command=" ".join(args.argv),
    )


def _check_before_loading(args) -> None:
    """What can be refused without loading a model: missing input, unknown formats, an output in the way."""
    from astro_galflow.exceptions import InputError
    from astro_galflow.formats import format_of

    if args.engine == "dask":
        if not args.catalog.exists():
            raise InputError(f"catalog {os.fspath(args.catalog)!r} does not exist")
        if args.output.exists() and args.output.is_file():
            raise InputError(f"output {os.fspath(args.output)!r} is a file; --engine dask writes a HATS directory")
        return
    if not args.catalog.is_file():
        raise InputError(f"catalog file {os.fspath(args.catalog)!r} does not exist")
    if args.source is None:
        format_of(args.catalog)
    format_of(args.output, posterior=True)
    if args.cutouts is not None and not args.cutouts.is_file():
        raise InputError(f"cutouts file {os.fspath(args.cutouts)!r} does not exist")
    partial = args.output.with_name(args.output.name + ".parts")
    if args.output.exists() and not args.overwrite and not (args.resume and partial.exists()):
        raise InputError(f"output {os.fspath(args.output)!r} exists; pass --overwrite to replace it")
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise InputError(f"--device {args.device}: no CUDA device is visible to torch here")


def _written_flags(path: Path):
    """``(posterior_flags, model name)`` of a written table, reading no other column where the format allows."""
    from astro_galflow.formats import format_of

    if format_of(path).name == "parquet":
        import pyarrow.parquet as pq
        from astropy.table.meta import get_header_from_yaml

        flags = pq.read_table(path, columns=["posterior_flags"], use_threads=False).column(0).to_numpy()
        yaml = (pq.read_schema(path).metadata or {}).get(b"table_meta_yaml", b"").decode().splitlines()
        meta = get_header_from_yaml(yaml).get("meta", {}) if yaml else {}
        return np.asarray(flags), meta.get("model")
    from astro_galflow.table import read_posterior_table

    table = read_posterior_table(path)
    return np.asarray(table["posterior_flags"]), table.meta.get("model")


def run(args) -> int:
    """Run inference on the chosen engine and write the table."""
    from astro_galflow.flags import PosteriorFlag
    from astro_galflow.table import write_posterior_table

    _check_before_loading(args)
    config = config_from_args(args)
    progress = not args.no_progress
    if args.engine == "dask":
        from astro_galflow.scale.dask_engine import dask_infer

        dask_infer(
            args.catalog,
            args.output,
            config=config,
            cutouts=args.cutouts,
            n_workers=args.workers,
            resume=args.resume,
            overwrite=args.overwrite,
            progress=progress,
        )
        print(f"wrote HATS catalog {args.output}", file=sys.stderr)
        return 0
    if args.engine == "memory":
        from astro_galflow.pipeline import infer_table
        from astro_galflow.run import read_input_table

        table = read_input_table(args.catalog, config)
        out = infer_table(table, args.cutouts, config=config, progress=progress)
        write_posterior_table(out, args.output, overwrite=args.overwrite)
        flags, model = np.asarray(out["posterior_flags"]), out.meta.get("model")
    else:
        from astro_galflow.scale.stream import DEFAULT_CHUNK_ROWS, stream_infer

        stream_infer(
            args.catalog,
            args.output,
            config=config,
            chunk_rows=args.chunk_rows or DEFAULT_CHUNK_ROWS,
            resume=args.resume,
            overwrite=args.overwrite,
            progress=progress,
            cutouts=args.cutouts,
        )
        flags, model = _written_flags(args.output)
    no_post = int(((flags & int(PosteriorFlag.NO_POSTERIOR)) != 0).sum())
    print(
        f"wrote {len(flags)} rows to {args.output} (model {model}, {config.n_samples} samples, "
        f"{no_post} row(s) without posterior, {int((flags != 0).sum())} flagged)",
        file=sys.stderr,
    )
    return 0
