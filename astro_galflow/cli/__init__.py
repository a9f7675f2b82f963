"""The ``galflow`` command.

Each subcommand is a module of this package exposing ``add_parser(subparsers)`` and
``run(args) -> int``; modules are imported only when their command runs, so
``galflow --help`` stays fast.

Exit codes (documented in ``docs/user_guide/cli.rst``):

===  ==========================================================================
 0   success
 1   runtime failure: the run started and failed (a model that cannot compute,
     an I/O error such as a full disk, an unexpected error)
 2   usage or input error: bad options, a missing or existing file, an unknown
     model, source, baseline or file extension, unusable input columns
130  interrupted (Ctrl-C)
===  ==========================================================================

Every error is one line on standard error, ``galflow COMMAND: error: ...``; set
``GALFLOW_TRACEBACK=1`` to see the traceback of an unexpected one.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from astro_galflow import __version__
from astro_galflow.exceptions import GalflowError, InputError, ModelError
from astro_galflow.registry import RegistryError

__all__ = ["main", "COMMANDS", "EXIT_OK", "EXIT_RUNTIME", "EXIT_USAGE", "EXIT_INTERRUPTED"]

#: Subcommand name -> (module, one-line help).
COMMANDS = {
    "simulate": ("astro_galflow.cli.simulate", "simulate a survey catalog and its gri cutouts"),
    "train": ("astro_galflow.cli.train", "train the VAE, the posterior heads or a baseline"),
    "infer": ("astro_galflow.cli.infer", "catalog (+ cutouts) in, posterior table out"),
    "evaluate": ("astro_galflow.cli.evaluate", "metrics, calibration and figures on a held-out split"),
    "calibrate": ("astro_galflow.cli.calibrate", "fit a model's post-hoc calibration on a held-out split"),
    "demo": ("astro_galflow.cli.demo", "simulate a sky patch, infer with sim-default, write table + figures"),
    "models": (
        "astro_galflow.cli.models",
        "list shipped and installed models: inputs, parameters, size, training data",
    ),
    "plugins": ("astro_galflow.cli.plugins", "list registered plugins, sources, encoders, heads, backends"),
    "crossmatch": ("astro_galflow.cli.crossmatch", "cross-match a table against a TAP service"),
    "build-training-set": ("astro_galflow.cli.build_training_set", "assemble a training set from a survey archive"),
}

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

#: Errors that mean "the command line or its inputs are wrong" (exit 2); a model is an
#: input (a name or a directory), so a model that cannot be found or verified is one too.
USAGE_ERRORS = (InputError, RegistryError, ModelError, FileExistsError, FileNotFoundError)


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Append ``(default: X)`` to an option's help unless it has no default or names it already."""

    def _get_help_string(self, action):
        text = action.help or ""
        # identity, not ==: a default of 0 is worth showing, False (a plain flag) is not
        if any(action.default is v for v in (None, False, argparse.SUPPRESS)) or "default" in text:
            return text
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """Every (sub)command's ``--help`` shows the defaults of its options."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        """A usage error is one line (argparse prints the whole usage first) and exits 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(argv) -> tuple[argparse.ArgumentParser, object]:
    """Parser with the one subcommand named in ``argv`` fully loaded."""
    parser = _Parser(
        prog="galflow",
        description="Calibrated joint posteriors of galaxy physics from survey images and photometry.",
        epilog="Exit codes: 0 success, 1 runtime failure, 2 usage or input error, 130 interrupted.",
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
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a usage error argparse printed (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if module is None:
        parser.print_help()
        return EXIT_USAGE
    args.argv = ["galflow", *argv]
    try:
        return int(module.run(args) or EXIT_OK)
    except USAGE_ERRORS as exc:
        _error(args.command, exc)
        return EXIT_USAGE
    except GalflowError as exc:
        _error(args.command, exc)
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        print(f"galflow {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if os.environ.get("GALFLOW_TRACEBACK"):
            raise
        _error(args.command, f"{type(exc).__name__}: {exc} (set GALFLOW_TRACEBACK=1 to see the traceback)")
        return EXIT_RUNTIME


def _error(command: str, exc) -> None:
    """Print ``exc`` as the one line ``galflow COMMAND: error: ...`` on standard error."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    print(f"galflow {command}: error: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
