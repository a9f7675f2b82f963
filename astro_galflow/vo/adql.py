"""ADQL built from validated, quoted values.

Every value that reaches a query passes through this module: identifiers must be
regular ADQL identifiers (optionally ``schema.table``-qualified), numbers must be finite,
strings are single-quoted with embedded quotes doubled (ADQL 2.1, section 2.1.4). No
query is ever assembled from unchecked user text.
"""

from __future__ import annotations

import math
import re

import astropy.units as u
import numpy as np

from astro_galflow.exceptions import InputError

__all__ = [
    "identifier",
    "number",
    "string",
    "angle_deg",
    "cone_condition",
    "box_condition",
    "upload_match_condition",
]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def identifier(name: str) -> str:
    """Return ``name`` if it is a regular (optionally dotted) ADQL identifier.

    Raises
    ------
    InputError
        For anything else (quotes, spaces, operators ...), naming the value.
    """
    parts = str(name).split(".")
    if not name or not all(_IDENT.fullmatch(p) for p in parts) or len(parts) > 3:
        raise InputError(f"{name!r} is not a valid ADQL table or column name")
    return str(name)


def number(value) -> str:
    """Finite number as an ADQL literal (``repr`` keeps full float precision)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return str(int(value))  # exact: 64-bit ids such as specObjID exceed float precision
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{value!r} is not a number") from None
    if not math.isfinite(x):
        raise InputError(f"{value!r} is not a finite number")
    if float(x).is_integer() and abs(x) < 2**53:
        return str(int(x))
    return repr(x)


def string(value: str) -> str:
    """ADQL string literal with embedded single quotes doubled."""
    return "'" + str(value).replace("'", "''") + "'"


def angle_deg(value, *, what: str = "angle") -> float:
    """An angle (Quantity or degrees) in degrees, checked finite and non-negative."""
    if isinstance(value, u.Quantity):
        try:
            deg = value.to_value(u.deg)
        except u.UnitConversionError:
            raise InputError(f"{what} {value} is not an angle") from None
    else:
        deg = float(value)
    if not math.isfinite(deg) or deg < 0:
        raise InputError(f"{what} must be a finite non-negative angle, got {value}")
    return float(deg)


def cone_condition(ra_col: str, dec_col: str, ra: float, dec: float, radius_deg: float) -> str:
    """``1 = CONTAINS(POINT(...), CIRCLE(...))`` for a cone around (ra, dec) in degrees."""
    return (
        f"1 = CONTAINS(POINT('ICRS', {identifier(ra_col)}, {identifier(dec_col)}), "
        f"CIRCLE('ICRS', {number(ra)}, {number(dec)}, {number(radius_deg)}))"
    )


def box_condition(ra_col: str, dec_col: str, ra: float, dec: float, width_deg: float, height_deg: float) -> str:
    """``1 = CONTAINS(POINT(...), POLYGON(...))`` for a box centred on (ra, dec).

    A polygon rather than ADQL's ``BOX`` because ``BOX`` is deprecated in ADQL 2.1 and
    not every service implements it. The width is measured along the parallel through
    the centre: the box spans ``width / cos(dec)`` in right ascension.
    """
    if abs(dec) + height_deg / 2 >= 90:
        raise InputError(f"box of height {height_deg} deg around dec {dec} reaches a pole")
    half_ra = width_deg / 2 / math.cos(math.radians(dec))
    lo, hi = dec - height_deg / 2, dec + height_deg / 2
    corners = [(ra - half_ra, lo), (ra + half_ra, lo), (ra + half_ra, hi), (ra - half_ra, hi)]
    coords = ", ".join(f"{number(a % 360.0)}, {number(d)}" for a, d in corners)
    return f"1 = CONTAINS(POINT('ICRS', {identifier(ra_col)}, {identifier(dec_col)}), POLYGON('ICRS', {coords}))"


def upload_match_condition(ra_col: str, dec_col: str, up_ra: str, up_dec: str, radius_deg: float) -> str:
    """Positional join condition between a remote table and an uploaded one."""
    return (
        f"1 = CONTAINS(POINT('ICRS', {identifier(ra_col)}, {identifier(dec_col)}), "
        f"CIRCLE('ICRS', {identifier(up_ra)}, {identifier(up_dec)}, {number(radius_deg)}))"
    )
