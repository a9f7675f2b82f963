"""``galflow simulate``: write a simulated Main-Galaxy-Sample-like catalog and its cutouts."""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``simulate`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "simulate",
        help="simulate an SDSS-like galaxy catalog with truth and gri cutouts",
        description=(
            "Draw galaxies from published scaling relations, keep those with r < 17.77 (SDSS Main "
            "Galaxy Sample), and write the catalog (format from the extension: .fits, .ecsv, "
            ".parquet, .hdf5) plus its cutouts (.cutouts.npy beside it)."
        ),
    )
    parser.add_argument("output", help="catalog file to write")
    parser.add_argument("-n", "--n", type=int, default=1000, help="number of galaxies (cutouts: 0.31 MB per galaxy)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--no-images", action="store_true", help="photometry and truth only, no cutouts")
    parser.add_argument(
        "--footprint",
        nargs=4,
        type=float,
        metavar=("RA_MIN", "RA_MAX", "DEC_MIN", "DEC_MAX"),
        help="sky box in degrees (default 148 152 0.2 4.2)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar while rendering")
    return parser


def run(args) -> int:
    """Run ``galflow simulate``; returns the exit code (errors raise :class:`InputError`)."""
    from astro_galflow.cutouts import CUTOUT_SIZE, cutouts_path_for
    from astro_galflow.exceptions import InputError
    from astro_galflow.simulation.catalog import table_format
    from astro_galflow.sources.simulated import SimulatedSource

    if args.n < 1:
        raise InputError(f"-n must be a positive number of galaxies, got {args.n}")
    table_format(args.output)
    source = SimulatedSource(seed=args.seed, footprint=args.footprint)
    if os.path.exists(args.output) and not args.overwrite:
        raise InputError(f"catalog file {args.output!r} exists; pass --overwrite to replace it")
    cut_path = None if args.no_images else cutouts_path_for(args.output)
    if cut_path is not None and cut_path.exists() and not args.overwrite:
        raise InputError(f"cutouts file {str(cut_path)!r} exists; pass --overwrite to replace it")
    what = "photometry and truth"
    if cut_path is not None:
        from astro_galflow.simulation.render import IMAGE_BANDS

        size = args.n * 4 * len(IMAGE_BANDS) * CUTOUT_SIZE**2 / 1e6
        what += f" + {''.join(IMAGE_BANDS)} cutouts ({size:,.1f} MB to {cut_path})"
    print(f"simulating {args.n:,} galaxies: {what} ...", file=sys.stderr, flush=True)
    catalog = source.simulate(
        args.n, render=not args.no_images, cutouts_path=cut_path, progress=not args.no_progress and cut_path is not None
    )
    path = catalog.write(args.output, overwrite=args.overwrite)
    table = catalog.table
    z = np.asarray(table["redshift"])
    r = np.asarray(table["mag_r"].value)
    print(f"wrote {len(table)} galaxies to {path}")
    if catalog.cutouts is not None:
        rate = len(table) / catalog.render_seconds
        print(f"cutouts: {cut_path} {catalog.cutouts.shape} float32, rendered at {rate:.0f} galaxies/s")
    print(f"redshift: median {np.median(z):.3f}, range {z.min():.3f}-{z.max():.3f}")
    print(f"r: median {np.median(r):.2f}, range {r.min():.2f}-{r.max():.2f}")
    print(
        f"quenched fraction {np.mean(table['quenched']):.2f}, "
        f"metallicity detectable {np.mean(table['metallicity_detectable']):.2f}"
    )
    return 0
