"""The ``galflow`` command.

Each subcommand is a module of this package exposing ``add_parser(subparsers)`` and
``run(args) -> int``; modules are imported only when their command runs, so
``galflow --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from astro_galflow import __version__
from astro_galflow.exceptions import GalflowError, InputError
from astro_galflow.registry import RegistryError

__all__ = ["main", "COMMANDS"]

#: Subcommand name -> (module, one-line help).
COMMANDS = {
    "simulate": ("astro_galflow.cli.simulate", "simulate a survey catalog and its gri cutouts"),
    "train": ("astro_galflow.cli.train", "train the VAE, the posterior heads or a baseline"),
    "infer": ("astro_galflow.cli.infer", "catalog (+ cutouts) in, posterior table out"),
    "evaluate": ("astro_galflow.cli.evaluate", "metrics, calibration and figures on a held-out split"),
    "calibrate": ("astro_galflow.cli.calibrate", "fit a model's post-hoc calibration on a held-out split"),
    "demo": ("astro_galflow.cli.demo", "simulate a sky patch, infer with sim-default, write table + figures"),
    "plugins": ("astro_galflow.cli.plugins", "list registered plugins, sources, encoders, heads, backends"),
    "crossmatch": ("astro_galflow.cli.crossmatch", "cross-match a table against a TAP service"),
    "build-training-set": ("astro_galflow.cli.build_training_set", "assemble a training set from a survey archive"),
}

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2


def build_parser(argv) -> tuple[argparse.ArgumentParser, object]:
    """Parser with the one subcommand named in ``argv`` fully loaded."""
    parser = argparse.ArgumentParser(
        prog="galflow",
        description="Calibrated joint posteriors of galaxy physics from survey images and photometry.",
    )
    parser.add_argument("--version", action="version", version=f"astro_galflow {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = next((a for a in argv if a in COMMANDS), None)
    module = None
    for name, (module_name, help_text) in COMMANDS.items():
        if name == wanted:
            module = importlib.import_module(module_name)
            module.add_parser(sub)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser, module


def main(argv=None) -> int:
    """Entry point of the ``galflow`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, module = build_parser(argv)
    args = parser.parse_args(argv)
    if module is None:
        parser.print_help()
        return EXIT_USAGE
    args.argv = ["galflow", *argv]
    try:
        return int(module.run(args) or EXIT_OK)
    except (InputError, RegistryError, FileExistsError, FileNotFoundError) as exc:
        print(f"galflow {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except GalflowError as exc:
        print(f"galflow {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        print(f"galflow {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
