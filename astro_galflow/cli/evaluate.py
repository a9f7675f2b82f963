"""``galflow evaluate``: metrics, calibration, baselines and figures on a held-out split."""

from __future__ import annotations

import sys
import time
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``evaluate`` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="metrics, calibration and figures on a held-out split",
        description=(
            "Evaluate MODEL on the rows of CATALOG in one split (the deterministic split of galflow train) and "
            "write REPORTDIR/metrics.json and PNG figures: R2, RMSE, bias, sigma_NMAD (and redshift outlier "
            "rates), PIT histogram + KS, 68/95 % coverage, CRPS, aleatoric/epistemic spread, detectability; "
            "with --baselines also kNN/MLP/gradient-boosting baselines fit on the train rows of the same catalog, "
            "with --umap the UMAP figure. Prints one line per step with its duration."
        ),
    )
    parser.add_argument("model", help="shipped model name or model directory")
    parser.add_argument("catalog", type=Path, help="labelled catalog in the astro_galflow input convention")
    parser.add_argument("--out", type=Path, required=True, help="report directory to write")
    parser.add_argument("--split", default="test", choices=["test", "val", "train", "all"], help="rows evaluated")
    parser.add_argument("-n", "--n-samples", type=int, default=1000, help="posterior samples per galaxy")
    parser.add_argument("--seed", type=int, default=0, help="noise seed")
    parser.add_argument(
        "--baselines",
        nargs="?",
        const="knn,mlp,gbm",
        default="",
        metavar="LIST",
        help="also fit these comma-separated baselines on the train rows (bare flag: knn,mlp,gbm; minutes on "
        "thousands of rows; default: none)",
    )
    parser.add_argument(
        "--no-calibration", action="store_true", help="evaluate the raw flow, without the model's calibration"
    )
    parser.add_argument("--no-figures", action="store_true", help="write metrics.json only")
    parser.add_argument(
        "--umap", action="store_true", help="also draw the UMAP embedding figure (minutes on thousands of rows)"
    )
    return parser


def run(args) -> int:
    """Evaluate and write the report."""
    from astro_galflow.evaluation.baselines import BASELINES
    from astro_galflow.evaluation.evaluate import evaluate_model, read_labelled_catalog
    from astro_galflow.evaluation.report import standard_figures, write_report
    from astro_galflow.exceptions import InputError
    from astro_galflow.models import load_model

    baselines = tuple(b for b in args.baselines.split(",") if b)
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise InputError(f"unknown baseline(s) {', '.join(unknown)}; choose from {', '.join(BASELINES)}")
    if args.n_samples < 2:
        raise InputError(f"--n-samples must be at least 2, got {args.n_samples}")
    if not args.catalog.is_file():
        raise InputError(f"catalog {str(args.catalog)!r} does not exist")

    def log(line):
        print(f"galflow evaluate: {line}", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    model = load_model(args.model)
    table, cutouts, index = read_labelled_catalog(args.catalog, model)
    log(f"model {model.name} and {len(table):,} catalog rows loaded: {time.perf_counter() - t0:.1f} s")
    result = evaluate_model(
        model,
        table,
        cutouts,
        index,
        split=args.split,
        n_samples=args.n_samples,
        seed=args.seed,
        baselines=baselines,
        calibrate=not args.no_calibration,
        log=log,
    )
    result.metrics["catalog"] = str(args.catalog)
    result.metrics["command"] = " ".join(getattr(args, "argv", []))
    figures = {}
    if not args.no_figures:
        t0 = time.perf_counter()
        if args.umap:
            log(f"figures with UMAP of {result.metrics['n_rows']:,} rows (UMAP takes minutes on thousands) ...")
        figures = standard_figures(result, model=model, umap=args.umap)
        log(f"{len(figures)} figures: {time.perf_counter() - t0:.1f} s")
    out = write_report(args.out, result.metrics, figures)
    for p, m in result.metrics["parameters"].items():
        best = max(result.metrics["baselines"].get(p, {}).items(), key=lambda kv: kv[1]["r2"], default=None)
        line = (
            f"{p}: R2={m['r2']:.3f} sigma_NMAD={m['sigma_nmad']:.4f} PIT-KS={m['pit_ks']:.3f} "
            f"cov68={m['coverage_68']:.3f} cov95={m['coverage_95']:.3f} CRPS={m['crps']:.4g}"
        )
        if best is not None:
            line += f" | best baseline {best[0]} R2={best[1]['r2']:.3f}"
        print(line, file=sys.stderr)
    print(f"report written to {out} ({result.metrics['n_rows']} {args.split} rows)", file=sys.stderr)
    return 0
