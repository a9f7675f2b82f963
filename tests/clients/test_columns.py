"""Every column of every shipped model's output has a description and a UCD, and a unit where physical."""

from __future__ import annotations

import astropy.units as u
import pytest

from astro_galflow.params import PARAMETERS
from astro_galflow.table import read_posterior_table

from .conftest import FORMATS, MODELS


def is_physical(table, name: str) -> bool:
    """Columns whose values have a dimension: positions and the parameters (and spreads)
    whose unit is not dimensionless; probabilities, flags, indices and redshifts have none."""
    if name in ("ra", "dec"):
        return True
    if name.endswith(("_pdf_hist", "_probability")):
        return False
    param = next((p for p in sorted(PARAMETERS, key=len, reverse=True) if name.startswith(p + "_")), None)
    return param is not None and PARAMETERS[param].unit != u.dimensionless_unscaled


# Every shipped model: sim-default and sdss-photoz in every format (and with samples),
# sim-photometry in every format.
CASES = [(m, f) for m in MODELS for f in [*FORMATS, "samples"]] + [("sim-photometry", f) for f in FORMATS]


@pytest.mark.parametrize(("model", "fmt"), CASES)
def test_every_column_is_described(request, model, fmt):
    if model == "sim-photometry":
        path = request.getfixturevalue("photometry_output")[fmt]
    else:
        path = request.getfixturevalue("outputs")[model][fmt]
    table = read_posterior_table(path)
    problems = []
    for name in table.colnames:
        col = table[name]
        if not col.info.description:
            problems.append(f"{name}: no description")
        if not (col.info.meta or {}).get("ucd"):
            problems.append(f"{name}: no UCD")
        if is_physical(table, name) and getattr(col, "unit", None) in (None, u.dimensionless_unscaled):
            problems.append(f"{name}: no unit")
    assert not problems, f"{model} {fmt}: " + "; ".join(problems)
    # The ensemble spreads carry the parameter's spread unit.
    if "log_mstar_std_aleatoric" in table.colnames:
        assert table["log_mstar_std_aleatoric"].unit == u.dex
        assert table["flux_halpha_std_epistemic"].unit == PARAMETERS["flux_halpha"].unit
