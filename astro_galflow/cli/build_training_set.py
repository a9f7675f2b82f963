"""``galflow build-training-set {sdss,lsst,roman} OUTDIR --tap URL ...``."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]

SURVEYS = ("sdss", "lsst", "roman")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``build-training-set`` subcommand."""
    p = subparsers.add_parser(
        "build-training-set",
        help="assemble a training set from a survey archive",
        description=(
            "Query the archive's TAP service page by page (asynchronous jobs), fetch cutouts through SIA, and "
            "write OUTDIR/catalog.ecsv + catalog.cutouts.npy. For sdss: the paper's sample with MPA-JHU labels; "
            "for lsst and roman: catalog rows (in --cone) with the truth labels the archive has. Rerunning with "
            "the same options resumes an interrupted build."
        ),
    )
    p.add_argument("survey", choices=SURVEYS, help="archive")
    p.add_argument("outdir", metavar="OUTDIR")
    p.add_argument("--tap", metavar="URL", default=None, help="TAP service (default: the survey's conf.tap_url)")
    p.add_argument("--sia", metavar="URL", default=None, help="SIA service for cutouts (default: conf.sia_url)")
    p.add_argument("--schema", default=None, help="sdss: schema of the CAS tables (default: conf.schema)")
    p.add_argument("--page-size", type=int, default=5000, help="rows per TAP job (default 5000)")
    p.add_argument("--max-rows", type=int, default=None, help="stop after this many rows")
    p.add_argument("--z-max", type=float, default=0.3, help="sdss: maximum redshift (default 0.3)")
    p.add_argument(
        "--cone",
        nargs=3,
        metavar=("RA", "DEC", "RADIUS_DEG"),
        type=float,
        default=None,
        help="lsst/roman: restrict to a cone (degrees)",
    )
    p.add_argument("--no-cutouts", dest="cutouts", action="store_false", help="catalog only")
    p.add_argument(
        "--sync",
        dest="mode",
        action="store_const",
        const="sync",
        default="async",
        help="synchronous queries instead of asynchronous jobs",
    )
    return p


def _source(args):
    if args.survey == "sdss":
        from astro_galflow.sources.sdss import SDSSSource

        return SDSSSource(tap_url=args.tap, sia_url=args.sia, schema=args.schema)
    if args.survey == "lsst":
        from astro_galflow.sources.lsst import LSSTSource

        return LSSTSource(tap_url=args.tap, sia_url=args.sia)
    from astro_galflow.sources.roman import RomanSource

    return RomanSource(tap_url=args.tap, sia_url=args.sia)


def run(args) -> int:
    """Build (or resume) the training set; service failures exit 1 with the state kept."""
    import sys

    import astropy.units as u
    from astropy.coordinates import SkyCoord

    from astro_galflow.sources.base import SourceError
    from astro_galflow.vo.training_set import builder_for

    region = None
    if args.cone is not None:
        ra, dec, radius = args.cone
        region = (SkyCoord(ra * u.deg, dec * u.deg), radius * u.deg)
    builder = builder_for(
        _source(args),
        args.outdir,
        page_size=args.page_size,
        max_rows=args.max_rows,
        z_max=args.z_max,
        region=region,
        cutouts=args.cutouts,
        mode=args.mode,
    )

    def progress(state):
        print(f"page {len(state['pages'])}: {state['rows']} rows", file=sys.stderr)

    try:
        path = builder.run(progress=progress)
    except SourceError as exc:
        print(f"galflow build-training-set: error: {exc}; rerun the same command to resume", file=sys.stderr)
        return 1
    print(f"training set written to {path}")
    return 0
