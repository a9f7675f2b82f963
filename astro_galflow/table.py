"""Posterior tables: building, column conventions, validation, and file I/O.

A posterior table is an :class:`~astropy.table.QTable` with one row per input object,
in input order (no row is ever dropped). Fixed columns:

``source_id``, ``survey``, ``ra``, ``dec`` (deg), ``_healpix_29`` (int64, NESTED order
29, the HATS/LSDB spatial index) and ``posterior_flags`` (bitmask, see
:mod:`astro_galflow.flags`). For each parameter ``p``
(:data:`astro_galflow.params.PARAMETERS`): ``p_mean``, ``p_std``, ``p_pNN`` for each
configured quantile, optionally ``p_samples`` (N x S; sample ``j`` of every parameter
is the same joint draw). Columns carry units, descriptions and UCDs; ``meta`` carries
provenance and the ``hats_col_*`` keys; the table is indexed on ``_healpix_29``.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import QTable

from astro_galflow.exceptions import GalflowError, InputError
from astro_galflow.flags import flag_descriptions
from astro_galflow.formats import format_of
from astro_galflow.healpix import SPATIAL_INDEX_COLUMN, SPATIAL_INDEX_ORDER, compute_healpix_29
from astro_galflow.params import PARAMETERS, ParameterSpec

__all__ = [
    "FIXED_COLUMNS",
    "PosteriorTableError",
    "quantile_suffix",
    "summary_columns",
    "new_posterior_table",
    "add_parameter_columns",
    "add_summary_columns",
    "describe_columns",
    "column_metadata",
    "parameters_in",
    "validate_posterior_table",
    "write_posterior_table",
    "write_table",
    "read_table",
    "read_posterior_table",
]

FIXED_COLUMNS = ("source_id", "survey", "ra", "dec", SPATIAL_INDEX_COLUMN, "posterior_flags")


class PosteriorTableError(GalflowError):
    """A table does not follow the posterior-table conventions (lists every problem)."""


def quantile_suffix(q: float) -> str:
    """Column suffix of quantile ``q``: 0.16 -> ``"p16"``, 0.025 -> ``"p2_5"``."""
    pct = round(q * 100, 6)
    text = f"{pct:g}".replace(".", "_")
    return f"p{text}"


def summary_columns(name: str, quantiles) -> list[str]:
    """Summary column names of parameter ``name``: mean, std and quantiles."""
    return [f"{name}_mean", f"{name}_std"] + [f"{name}_{quantile_suffix(q)}" for q in quantiles]


def _spread_unit(spec: ParameterSpec) -> u.UnitBase:
    # A spread of a logarithmic quantity is a plain dex, not dex(Msun).
    if isinstance(spec.unit, u.FunctionUnitBase):
        return u.dex
    return spec.unit


def _quantity(values, unit):
    values = np.asarray(values, dtype=np.float64)
    if isinstance(unit, u.FunctionUnitBase):
        return u.Dex(values, unit)
    return values * unit


def new_posterior_table(*, source_id, survey, ra_deg, dec_deg, flags, meta: dict | None = None) -> QTable:
    """Start a posterior table with the fixed columns.

    Parameters
    ----------
    source_id : array-like
        Survey-native identifiers, one per input row.
    survey : str or array-like of str
        Survey name(s).
    ra_deg, dec_deg : array-like
        Positions in degrees (NaN allowed; those rows get ``_healpix_29 = -1``).
    flags : array-like of int
        Initial ``posterior_flags``.
    meta : dict, optional
        Table meta to start from.
    """
    n = len(source_id)
    table = QTable(meta=dict(meta or {}))
    table["source_id"] = np.asarray(source_id)
    table["source_id"].info.description = "Survey-native object identifier"
    table["survey"] = np.broadcast_to(np.asarray(survey, dtype=str), (n,)).copy()
    table["survey"].info.description = "Survey the inputs came from"
    table["ra"] = np.asarray(ra_deg, dtype=np.float64) * u.deg
    table["ra"].info.description = "ICRS right ascension"
    table["dec"] = np.asarray(dec_deg, dtype=np.float64) * u.deg
    table["dec"].info.description = "ICRS declination"
    table[SPATIAL_INDEX_COLUMN] = compute_healpix_29(table["ra"].value, table["dec"].value)
    table[SPATIAL_INDEX_COLUMN].info.description = "HEALPix NESTED order-29 index (HATS spatial index)"
    table["posterior_flags"] = np.asarray(flags, dtype=np.int64)
    table["posterior_flags"].info.description = "Bitmask of astro_galflow.flags.PosteriorFlag"
    _set_ucds(
        table,
        {
            "source_id": "meta.id;meta.main",
            "ra": "pos.eq.ra;meta.main",
            "dec": "pos.eq.dec;meta.main",
            SPATIAL_INDEX_COLUMN: "pos.healpix",
            "posterior_flags": "meta.code.qual",
            "survey": "meta.id;instr",
        },
    )
    table.meta.setdefault("date", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    table.meta["posterior_flag_bits"] = flag_descriptions()
    table.meta["hats_col_ra"] = "ra"
    table.meta["hats_col_dec"] = "dec"
    table.meta["hats_col_healpix"] = SPATIAL_INDEX_COLUMN
    table.meta["hats_col_healpix_order"] = SPATIAL_INDEX_ORDER
    return table


def _set_ucds(table, ucds: dict) -> None:
    for name, ucd in ucds.items():
        table[name].info.meta = {**(table[name].info.meta or {}), "ucd": ucd}


def add_parameter_columns(table: QTable, spec: ParameterSpec, samples: np.ndarray, *, quantiles, store_samples: bool):
    """Add the summary (and optionally sample) columns of one parameter.

    Parameters
    ----------
    table : QTable
        Posterior table, modified in place.
    spec : ParameterSpec
        The parameter.
    samples : numpy.ndarray, shape (n_rows, n_samples)
        Joint posterior samples in physical units; rows without a posterior are NaN.
    quantiles : sequence of float
        Quantiles to summarise.
    store_samples : bool
        Also add ``{name}_samples``.
    """
    samples = np.asarray(samples)
    if samples.dtype.kind != "f":
        samples = samples.astype(np.float64)
    if samples.ndim != 2 or samples.shape[0] != len(table):
        raise ValueError(f"samples of {spec.name!r} have shape {samples.shape}; expected ({len(table)}, n_samples)")
    has = np.isfinite(samples).all(axis=1)
    mean = np.full(len(table), np.nan)
    std = np.full(len(table), np.nan)
    qs = np.full((len(quantiles), len(table)), np.nan)
    if has.any():
        # Moments accumulate in float64; the quantiles select among the float32 samples
        # themselves (a float64 copy of every sample cost more than the selection).
        usable = samples if has.all() else samples[has]
        mean[has] = usable.mean(axis=1, dtype=np.float64)
        std[has] = usable.std(axis=1, ddof=1, dtype=np.float64) if samples.shape[1] > 1 else 0.0
        qs[:, has] = np.quantile(usable, quantiles, axis=1)
    add_summary_columns(table, spec, mean, std, qs, quantiles=quantiles, samples=samples if store_samples else None)


def add_summary_columns(table: QTable, spec: ParameterSpec, mean, std, quantile_values, *, quantiles, samples=None):
    """Add one parameter's summary columns from summaries computed elsewhere (e.g. on a GPU).

    Parameters
    ----------
    table : QTable
        Posterior table, modified in place.
    spec : ParameterSpec
        The parameter.
    mean, std : numpy.ndarray, shape (n_rows,)
        Posterior mean and standard deviation (``ddof=1``) in physical units; NaN for rows
        without a posterior.
    quantile_values : numpy.ndarray, shape (len(quantiles), n_rows)
        The posterior quantiles.
    quantiles : sequence of float
        Their levels.
    samples : numpy.ndarray, optional
        ``(n_rows, n_samples)`` samples to store as ``{name}_samples``.
    """
    cols = summary_columns(spec.name, quantiles)
    table[cols[0]] = _quantity(np.asarray(mean, dtype=np.float64), spec.unit)
    table[cols[0]].info.description = f"{spec.description}: posterior mean"
    table[cols[1]] = _quantity(np.asarray(std, dtype=np.float64), _spread_unit(spec))
    table[cols[1]].info.description = f"{spec.description}: posterior standard deviation"
    ucds = {cols[0]: f"{spec.ucd};stat.mean", cols[1]: "stat.stdev"}
    for q, col, values in zip(quantiles, cols[2:], np.asarray(quantile_values, dtype=np.float64)):
        table[col] = _quantity(values, spec.unit)
        table[col].info.description = f"{spec.description}: posterior {q:.4g} quantile"
        ucds[col] = f"{spec.ucd};stat.percentile"
    if samples is not None:
        name = f"{spec.name}_samples"
        table[name] = _quantity(np.asarray(samples).astype(np.float32), spec.unit)
        table[
            name
        ].info.description = f"{spec.description}: joint posterior samples (same draw index across parameters)"
        ucds[name] = spec.ucd
    _set_ucds(table, ucds)


#: Per-row columns models add beside the summaries, by suffix:
#: (description of the parameter's quantity, UCD, the unit is the spread unit).
_SPREAD_COLUMNS = {
    "std_aleatoric": (
        "aleatoric part of the posterior standard deviation, sqrt(mean over ensemble members of their variances)",
        "stat.stdev",
    ),
    "std_epistemic": (
        "epistemic part of the posterior standard deviation, sqrt(variance of the ensemble members' means)",
        "stat.stdev",
    ),
}
_DETECTABLE = {
    "oh_12_detectable_probability": (
        "Probability that the gas-phase metallicity is measurable (strong lines detected), from the "
        "model's detectability classifier",
        "stat.probability",
    ),
    "ood_score": (
        "Training-domain score of the inputs: the model's density check minus its threshold "
        "(> 0: outside the training domain, OUTSIDE_TRAINING_DOMAIN; see astro_galflow.domain)",
        "stat.value;meta.code.qual",
    ),
}

_PDF_COLUMNS = (
    ("_pdf_quantiles", "stat.percentile", "posterior quantiles at levels meta['compact_pdf']['levels']"),
    ("_pdf_hist", "stat.probability", "posterior density in the bins meta['compact_pdf']['edges']"),
)


def describe_columns(table: QTable) -> None:
    """Give the columns models add as plain arrays their unit, description and UCD, in place.

    Covers ``{p}_std_aleatoric`` / ``{p}_std_epistemic`` (ensemble spreads, in the spread
    unit of parameter ``p``: ``dex`` for logarithmic quantities),
    ``oh_12_detectable_probability`` and ``ood_score``; compact-PDF columns (``{p}_pdf_quantiles``,
    ``{p}_pdf_hist``) get the UCD their description lacks. A column that already has a
    description is left as it is. The pipeline calls this once per chunk;
    :func:`write_posterior_table` calls it too, so files are complete either way.
    """
    for name in table.colnames:
        col = table[name]
        meta = dict(col.info.meta or {})
        if name in _DETECTABLE and not col.info.description:
            description, ucd = _DETECTABLE[name]
            table[name] = np.asarray(getattr(col, "value", col))
            table[name].info.description, table[name].info.meta = description, {**meta, "ucd": ucd}
            continue
        param, _, suffix = name.rpartition("_std_")
        suffix = f"std_{suffix}"
        if param in PARAMETERS and suffix in _SPREAD_COLUMNS and not col.info.description:
            spec = PARAMETERS[param]
            what, ucd = _SPREAD_COLUMNS[suffix]
            table[name] = _quantity(getattr(col, "value", col), _spread_unit(spec)).astype(np.asarray(col).dtype)
            table[name].info.description = f"{spec.description}: {what}"
            table[name].info.meta = {**meta, "ucd": ucd}
            continue
        for pdf, ucd, what in _PDF_COLUMNS:
            if name.endswith(pdf) and name[: -len(pdf)] in PARAMETERS and "ucd" not in meta:
                spec = PARAMETERS[name[: -len(pdf)]]
                col.info.meta = {**meta, "ucd": f"{spec.ucd};{ucd}" if pdf == "_pdf_quantiles" else ucd}
                col.info.description = col.info.description or f"{spec.description}: {what}"


def column_metadata(colnames) -> dict:
    """Unit, description and UCD of posterior-table columns, from the naming conventions alone.

    For writers that receive bare values (the HATS partitions of the Dask engine).

    Parameters
    ----------
    colnames : iterable of str

    Returns
    -------
    dict
        ``{name: {"unit": UnitBase or None, "description": str, "ucd": str}}`` for every
        name that follows a convention; other names are absent.
    """
    colnames = list(colnames)
    template = new_posterior_table(
        source_id=np.zeros(1, dtype=np.int64), survey="", ra_deg=[0.0], dec_deg=[0.0], flags=[0]
    )
    for name, spec in PARAMETERS.items():
        suffixes = {c[len(name) + 1 :] for c in colnames if c.startswith(name + "_")}
        if "mean" not in suffixes:
            continue
        quantiles = sorted(float(s[1:].replace("_", ".")) / 100 for s in suffixes if re.fullmatch(r"p\d+(_\d+)?", s))
        add_parameter_columns(
            template, spec, np.zeros((1, 2)), quantiles=quantiles, store_samples="samples" in suffixes
        )
    for name in colnames:
        if name in template.colnames:
            continue
        template[name] = np.zeros(1, dtype=np.float32)
        param = name[: -len("_pdf_quantiles")]
        if name.endswith("_pdf_quantiles") and param in PARAMETERS:
            template[name] = _quantity(template[name], PARAMETERS[param].unit)
    describe_columns(template)
    out = {}
    for name in colnames:
        col = template[name]
        if col.info.description:
            out[name] = {
                "unit": getattr(col, "unit", None),
                "description": col.info.description,
                "ucd": (col.info.meta or {}).get("ucd"),
            }
    return out


def parameters_in(table: QTable) -> list[str]:
    """Names of the parameters that have a ``{name}_mean`` column in ``table``."""
    return [name for name in PARAMETERS if f"{name}_mean" in table.colnames]


def validate_posterior_table(table: QTable, *, check_healpix: bool = True) -> None:
    """Check a table against the posterior-table conventions.

    Raises
    ------
    PosteriorTableError
        Listing every problem found (missing columns, units, dtypes, HEALPix index
        values, meta keys, index).
    """
    problems = [f"missing column {name!r}" for name in FIXED_COLUMNS if name not in table.colnames]
    for coord in ("ra", "dec"):
        if coord in table.colnames and getattr(table[coord], "unit", None) != u.deg:
            problems.append(f"column {coord!r} must be in deg, has {getattr(table[coord], 'unit', None)}")
    if SPATIAL_INDEX_COLUMN in table.colnames and table[SPATIAL_INDEX_COLUMN].dtype != np.int64:
        problems.append(f"{SPATIAL_INDEX_COLUMN} has dtype {table[SPATIAL_INDEX_COLUMN].dtype}, expected int64")
    if "posterior_flags" in table.colnames and table["posterior_flags"].dtype.kind not in "iu":
        problems.append("posterior_flags is not an integer column")
    if check_healpix and not problems:
        expected = compute_healpix_29(table["ra"].to_value(u.deg), table["dec"].to_value(u.deg))
        wrong = np.flatnonzero(expected != np.asarray(table[SPATIAL_INDEX_COLUMN]))
        if wrong.size:
            problems.append(
                f"{SPATIAL_INDEX_COLUMN} disagrees with ra/dec in {wrong.size} row(s), first row {wrong[0]}"
            )
    params = parameters_in(table)
    if not params:
        problems.append("no posterior columns ({parameter}_mean) found")
    for name in params:
        spec = PARAMETERS[name]
        for col in (f"{name}_mean", f"{name}_std"):
            if col not in table.colnames:
                problems.append(f"missing column {col!r}")
        if f"{name}_mean" in table.colnames:
            unit = getattr(table[f"{name}_mean"], "unit", None)
            if unit != spec.unit:
                problems.append(f"column {name}_mean has unit {unit}, expected {spec.unit}")
    for key in ("date", "hats_col_ra", "hats_col_dec", "posterior_flag_bits"):
        if key not in table.meta:
            problems.append(f"meta lacks {key!r}")
    if SPATIAL_INDEX_COLUMN in table.colnames:
        indexed = [tuple(col.info.name for col in index.columns) for index in table.indices]
        if (SPATIAL_INDEX_COLUMN,) not in indexed:
            problems.append(f"table has no index on {SPATIAL_INDEX_COLUMN}")
    if problems:
        raise PosteriorTableError("posterior table is not valid: " + "; ".join(problems))


def _format_for(path: Path) -> str:
    return format_of(path, posterior=True).name


def write_posterior_table(table: QTable, path, *, overwrite: bool = False) -> Path:
    """Write a posterior table; the format follows the extension (ECSV, FITS, Parquet, HDF5, VOTable).

    Values, units, column descriptions, UCDs and meta survive a round trip through
    :func:`read_posterior_table` in every format, and each format carries them where its
    other readers look (:mod:`astro_galflow.table_io`). Columns a model adds without
    metadata are described first (:func:`describe_columns`). The file is written under
    a temporary name beside ``path`` and moved into place, so ``path`` is never left
    half-written.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    astro_galflow.exceptions.OutputError
        Naming the file and the cause when it cannot be written.
    """
    _format_for(path)  # a posterior table's format, refused before anything is written
    out = table.copy(copy_data=False)
    describe_columns(out)
    return write_table(out, path, overwrite=overwrite)


def write_table(table, path, *, overwrite: bool = False) -> Path:
    """Write any table (a cross-match result, a catalog) the way posterior tables are written.

    The format follows the extension (:mod:`astro_galflow.formats`, VOTable and CSV
    included); units, descriptions and UCDs go where each format's readers look, and the
    file is moved into place only when complete.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    astro_galflow.exceptions.OutputError
        Naming the file and the cause when it cannot be written.
    """
    from astro_galflow.table_io import atomic_path, write_table_file

    path = Path(path)
    fmt = format_of(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{os.fspath(path)!r} exists; pass overwrite=True (or --overwrite) to replace it")
    if fmt.posterior:
        write_table_file(table, path, fmt.name)
    else:
        with atomic_path(path) as tmp:
            table.write(tmp, format=fmt.astropy)
    return path


def read_table(path) -> QTable:
    """Read any table file the way :func:`read_posterior_table` reads posterior tables.

    Units written as ``dex(...)`` (which astropy's own FITS and VOTable readers only warn
    about) come back as astropy units; CSV goes through astropy.

    Raises
    ------
    InputError
        Naming the file when it does not exist or cannot be read.
    """
    from astro_galflow.table_io import read_table_file

    path = Path(path)
    fmt = format_of(path)
    if not path.exists():
        raise InputError(f"table file {os.fspath(path)!r} does not exist")
    try:
        if fmt.posterior:
            return read_table_file(path, fmt.name)
        return QTable.read(path, format=fmt.astropy)
    except GalflowError:
        raise
    except Exception as exc:  # the format libraries raise many types for unreadable files
        raise InputError(f"cannot read table file {os.fspath(path)!r}: {exc}") from exc


def read_posterior_table(path) -> QTable:
    """Read a table written by :func:`write_posterior_table`, restoring meta and the ``_healpix_29`` index."""
    _format_for(path)
    table = read_table(path)
    if SPATIAL_INDEX_COLUMN in table.colnames and not any(
        [c.info.name for c in index.columns] == [SPATIAL_INDEX_COLUMN] for index in table.indices
    ):
        table.add_index(SPATIAL_INDEX_COLUMN)
    return table
