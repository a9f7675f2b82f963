"""The host's input convention, its validation, and the built-in ``galflow_prepare_inputs``.

An input catalog is an astropy table with one row per galaxy:

``source_id``
    Survey-native identifier (int64 or string).
``ra``, ``dec``
    ICRS position in degrees.
``mag_u`` ... ``mag_z``
    Extinction-corrected model (AB-like) magnitudes in ``u.mag``. A source with other
    bands names them ``mag_<band>``.
``magerr_<band>`` (optional)
    1-sigma magnitude errors. When absent, typical errors are assumed and the row is
    flagged ``MISSING_ERRORS``.
``extinction_<band>`` (optional)
    Galactic extinction in magnitudes. If ``table.meta["extinction_corrected"]`` is
    False, it is subtracted from the magnitudes; if it is False and there is no
    extinction column, rows are flagged ``NO_EXTINCTION_CORRECTION`` with a warning.
``cutout_index`` (optional)
    Row of the cutout array (:mod:`astro_galflow.cutouts`) that belongs to the galaxy.

Bad values never remove a row: they set bits of ``posterior_flags``.
"""

from __future__ import annotations

import warnings

import astropy.units as u
import numpy as np
from astropy.table import MaskedColumn, QTable, Table

from astro_galflow.exceptions import GalflowWarning, InputError, MissingColumnError
from astro_galflow.flags import PosteriorFlag
from astro_galflow.plugins import hookimpl

__all__ = [
    "SDSS_BANDS",
    "mag_column",
    "magerr_column",
    "extinction_column",
    "check_columns",
    "check_value_columns",
    "flag_cutout_index",
    "warn_duplicate_ids",
    "column_values",
    "flag_column",
    "apply_extinction",
    "flag_photometry",
    "photometry_features",
    "TYPICAL_MAG_ERROR",
    "as_qtable",
]

SDSS_BANDS = ("u", "g", "r", "i", "z")

#: Assumed 1-sigma magnitude error where a catalog gives none (SDSS-like, bright MGS).
TYPICAL_MAG_ERROR = {"u": 0.05, "g": 0.01, "r": 0.01, "i": 0.01, "z": 0.02}


def mag_column(band: str) -> str:
    """Name of the magnitude column of ``band``."""
    return f"mag_{band}"


def magerr_column(band: str) -> str:
    """Name of the magnitude-error column of ``band``."""
    return f"magerr_{band}"


def extinction_column(band: str) -> str:
    """Name of the Galactic-extinction column of ``band``."""
    return f"extinction_{band}"


def check_columns(table: Table, required, *, what: str = "input table") -> None:
    """Raise :class:`MissingColumnError` naming every column of ``required`` not in ``table``."""
    missing = [c for c in required if c not in table.colnames]
    if missing:
        raise MissingColumnError(
            f"{what} lacks column(s) {', '.join(missing)}; it has {', '.join(table.colnames) or 'no columns'}"
        )


def column_values(table: Table, name: str, unit: u.UnitBase | None = None) -> np.ndarray:
    """Float64 values of a column with masked entries as NaN, converted to ``unit``.

    A plain (unitless) column is taken to be in ``unit`` already; a column with an
    incompatible unit raises :class:`InputError` naming it.
    """
    col = table[name]
    if getattr(col, "dtype", None) is not None and col.dtype.kind not in "fiub":
        raise InputError(f"column {name!r} has non-numeric type {col.dtype}")
    mask = np.asarray(getattr(col, "mask", np.zeros(len(table), bool)), dtype=bool)
    if mask.shape != (len(table),):
        mask = np.broadcast_to(mask, (len(table),))
    col_unit = getattr(col, "unit", None)
    if unit is not None and col_unit is not None and col_unit != u.dimensionless_unscaled:
        try:
            scale = (1 * col_unit).to_value(unit)
        except u.UnitConversionError:
            raise InputError(f"column {name!r} has unit {col_unit}, which cannot be converted to {unit}") from None
    else:
        scale = 1.0
    raw = col.value if hasattr(col, "value") and not isinstance(col, MaskedColumn) else col
    values = np.array(np.ma.getdata(raw), dtype=np.float64) * scale
    values[mask] = np.nan
    return values


def flag_column(table: Table) -> np.ndarray:
    """Return ``table["posterior_flags"]`` as int64, creating a zero column if absent."""
    if "posterior_flags" not in table.colnames:
        table["posterior_flags"] = np.zeros(len(table), dtype=np.int64)
    return table["posterior_flags"]


def apply_extinction(table: Table, bands) -> None:
    """Correct magnitudes for Galactic extinction in place where the table says they are raw.

    Sets ``table.meta["extinction_corrected"] = True`` when it corrects. Flags every
    row ``NO_EXTINCTION_CORRECTION`` (and warns once) when magnitudes are raw and no
    ``extinction_<band>`` column exists.
    """
    if table.meta.get("extinction_corrected", True):
        return
    ext_cols = [extinction_column(b) for b in bands]
    if all(c in table.colnames for c in ext_cols):
        for band, ext in zip(bands, ext_cols):
            corrected = column_values(table, mag_column(band), u.mag) - column_values(table, ext, u.mag)
            table[mag_column(band)] = corrected * u.mag
        table.meta["extinction_corrected"] = True
        return
    flags = flag_column(table)
    flags |= int(PosteriorFlag.NO_EXTINCTION_CORRECTION)
    warnings.warn(
        "magnitudes are not extinction-corrected and the table has no "
        f"{', '.join(c for c in ext_cols if c not in table.colnames)} column(s); rows are flagged "
        "NO_EXTINCTION_CORRECTION and posteriors will be biased by Galactic reddening",
        GalflowWarning,
        stacklevel=2,
    )


def check_value_columns(table: Table, names) -> None:
    """Refuse columns of ``names`` that cannot hold one number per row.

    A boolean column would be read as 0 or 1 mag and a 2-D column (several values per
    row) has no single magnitude: both are errors in the catalog, not bad rows.

    Raises
    ------
    InputError
        Naming the column and what it holds.
    """
    for name in names:
        if name not in table.colnames:
            continue
        col = table[name]
        dtype = getattr(col, "dtype", None)
        if dtype is not None and dtype.kind == "b":
            raise InputError(f"column {name!r} is boolean; it must hold numbers (one per row)")
        if np.ndim(col) != 1:
            raise InputError(f"column {name!r} has shape {np.shape(col)}; it must hold one number per row")


def flag_photometry(table: Table, bands) -> None:
    """Set ``BAD_PHOTOMETRY``/``MISSING_ERRORS``/``BAD_POSITION`` bits in place.

    A position is bad when ``ra`` is outside [0, 360) or ``dec`` outside [-90, 90] deg.

    Raises
    ------
    MissingColumnError
        If a magnitude column of ``bands`` is absent altogether.
    InputError
        If a magnitude, error, extinction or position column is boolean or not 1-D.
    """
    check_columns(table, [mag_column(b) for b in bands])
    check_value_columns(
        table,
        [f(b) for b in bands for f in (mag_column, magerr_column, extinction_column)] + ["ra", "dec", "cutout_index"],
    )
    flags = flag_column(table)
    bad = np.zeros(len(table), dtype=bool)
    for band in bands:
        mags = column_values(table, mag_column(band), u.mag)
        # Magnitudes outside [-5, 40] are sentinel values (SDSS -9999, 9999), not light.
        bad |= ~np.isfinite(mags) | (mags < -5.0) | (mags > 40.0)
    flags[bad] |= int(PosteriorFlag.BAD_PHOTOMETRY)

    missing_err = np.zeros(len(table), dtype=bool)
    for band in bands:
        name = magerr_column(band)
        if name not in table.colnames:
            missing_err[:] = True
            continue
        errs = column_values(table, name, u.mag)
        missing_err |= ~np.isfinite(errs) | (errs <= 0)
    flags[missing_err] |= int(PosteriorFlag.MISSING_ERRORS)

    if "ra" in table.colnames and "dec" in table.colnames:
        ra = column_values(table, "ra", u.deg)
        dec = column_values(table, "dec", u.deg)
        with np.errstate(invalid="ignore"):
            bad_pos = ~np.isfinite(ra) | ~np.isfinite(dec) | (np.abs(dec) > 90.0) | (ra < 0.0) | (ra >= 360.0)
    else:
        bad_pos = np.ones(len(table), dtype=bool)
    flags[bad_pos] |= int(PosteriorFlag.BAD_POSITION)


def photometry_features(table: Table, bands=SDSS_BANDS) -> tuple[np.ndarray, np.ndarray]:
    """Colours, magnitudes and their errors as model features.

    Returns
    -------
    features : numpy.ndarray, shape (n, 2 * n_bands - 1)
        Adjacent colours (``u-g, g-r, r-i, i-z``) followed by the magnitudes. NaN in
        rows flagged ``BAD_PHOTOMETRY``.
    errors : numpy.ndarray, shape (n, n_bands)
        Magnitude errors, with :data:`TYPICAL_MAG_ERROR` where absent.
    """
    mags = np.stack([column_values(table, mag_column(b), u.mag) for b in bands], axis=1)
    colours = mags[:, :-1] - mags[:, 1:]
    errors = np.empty_like(mags)
    for k, band in enumerate(bands):
        name = magerr_column(band)
        default = TYPICAL_MAG_ERROR.get(band, 0.05)
        if name in table.colnames:
            e = column_values(table, name, u.mag)
            errors[:, k] = np.where(np.isfinite(e) & (e > 0), e, default)
        else:
            errors[:, k] = default
    return np.concatenate([colours, mags], axis=1), errors


def flag_cutout_index(table: Table) -> None:
    """Set ``BAD_CUTOUT`` where ``cutout_index`` is not a whole non-negative number.

    ``2.7`` names no cutout; truncating it to 2 would give the galaxy another galaxy's image.
    """
    if "cutout_index" not in table.colnames:
        return
    index = column_values(table, "cutout_index")
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(index) | (index < 0) | (index != np.floor(index))
    flags = flag_column(table)
    flags[bad] |= int(PosteriorFlag.BAD_CUTOUT)


def warn_duplicate_ids(table: Table) -> None:
    """Warn (:class:`GalflowWarning`) when ``source_id`` repeats, naming the count and an example.

    Rows are kept: a repeated identifier is not a bad measurement, but joins on it later
    would pair the wrong rows.
    """
    if "source_id" not in table.colnames or len(table) < 2:
        return
    ids = np.asarray(table["source_id"])
    values, counts = np.unique(ids, return_counts=True)
    repeated = counts > 1
    if repeated.any():
        example = values[repeated][0]
        example = example.item() if isinstance(example, np.generic) else example  # 2, not np.int64(2)
        warnings.warn(
            f"{int(np.sum(counts[repeated]))} rows share {int(repeated.sum())} source_id value(s) "
            f"(e.g. {example!r} appears {int(counts[repeated][0])} times); rows are kept, but joins on source_id "
            "will be ambiguous",
            GalflowWarning,
            stacklevel=2,
        )


@hookimpl(trylast=True)
def galflow_prepare_inputs(table, source, config):
    """Built-in input preparation: extinction, then photometry, position and cutout-index flags.

    Checks the bands in ``table.meta["bands"]`` (the pipeline sets the model's bands there),
    else the source's, else ugriz; warns about repeated ``source_id`` values.
    """
    bands = table.meta.get("bands") or (source.photometry_bands if source is not None else SDSS_BANDS)
    check_value_columns(table, [mag_column(b) for b in bands] + [extinction_column(b) for b in bands])
    apply_extinction(table, bands)
    flag_photometry(table, bands)
    flag_cutout_index(table)
    warn_duplicate_ids(table)


def as_qtable(table) -> QTable:
    """Copy ``table`` (Table, QTable or anything astropy can wrap) into a QTable."""
    if isinstance(table, QTable):
        return table.copy(copy_data=True)
    if isinstance(table, Table):
        return QTable(table, copy=True)
    return QTable(table)
