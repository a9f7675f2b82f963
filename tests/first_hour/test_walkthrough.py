"""A new user's first hour, scripted: the README's "Use" commands at small sizes and the usual mistakes.

Every command runs through the installed ``galflow`` console script in a subprocess, as a
user types it. Every mistake must exit with the documented code (2: usage or input error),
print exactly one line on standard error, without a traceback or a Python keyword for a
flag, and leave nothing behind (no partial output, no ``OUT.parts/``).

Inference uses ``--backend eager`` so that the walk-through does not wait for the one-time
ONNX export (the backends are tested in ``tests/backends``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

GALFLOW = shutil.which("galflow", path=str(Path(sys.executable).parent)) or shutil.which("galflow")


def galflow(*args, cwd, check=True):
    """Run ``galflow ARGS`` in ``cwd``; return the completed process (stdout, stderr as text)."""
    assert GALFLOW, "the galflow console script is not installed beside this Python"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    env.pop("GALFLOW_TRACEBACK", None)
    result = subprocess.run([GALFLOW, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, (
            f"galflow {' '.join(map(str, args))} exited {result.returncode}:\n{result.stderr}"
        )
    return result


def listing(folder: Path) -> dict:
    """Every path under ``folder`` with its size and modification time."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def assert_clean_error(result, *, mentions: str, code: int = 2):
    """Exit ``code``, exactly one line on stderr naming ``mentions``, no traceback, no Python keywords."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == code, (result.returncode, result.stderr)
    assert len(lines) == 1, f"expected one error line, got:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    assert re.search(r"\b[a-z_]+=(True|False)\b", lines[0]) is None, f"Python keyword in a CLI message: {lines[0]}"
    assert mentions in lines[0], f"{mentions!r} not in {lines[0]!r}"


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """A working folder where the README's first commands have run."""
    work = tmp_path_factory.mktemp("first-hour")
    galflow("simulate", "sim.fits", "-n", "60", "--seed", "1", "--no-progress", cwd=work)
    # calibration needs 50 labelled validation rows (15 % of a catalog): photometry only, fast
    galflow("simulate", "labelled.fits", "-n", "400", "--seed", "2", "--no-images", cwd=work)
    return work


def test_readme_use_commands(session):
    work = session
    assert (work / "sim.fits").is_file() and (work / "sim.cutouts.npy").is_file()

    galflow("infer", "sim.fits", "post.parquet", "--model", "sim-default", "-n", "10", "--backend", "eager", cwd=work)
    from astro_galflow.table import read_posterior_table

    post = read_posterior_table(work / "post.parquet")
    assert len(post) == 60 and "redshift_p50" in post.colnames

    plugins = galflow("plugins", cwd=work).stdout
    assert "skyserver" in plugins and "galflow models" in plugins
    models = galflow("models", cwd=work).stdout
    for name in ("sim-default", "sim-photometry", "sdss-photoz"):
        assert name in models
    assert "trained on" in models and "MB" in models

    evaluated = galflow(
        "evaluate", "sim-default", "sim.fits", "--out", "report", "--split", "test", "-n", "50", cwd=work
    )
    assert "report written to report" in evaluated.stderr
    assert json.loads((work / "report" / "metrics.json").read_text())["n_rows"] > 0

    calibrated = galflow("calibrate", "sim-photometry", "labelled.fits", "--out", "cal", "-n", "50", cwd=work)
    assert (work / "cal" / "card.json").is_file(), calibrated.stderr


def test_help_shows_defaults(session):
    for command in ("simulate", "infer", "evaluate", "demo", "calibrate"):
        assert "(default:" in galflow(command, "--help", cwd=session).stdout, command


def test_demo_small(tmp_path):
    # sim-photometry: no rendering, no VAE (the demo with images: tests/host/test_cli.py)
    args = ["demo", "--out", "demo", "-n", "30", "--n-samples", "20", "--model", "sim-photometry", "--backend", "eager"]
    result = galflow(*args, cwd=tmp_path)
    assert "[1/4] simulating 30 galaxies" in result.stderr and "[4/4] done" in result.stderr
    assert "first result after" in result.stdout and "demo/posteriors.parquet" in result.stdout
    assert (tmp_path / "demo" / "posteriors.parquet").is_file()
    assert_clean_error(galflow(*args, cwd=tmp_path, check=False), mentions="--overwrite")


MISTAKES = {
    "wrong model name": (["infer", "sim.fits", "out.parquet", "--model", "sim-defualt"], "sim-defualt"),
    "missing catalog": (["infer", "missing.fits", "out.parquet"], "missing.fits"),
    "unknown output extension": (["infer", "sim.fits", "out.xyz"], ".xyz"),
    "existing output without --overwrite": (["infer", "sim.fits", "sim.fits"], "--overwrite"),
    "bad option": (["infer", "sim.fits", "out.parquet", "--n-smaples", "5"], "--n-smaples"),
    "negative sample count": (["infer", "sim.fits", "out.parquet", "-n", "-3"], "--n-samples"),
    "simulate unknown extension": (["simulate", "out.xyz", "-n", "5"], ".xyz"),
    "simulate existing catalog": (["simulate", "sim.fits", "-n", "5"], "--overwrite"),
    "evaluate wrong model": (["evaluate", "no-such-model", "sim.fits", "--out", "rep"], "no-such-model"),
    "evaluate missing catalog": (["evaluate", "sim-default", "missing.fits", "--out", "rep"], "missing.fits"),
    "evaluate unknown baseline": (["evaluate", "sim-default", "sim.fits", "--out", "rep", "--baselines", "svm"], "svm"),
    "models not a model directory": (["models", "."], "card.json"),
    "unknown command": (["infre", "sim.fits", "out.parquet"], "infre"),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_mistake_gives_one_line_and_leaves_nothing(session, mistake):
    args, mentions = MISTAKES[mistake]
    before = listing(session)
    result = galflow(*args, cwd=session, check=False)
    assert_clean_error(result, mentions=mentions)
    assert listing(session) == before, "a failed command left or changed files"
