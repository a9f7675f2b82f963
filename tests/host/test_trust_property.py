"""Issue 15, property: damaged catalogs and cards end in one clean line or a complete, flagged table."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tempfile
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from astro_galflow.cli import main
from astro_galflow.flags import PosteriorFlag
from astro_galflow.testing.tables import make_input_table

#: Row damages and the flag each must raise.
ROW_DAMAGES = {
    "nan_mag": PosteriorFlag.BAD_PHOTOMETRY,
    "sentinel_mag": PosteriorFlag.BAD_PHOTOMETRY,
    "inf_mag": PosteriorFlag.BAD_PHOTOMETRY,
    "ra_out": PosteriorFlag.BAD_POSITION,
    "dec_out": PosteriorFlag.BAD_POSITION,
    "nan_ra": PosteriorFlag.BAD_POSITION,
    "bad_error": PosteriorFlag.MISSING_ERRORS,
}


def _damage_row(table, row, kind, band):
    if kind == "nan_mag":
        table[f"mag_{band}"][row] = np.nan * u.mag
    elif kind == "sentinel_mag":
        table[f"mag_{band}"][row] = -9999 * u.mag
    elif kind == "inf_mag":
        table[f"mag_{band}"][row] = np.inf * u.mag
    elif kind == "ra_out":
        table["ra"][row] = 361.5 * u.deg
    elif kind == "dec_out":
        table["dec"][row] = -95 * u.deg
    elif kind == "nan_ra":
        table["ra"][row] = np.nan * u.deg
    elif kind == "bad_error":
        table[f"magerr_{band}"][row] = -1 * u.mag


def _card_damage(card, kind):
    if kind == "no_architecture":
        del card["architecture"]
    elif kind == "ensemble_zero":
        card["architecture"]["ensemble"] = 0
    elif kind == "ensemble_text":
        card["architecture"]["ensemble"] = "abc"
    elif kind == "short_min":
        card["features"]["min"] = card["features"]["min"][:-1]
    elif kind == "null_hash":
        card["sha256"]["member_0.safetensors"] = None
    elif kind == "garbage_calibration":
        card["calibration"] = {"garbage": 1}
    elif kind == "unknown_format":
        card["format"] = "astro_galflow-model/0"
    elif kind == "parameters_not_list":
        card["architecture"]["parameters"] = "redshift"


@pytest.fixture(autouse=True)
def _host_plugins_only(monkeypatch):
    from astro_galflow.plugins import ENV_DISABLE_AUTOLOAD

    monkeypatch.setenv(ENV_DISABLE_AUTOLOAD, "1")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(2, 10),
    damages=st.lists(
        st.tuples(st.integers(0, 9), st.sampled_from(sorted(ROW_DAMAGES)), st.sampled_from("ugriz")), max_size=6
    ),
    card_damage=st.one_of(
        st.none(),
        st.sampled_from(
            [
                "no_architecture",
                "ensemble_zero",
                "ensemble_text",
                "short_min",
                "null_hash",
                "garbage_calibration",
                "unknown_format",
                "parameters_not_list",
            ]
        ),
    ),
)
def test_damaged_inputs_give_one_line_or_every_row_flagged(tiny_model, n, damages, card_damage):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_dir = tmp / "model"
        shutil.copytree(tiny_model.directory, model_dir, ignore=shutil.ignore_patterns("checkpoints"))
        if card_damage:
            card = json.loads((model_dir / "card.json").read_text())
            _card_damage(card, card_damage)
            (model_dir / "card.json").write_text(json.dumps(card))
        table = make_input_table(n, seed=1)
        for band in "ugriz":
            table[f"magerr_{band}"] = np.full(n, 0.02) * u.mag
        expected = np.zeros(n, dtype=np.int64)
        for row, kind, band in damages:
            if row < n:
                _damage_row(table, row, kind, band)
                expected[row] |= int(ROW_DAMAGES[kind])
        catalog, out = tmp / "in.ecsv", tmp / "out.ecsv"
        table.write(catalog)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(
                [
                    "infer",
                    str(catalog),
                    str(out),
                    "--model",
                    str(model_dir),
                    "-n",
                    "8",
                    "--backend",
                    "eager",
                    "--engine",
                    "memory",
                    "--no-progress",
                ]
            )
        text = err.getvalue()
        assert "Traceback" not in text
        if card_damage:
            errors = [line for line in text.splitlines() if "error:" in line]
            assert code != 0 and len(errors) == 1 and "card.json" in errors[0], text
            assert not out.exists()
            return
        assert code == 0, text
        result = QTable.read(out)
        assert len(result) == n
        assert list(result["source_id"]) == list(table["source_id"])
        flags = np.asarray(result["posterior_flags"], dtype=np.int64)
        assert np.all(flags & expected == expected)
