"""``galflow train``: train the image VAE or the posterior heads.

Examples
--------
::

    galflow train vae sim.ecsv --out models/vae
    galflow train flows sim.ecsv --vae models/vae --out models/sim-default --ensemble 3
    galflow train flows sim.ecsv --photometry-only --out models/sim-photometry
    galflow train flows sdss.ecsv --photometry-only --parameters redshift --out models/sdss-photoz
    galflow train flows sim.ecsv --photometry-only --head gaussian --out models/baseline
"""

from __future__ import annotations

import argparse
import shlex
import sys

from astro_galflow.exceptions import GalflowError

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand (with ``vae`` and ``flows`` stages)."""
    parser = subparsers.add_parser(
        "train",
        help="train the image VAE or the posterior heads",
        description="Train the image VAE (stage 1) or the posterior heads (stage 2) on a catalog with labels.",
    )
    stages = parser.add_subparsers(dest="stage", required=True, metavar="STAGE")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("catalog", help="training catalog (input convention + label columns; cutouts file beside it)")
    common.add_argument("--out", required=True, help="output directory (weights + card.json)")
    common.add_argument("--epochs", type=int, help="maximum number of epochs")
    common.add_argument("--patience", type=int, help="stop after this many epochs without validation improvement")
    common.add_argument("--batch-size", type=int, help="training batch size")
    common.add_argument("--lr", type=float, help="Adam learning rate")
    common.add_argument("--seed", type=int, default=0, help="random seed")
    common.add_argument("--resume", action="store_true", help="continue from the checkpoints in --out")
    common.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    common.add_argument("--quiet", action="store_true", help="no per-epoch progress lines")

    vae = stages.add_parser("vae", parents=[common], help="train the image VAE on the catalog's cutouts")
    vae.set_defaults(epochs=30, patience=5, batch_size=32, lr=1e-4)

    flows = stages.add_parser("flows", parents=[common], help="train the posterior heads")
    flows.set_defaults(epochs=200, patience=15, batch_size=256, lr=1e-3)
    flows.add_argument("--vae", help="trained VAE directory (image + photometry model)")
    flows.add_argument("--photometry-only", action="store_true", help="no image features")
    flows.add_argument("--parameters", help="comma-separated parameters to infer (default: every label column present)")
    flows.add_argument("--head", choices=("flow", "gaussian"), default="flow", help="paper flows or Gaussian baseline")
    flows.add_argument("--ensemble", type=int, default=1, help="number of independently trained members")
    flows.add_argument("--with-errors", action="store_true", help="also feed the magnitude errors")
    flows.add_argument("--name", help="model name written in the card (default: the --out folder name)")
    return parser


def run(args) -> int:
    """Run ``galflow train``; return the exit code."""
    log = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    command = shlex.join(getattr(args, "argv", None) or ["galflow", *sys.argv[1:]])
    if args.stage == "flows" and not args.photometry_only and not args.vae:
        print("galflow train flows: give --vae DIR (image model) or --photometry-only", file=sys.stderr)
        return 2
    if args.epochs < 1 or args.batch_size < 1 or args.patience < 0:
        print("galflow train: --epochs and --batch-size must be >= 1, --patience >= 0", file=sys.stderr)
        return 2
    if args.stage == "flows" and args.ensemble < 1:
        print(f"galflow train flows: --ensemble must be >= 1, got {args.ensemble}", file=sys.stderr)
        return 2
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    try:
        if args.stage == "vae":
            from astro_galflow.training.vae_stage import train_vae

            train_vae(
                args.catalog, args.out, epochs=args.epochs, patience=args.patience, batch_size=args.batch_size,
                lr=args.lr, seed=args.seed, resume=args.resume, command=command, log=log,
            )  # fmt: skip
        else:
            from astro_galflow.training.flow_stage import train_flows

            parameters = [p.strip() for p in args.parameters.split(",") if p.strip()] if args.parameters else None
            card = train_flows(
                args.catalog, args.out, vae_dir=None if args.photometry_only else args.vae, parameters=parameters,
                head=args.head, ensemble=args.ensemble, epochs=args.epochs, patience=args.patience, seed=args.seed,
                resume=args.resume, batch_size=args.batch_size, lr=args.lr, with_errors=args.with_errors,
                name=args.name, command=command, log=log,
            )  # fmt: skip
            for p, m in card["metrics"]["validation"].items():
                log(
                    f"  {p:16s} R2 {m['r2']:.3f}  RMSE {m['rmse']:.4f}  cov68 {m['coverage_68']:.3f}  cov95 {m['coverage_95']:.3f}"
                )
    except GalflowError:
        raise  # the galflow entry point reports these with their exit codes
    except ValueError as exc:
        print(f"galflow train: error: {exc}", file=sys.stderr)
        return 2
    return 0
