"""Outputs of the shipped models in every format, and the clients that open them.

``outputs`` runs ``galflow simulate`` + ``galflow infer --model sim-default`` on a few
dozen simulated galaxies (the FITS output through the streaming engine in three chunks,
so its assembled file is what is checked), and ``galflow infer --model sdss-photoz`` on
the 25 real SkyServer rows of ``tests/data/sdss``; every other format is written from the
same table with :func:`astro_galflow.table.write_posterior_table`, the writer the CLI uses.

A client that is not installed skips its tests with the reason, except under CI (``CI``
set), where it fails: ``.ci/clients/setup_clients.sh`` installs them there.
"""

from __future__ import annotations

import importlib
import os
import shutil
import warnings
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "sdss"

#: Extension of each posterior-table format a run can write.
FORMATS = {"fits": ".fits", "ecsv": ".ecsv", "parquet": ".parquet", "hdf5": ".hdf5", "votable": ".vot"}
MODELS = ("sim-default", "sdss-photoz")


def _missing(what: str, how: str):
    message = f"{what} is not installed ({how}); install it with: sudo .ci/clients/setup_clients.sh"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def require_binary(name: str) -> str:
    """Path of the command-line client ``name``; skip (fail under CI) when it is absent."""
    path = shutil.which(name)
    if path is None:
        _missing(f"the {name!r} command", "not on PATH")
    return path


def require_module(name: str):
    """Import Python client ``name``; skip (fail under CI) when it is absent."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        _missing(f"the Python package {name!r}", str(exc))


def _infer(catalog: Path, output: Path, model: str, *extra: str) -> None:
    from astro_galflow.cli import main

    argv = ["infer", str(catalog), str(output), "--model", model, "-n", "50", "--backend", "eager"]
    code = main([*argv, "--no-progress", *extra])
    assert code == 0, f"galflow {' '.join(argv)} exited {code}"


@pytest.fixture(scope="session")
def outputs(tmp_path_factory):
    """``{model: {format: path}}`` plus ``{model: input catalog}`` under key ``"input"``."""
    from astro_galflow.cli import main
    from astro_galflow.table import read_posterior_table, write_posterior_table

    root = tmp_path_factory.mktemp("clients")
    sim = root / "sim.fits"
    assert main(["simulate", "-n", "24", "--seed", "3", str(sim)]) == 0
    sdss = DATA / "skyserver_dr14_25.csv"
    result = {"input": {"sim-default": sim, "sdss-photoz": sdss}}
    runs = {
        # The streaming engine in chunks of 10 rows: the FITS file is assembled from parts.
        "sim-default": (sim, (), ("--engine", "local", "--chunk-rows", "10")),
        # The SkyServer export (no extinction columns: the run warns and flags it) is read
        # by its source plugin, which the in-memory engine uses.
        "sdss-photoz": (sdss, ("--source", "skyserver-csv"), ("--engine", "memory")),
    }
    for model, (catalog, extra, engine) in runs.items():
        paths = {"fits": root / f"{model}.fits"}
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*not extinction-corrected.*")
            # SkyServer's CSV export writes objid as a rounded float: some ids repeat (the run warns)
            warnings.filterwarnings("ignore", message=".*rows share .* source_id value.*")
            _infer(catalog, paths["fits"], model, *extra, *engine)
            samples = root / f"{model}-samples.parquet"
            _infer(catalog, samples, model, *extra, "--engine", "memory", "--store-samples")
        table = read_posterior_table(samples)
        for fmt, ext in FORMATS.items():
            if fmt != "fits":
                paths[fmt] = write_posterior_table(table, root / f"{model}{ext}")
        paths["samples"] = samples
        paths["hats"] = _hats(table, root / f"{model}-hats")
        result[model] = paths
    return result


@pytest.fixture(scope="session")
def photometry_output(outputs, tmp_path_factory):
    """``sim-photometry`` (the third shipped model) on the same simulated catalog: ``{format: path}``."""
    from astro_galflow.table import read_posterior_table, write_posterior_table

    root = tmp_path_factory.mktemp("clients-photometry")
    paths = {"fits": root / "sim-photometry.fits"}
    _infer(outputs["input"]["sim-default"], paths["fits"], "sim-photometry", "--engine", "memory")
    table = read_posterior_table(paths["fits"])
    for fmt, ext in FORMATS.items():
        if fmt != "fits":
            paths[fmt] = write_posterior_table(table, root / f"sim-photometry{ext}")
    return paths


def _hats(table, path: Path) -> Path:
    """The posterior table as a HATS catalog, finished as the Dask engine finishes its output."""
    import lsdb
    import numpy as np
    import pandas as pd

    from astro_galflow.config import GalflowConfig
    from astro_galflow.scale.hats_output import finish_hats_catalog, hats_properties

    frame = pd.DataFrame(
        {
            name: np.asarray(getattr(table[name], "value", table[name]))
            for name in table.colnames
            if table[name].ndim == 1 and name != "_healpix_29"
        }
    )
    properties = hats_properties(GalflowConfig(model=table.meta["model"]), table.meta["provenance"])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        catalog = lsdb.from_dataframe(frame, ra_column="ra", dec_column="dec", partition_rows=10, highest_order=10)
        catalog.write_catalog(path, as_collection=False, progress_bar=False, addl_hats_properties=properties)
        finish_hats_catalog(path, properties=properties)
    return path
