"""``galflow calibrate``: fit a model's post-hoc calibration on a held-out split."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``calibrate`` subcommand."""
    parser = subparsers.add_parser(
        "calibrate",
        help="fit a model's post-hoc calibration on a held-out split",
        description=(
            "Sample MODEL (without any calibration it has) on the rows of CATALOG in one split, measure the PIT "
            "of every labelled parameter and store the marginal quantile recalibration (Kuleshov et al. 2018) "
            "in the model card. Fit on 'val', never on the split you report. Writes a copy of the model "
            "directory to --out, or the model directory itself with --in-place."
        ),
    )
    parser.add_argument("model", help="shipped model name or model directory")
    parser.add_argument("catalog", type=Path, help="labelled catalog in the astro_galflow input convention")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, help="write the calibrated model to this new directory")
    where.add_argument("--in-place", action="store_true", help="write the calibration into MODEL's own card")
    parser.add_argument(
        "--split",
        default="val",
        choices=["val", "all"],
        help="rows the fit uses: the catalog's val split (default), or all rows of a catalog held out as a whole",
    )
    parser.add_argument("-n", "--n-samples", type=int, default=1000, help="posterior samples per galaxy")
    parser.add_argument("--seed", type=int, default=0, help="noise seed")
    return parser


def run(args) -> int:
    """Fit and write."""
    import numpy as np

    from astro_galflow.calibration import fit_calibration
    from astro_galflow.evaluation.evaluate import read_labelled_catalog
    from astro_galflow.exceptions import InputError
    from astro_galflow.model_card import write_calibration
    from astro_galflow.models import load_model

    if args.n_samples < 10:
        raise InputError(f"--n-samples must be at least 10, got {args.n_samples}")
    if args.out is not None and args.out.exists():
        raise InputError(f"--out {str(args.out)!r} exists; choose a new directory")
    model = load_model(args.model)
    table, cutouts, index = read_labelled_catalog(args.catalog, model)
    calibration = fit_calibration(
        model,
        table,
        cutouts,
        index,
        split=args.split,
        n_samples=args.n_samples,
        seed=args.seed,
        provenance={"catalog": str(args.catalog), "command": " ".join(getattr(args, "argv", []))},
    )
    if not calibration.maps:
        raise InputError(f"no parameter of {model.name!r} has enough labelled {args.split!r} rows to calibrate")
    target = model.directory
    if args.out is not None:
        shutil.copytree(model.directory, args.out, ignore=shutil.ignore_patterns("checkpoints"))
        target = args.out
    card = write_calibration(target, calibration)
    raw = calibration.fitted_on["raw_pit_ks"]
    for name, (levels, model_levels) in calibration.maps.items():
        lo68, hi68, lo95, hi95 = np.interp([0.16, 0.84, 0.025, 0.975], levels, model_levels)
        print(
            f"{name}: raw {args.split} PIT KS {raw[name]['ks']:.3f} (p = {raw[name]['p_value']:.2g}); "
            f"calibrated 68 % interval = the model's quantiles {lo68:.3f}-{hi68:.3f}, 95 % = {lo95:.3f}-{hi95:.3f}",
            file=sys.stderr,
        )
    if any(raw[name]["p_value"] > 0.05 for name in calibration.maps):
        print(
            "note: where p > 0.05 this split cannot tell the raw model from a calibrated one; the map then "
            "mostly fits noise (~0.5/sqrt(rows) in CDF level): check it on other rows before shipping it",
            file=sys.stderr,
        )
    print(f"calibration written to {card}", file=sys.stderr)
    return 0
