"""``galflow crossmatch TABLE --tap URL --table NAME --radius 1arcsec --out OUT``."""

from __future__ import annotations

import argparse

import astropy.units as u

__all__ = ["add_parser", "run"]


def _angle(text: str) -> u.Quantity:
    try:
        q = u.Quantity(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not an angle such as 1arcsec") from None
    if q.unit.physical_type != "angle":
        raise argparse.ArgumentTypeError(f"{text!r} is not an angle such as 1arcsec")
    return q


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``crossmatch`` subcommand."""
    p = subparsers.add_parser(
        "crossmatch",
        help="join a table with a TAP service's table within a radius (TAP upload)",
        description="Upload the positions of TABLE to a TAP service and join a remote table within a radius.",
    )
    p.add_argument("table", metavar="TABLE", help="any table astropy reads, with ra/dec in degrees")
    p.add_argument("--tap", required=True, metavar="URL", help="TAP service base URL")
    p.add_argument("--table", dest="table_name", required=True, metavar="NAME", help="remote table, schema.table")
    p.add_argument("--radius", type=_angle, default=_angle("1arcsec"), help="match radius (default 1arcsec)")
    p.add_argument("--columns", default=None, help="comma-separated remote columns (default all)")
    p.add_argument("--all-matches", action="store_true", help="keep every pair, not only the nearest")
    p.add_argument(
        "--async",
        dest="mode",
        action="store_const",
        const="async",
        default="sync",
        help="run as an asynchronous TAP job",
    )
    p.add_argument("--retries", type=int, default=3, help="retries of transient failures (default 3)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per HTTP request (default 60)")
    p.add_argument(
        "--out",
        required=True,
        metavar="OUT",
        help="output table; the format follows the extension (.fits, .ecsv, .parquet, .hdf5, .vot/.xml, .csv)",
    )
    p.add_argument("--overwrite", action="store_true")
    return p


def run(args) -> int:
    """Run the cross-match; input problems raise (exit 2), service failures exit 1."""
    import os
    import sys

    from astro_galflow.formats import format_of
    from astro_galflow.sources.base import SourceError
    from astro_galflow.table import read_table, write_table
    from astro_galflow.vo.crossmatch import crossmatch
    from astro_galflow.vo.tap import RetryPolicy

    format_of(args.out)  # an unknown extension is refused before the query runs
    if os.path.exists(args.out) and not args.overwrite:
        raise FileExistsError(f"{args.out} exists (use --overwrite)")
    table = read_table(args.table)
    columns = [c.strip() for c in args.columns.split(",")] if args.columns else None
    try:
        result = crossmatch(
            table,
            tap_url=args.tap,
            table_name=args.table_name,
            radius=args.radius,
            columns=columns,
            nearest=not args.all_matches,
            mode=args.mode,
            policy=RetryPolicy(retries=args.retries, timeout=args.timeout),
        )
    except SourceError as exc:
        print(f"galflow crossmatch: error: {exc}", file=sys.stderr)
        return 1
    write_table(result, args.out, overwrite=args.overwrite)
    print(
        f"{len(result)} match(es) of {len(table)} row(s) written to {args.out} "
        f"({result.meta['n_unmatched']} row(s) without a match)"
    )
    return 0
