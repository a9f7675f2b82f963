"""STILTS (the library inside TOPCAT) opens every output it has a reader for, with all metadata.

The Debian ``stilts`` 3.4.7 package has readers for FITS, VOTable and (with
``starlink-ecsv-java``) ECSV, not for Parquet or HDF5: those are checked with the
Python clients.
"""

from __future__ import annotations

import csv
import io
import subprocess

import numpy as np
import pytest

from astro_galflow.table import read_posterior_table

from .conftest import MODELS, require_binary
from .test_columns import is_physical

STILTS_FORMATS = {"fits": "fits", "ecsv": "ecsv", "votable": "votable"}


def stilts(*args: str) -> str:
    binary = require_binary("stilts")
    done = subprocess.run([binary, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"stilts {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}"
    return done.stdout


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("fmt", list(STILTS_FORMATS))
def test_every_column_has_unit_ucd_and_description_in_stilts(outputs, model, fmt):
    path = outputs[model][fmt]
    # `tpipe cmd=meta` lists the column metadata STILTS read (omode=meta shows the same
    # per column, less parseably).
    rows = list(
        csv.DictReader(
            io.StringIO(stilts("tpipe", f"in={path}", f"ifmt={STILTS_FORMATS[fmt]}", "cmd=meta", "ofmt=csv"))
        )
    )
    table = read_posterior_table(path)
    assert [r["Name"] for r in rows] == table.colnames
    for row in rows:
        name = row["Name"]
        assert row["Description"], f"{fmt}: STILTS sees no description of {name}"
        assert row["UCD"], f"{fmt}: STILTS sees no UCD of {name}"
        if is_physical(table, name):
            assert row["Units"], f"{fmt}: STILTS sees no unit of {name}"
    units = {r["Name"]: r["Units"] for r in rows}
    if model == "sim-default":
        assert units["log_mstar_mean"] == "dex(solMass)" and units["log_mstar_std"] == "dex"


@pytest.mark.parametrize("model", MODELS)
def test_fits_meta_keywords_survive_in_stilts(outputs, model):
    text = stilts("tpipe", f"in={outputs[model]['fits']}", "omode=meta")
    for key in ("DATE", "HATS_COL_RA", "HATS_COL_DEC", "HATS_COL_HEALPIX_ORDER", "N_SAMPLES", "MODEL", "GALFLOW_META"):
        assert key in text, f"STILTS does not show the {key} keyword"


@pytest.mark.parametrize("model", MODELS)
def test_votable_is_votlint_clean(outputs, model):
    report = stilts("votlint", f"votable={outputs[model]['votable']}")
    assert report.strip() == "", report


@pytest.mark.parametrize("model", MODELS)
def test_sky_match_against_the_input_catalog(outputs, model, tmp_path):
    catalog = outputs["input"][model]
    ifmt2 = "csv" if catalog.suffix == ".csv" else "fits"
    out = tmp_path / "match.csv"
    stilts(
        "tmatch2",
        f"in1={outputs[model]['fits']}",
        f"in2={catalog}",
        f"ifmt2={ifmt2}",
        "matcher=sky",
        "values1=ra dec",
        "values2=ra dec",
        "params=0.1",
        "find=best",
        f"out={out}",
        "ofmt=csv",
    )
    with out.open() as fh:
        matched = list(csv.DictReader(fh))
    table = read_posterior_table(outputs[model]["fits"])
    assert len(matched) == len(table) == int(np.isfinite(np.asarray(table["ra"])).sum())
