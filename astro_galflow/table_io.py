"""Posterior tables on disk: one plain-column serialisation per format, readable by any client.

astropy's own writers serialise a logarithmic column (:class:`~astropy.units.Dex`) as an
astropy-specific YAML object that only astropy reads back; FITS then loses its ``TUNIT``,
ECSV gains a ``!astropy.units.Unit`` tag other ECSV readers (STILTS/TOPCAT) refuse, and
Parquet keeps units only inside astropy's YAML blob. Here every column is written as
plain values with its unit as a string, its description and its UCD in the place each
format's other readers look:

========  ====================================================================
format    where units, descriptions, UCDs and meta go
========  ====================================================================
FITS      ``TUNITn``, ``TCOMMn``, ``TUCDn`` (the STIL convention), standard
          ``DATE``, ``LONGSTRN``; scalar meta as upper-case cards, the exact
          meta as JSON in ``GALFLOW_META``
ECSV      plain column attributes ``unit``, ``description``, ``meta: {ucd}``
Parquet   astropy's ``table_meta_yaml`` header *and* each Arrow field's
          metadata (``unit``, ``ucd``, ``description``)
VOTable   ``FIELD`` ``unit``/``ucd``/``DESCRIPTION``; the HEALPix order as a
          ``PARAM``; the exact meta as JSON in an ``INFO``
HDF5      astropy's serialised header (``serialize_meta``), dataset ``posterior``
========  ====================================================================

Logarithmic units are written ``dex(solMass)``, ``dex(solMass / yr)`` and ``dex``: the
string astropy writes and parses for them (``u.Unit("dex(solMass)")``); neither the FITS
standard nor VOUnit has a unit for a logarithm of a unit that astropy reads back, and
STILTS shows unit strings as written. Every file is written beside its target under a
temporary name and moved into place with :func:`os.replace`.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Column, MaskedColumn, QTable, Table

from astro_galflow.exceptions import InputError, OutputError

__all__ = [
    "unit_to_string",
    "unit_from_string",
    "write_table_file",
    "read_table_file",
    "atomic_path",
    "plain_table",
    "ecsv_text",
    "votable_file",
]

_META_CARD = "GALFLOW_META"
_META_INFO = "galflow_meta"
_HDF5_PATH = "posterior"
# Exact units of every Quantity column, stored with the meta where the format's own
# unit string cannot say "dimensionless Quantity" (FITS, VOTable).
_UNITS_KEY = "__column_units__"


def _is_logarithmic(unit) -> bool:
    """``dex(...)`` or ``dex``: units with no FITS or VOUnit spelling astropy reads back."""
    return isinstance(unit, u.FunctionUnitBase) or unit == u.dex


def unit_to_string(unit) -> str | None:
    """The unit string written to files: FITS-standard where one exists, else astropy's.

    ``dex(...)`` and ``dex`` have no FITS or VOUnit spelling that astropy reads back, so
    they are written in astropy's generic form, which STILTS shows as is.
    """
    if unit is None:
        return None
    unit = u.Unit(unit)
    if unit == u.dimensionless_unscaled:
        return ""
    if _is_logarithmic(unit):
        return unit.to_string()
    try:
        return unit.to_string("fits")
    except ValueError:
        return unit.to_string()


def unit_from_string(text):
    """Parse a unit string written by :func:`unit_to_string` (or by another FITS/VO writer).

    Returns ``None`` for an empty or missing string; a string no format parses stays an
    :class:`~astropy.units.UnrecognizedUnit` (never an exception).
    """
    if text is None or str(text).strip() == "":
        return None
    text = str(text).strip()
    for fmt in ("generic", "fits", "vounit", "cds"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return u.Unit(text, format=fmt)
        except ValueError:
            continue
    return u.Unit(text, parse_strict="silent")


def _values(col):
    """Plain values of a column; masked entries stay masked."""
    if isinstance(col, MaskedColumn):
        return col
    mask = getattr(col, "mask", None)
    values = np.asarray(getattr(col, "value", col))
    if mask is not None and np.any(mask):
        return MaskedColumn(values, mask=np.asarray(mask))
    return values


def _ucd(col) -> str | None:
    return (col.info.meta or {}).get("ucd")


def plain_table(table) -> Table:
    """``table`` as plain :class:`~astropy.table.Column` s with unit, description, UCD."""
    out = Table(meta=dict(table.meta))
    for name in table.colnames:
        col = table[name]
        values = _values(col)
        meta = {"ucd": _ucd(col)} if _ucd(col) else {}
        kind = MaskedColumn if isinstance(values, MaskedColumn) else Column
        column = kind(values, unit=getattr(col, "unit", None), description=col.info.description, meta=meta, copy=False)
        # copy=False: sample columns can be most of the memory a chunk takes.
        out.add_column(column, name=name, copy=False)
    return out


def _bare(plain: Table) -> Table:
    """Values only (masks kept): units, descriptions and UCDs are written by hand."""
    bare = Table([plain[name].copy(copy_data=False) for name in plain.colnames])
    for col in bare.itercols():
        col.unit, col.info.description, col.info.meta = None, None, {}
    return bare


def _quantity_table(table: Table, units: dict | None = None) -> QTable:
    """Plain columns back to a QTable: Dex/Quantity columns, native byte order, str text."""
    table.convert_bytestring_to_unicode()
    out = QTable(meta=table.meta)
    units = units or {}
    for name in table.colnames:
        col = table[name]
        if isinstance(col, MaskedColumn) and (not np.any(col.mask) or col.dtype.kind == "f"):
            # Unmasked, or float: NaN marks a missing value as the writers store it.
            fill = np.nan if col.dtype.kind == "f" else None
            data = col.filled(fill) if np.any(col.mask) else col.data.data
            col = Column(data, unit=col.unit, description=col.info.description, meta=col.info.meta)
        dtype = col.dtype
        if not dtype.isnative:
            col = col.astype(dtype.newbyteorder("="))
        unit = unit_from_string(units[name]) if name in units else getattr(col, "unit", None)
        if name in units and unit is None:
            unit = u.dimensionless_unscaled
        description, meta = col.info.description, dict(col.info.meta or {})
        if unit is not None and dtype.kind in "fiuc":
            values = np.asarray(col)
            kind = unit._quantity_class if isinstance(unit, u.FunctionUnitBase) else u.Quantity
            out.add_column(kind(values, unit, copy=False), name=name, copy=False)
        else:
            out[name] = col.copy(copy_data=False) if isinstance(col, Column) else col
            if isinstance(col, Column):
                out[name].unit = None
        out[name].info.description = description
        out[name].info.meta = meta
    return out


def _json_meta(meta) -> dict:
    """The meta as JSON-able values (what every format can carry)."""
    return json.loads(json.dumps(dict(meta), default=str))


def _quantity_units(table) -> dict:
    return {name: unit_to_string(table[name].unit) for name in table.colnames if isinstance(table[name], u.Quantity)}


@contextmanager
def atomic_path(path: Path):
    """A temporary name beside ``path``, moved onto ``path`` when the block succeeds.

    Raises
    ------
    OutputError
        Naming ``path`` and the cause, for any :class:`OSError` (disk full, no such
        directory, permission denied...).
    """
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {os.fspath(path)!r}: {exc.strerror or exc}") from exc
    finally:
        if tmp.exists():
            tmp.unlink()


def write_table_file(table, path, fmt: str) -> None:
    """Write ``table`` to ``path`` in format ``fmt`` (a :data:`astro_galflow.formats.FORMATS` name)."""
    path = Path(path)
    writer = {
        "fits": _write_fits,
        "ecsv": _write_ecsv,
        "parquet": _write_parquet,
        "hdf5": _write_hdf5,
        "votable": _write_votable,
    }[fmt]
    with atomic_path(path) as tmp:
        writer(table, tmp)


def read_table_file(path, fmt: str) -> QTable:
    """Read a file written by :func:`write_table_file` (or a compatible one) as a QTable."""
    reader = {
        "fits": _read_fits,
        "ecsv": _read_ecsv,
        "parquet": _read_parquet,
        "hdf5": _read_hdf5,
        "votable": _read_votable,
    }[fmt]
    return reader(Path(path))


# --- ECSV -------------------------------------------------------------------------


def _write_ecsv(table, path: Path) -> None:
    plain = plain_table(table)
    plain.meta = _json_meta(table.meta)
    plain.write(path, format="ascii.ecsv", overwrite=True)


def ecsv_text(table) -> str:
    """The ECSV text :func:`write_table_file` writes for ``table`` (for appending parts)."""
    import io

    plain = plain_table(table)
    plain.meta = _json_meta(table.meta)
    buffer = io.StringIO()
    plain.write(buffer, format="ascii.ecsv")
    return buffer.getvalue()


def _read_ecsv(path: Path) -> QTable:
    return _quantity_table(Table.read(path, format="ascii.ecsv"))


# --- FITS -------------------------------------------------------------------------

_FITS_CARD_TYPES = (str, int, float, bool)
# Structural and column keywords, and the standard ones written here: meta keys never
# overwrite them.
_FITS_RESERVED = re.compile(
    r"^(SIMPLE|XTENSION|BITPIX|NAXIS\d*|PCOUNT|GCOUNT|TFIELDS|EXTNAME|DATE|LONGSTRN|COMMENT|HISTORY|END|"
    r"T(TYPE|FORM|UNIT|UCD|COMM|DIM|NULL|SCAL|ZERO|DISP)\d+)$"
)


def _fits_date(text) -> str:
    """``DATE`` in the FITS standard's form (UTC, no zone suffix)."""
    try:
        when = datetime.fromisoformat(str(text))
    except ValueError:
        when = datetime.now(timezone.utc)
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc).replace(tzinfo=None)
    return when.isoformat(timespec="seconds")


def _write_fits(table, path: Path) -> None:
    from astropy.io import fits

    plain = plain_table(table)
    bare = _bare(plain)
    hdu = fits.table_to_hdu(bare)
    header = hdu.header
    header["EXTNAME"] = "POSTERIOR"
    for i, name in enumerate(plain.colnames, start=1):
        col = plain[name]
        unit = unit_to_string(col.unit)
        if unit:
            header.set(f"TUNIT{i}", unit, after=f"TFORM{i}")
        ucd = _ucd(col)
        if ucd:
            header.set(f"TUCD{i}", ucd, after=f"TUNIT{i}" if unit else f"TFORM{i}")
        if col.info.description:
            header.append((f"TCOMM{i}", col.info.description))
    meta = _json_meta(table.meta)
    header["DATE"] = (_fits_date(meta.get("date", "")), "UTC date of writing")
    header["LONGSTRN"] = ("OGIP 1.0", "OGIP long-string convention used")
    with warnings.catch_warnings():
        # Keys longer than 8 characters become HIERARCH cards: expected here.
        warnings.filterwarnings("ignore", message=".*HIERARCH.*")
        warnings.filterwarnings("ignore", message=".*greater than 8 characters.*")
        for key, value in meta.items():
            card = key.upper()
            if isinstance(value, _FITS_CARD_TYPES) and not _FITS_RESERVED.match(card) and card != _META_CARD:
                header[card] = value
        header[_META_CARD] = json.dumps({**meta, _UNITS_KEY: _quantity_units(table)})
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)


def _read_fits(path: Path) -> QTable:
    from astropy.io import fits

    with fits.open(path, memmap=False) as hdul:
        hdu = next((h for h in hdul[1:] if isinstance(h, fits.BinTableHDU)), None)
        if hdu is None:
            raise InputError(f"{os.fspath(path)!r} has no binary table extension")
        header = hdu.header
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", u.UnitsWarning)
            table = Table.read(hdu, unit_parse_strict="silent")
    for key in ("EXTNAME", "DATE", "LONGSTRN"):
        table.meta.pop(key, None)
    stored = table.meta.pop(_META_CARD, None) or table.meta.pop(_META_CARD.lower(), None)
    meta = json.loads(stored) if stored else dict(table.meta)
    units = meta.pop(_UNITS_KEY, None)
    for i, name in enumerate(table.colnames, start=1):
        col = table[name]
        if f"TUNIT{i}" in header:
            col.unit = unit_from_string(header[f"TUNIT{i}"])
        if f"TCOMM{i}" in header:
            col.info.description = header[f"TCOMM{i}"]
        if f"TUCD{i}" in header:
            col.info.meta = {**(col.info.meta or {}), "ucd": header[f"TUCD{i}"]}
    table.meta = meta
    return _quantity_table(table, units)


# --- Parquet ----------------------------------------------------------------------


def _arrow_field_metadata(col) -> dict:
    meta = {
        "unit": unit_to_string(getattr(col, "unit", None)),
        "ucd": _ucd(col),
        "description": col.info.description,
    }
    return {k.encode(): v.encode() for k, v in meta.items() if v}


def _write_parquet(table, path: Path) -> None:
    """Astropy's Parquet layout (its YAML header round-trips the table exactly) plus
    unit/UCD/description in every Arrow field, which pyarrow, pandas, polars and
    LSDB read without astropy."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from astropy.table.meta import get_yaml_from_table

    plain = plain_table(table)
    plain.meta = _json_meta(table.meta)
    fields, arrays = [], []
    file_meta = {"table_meta_yaml": "\n".join(get_yaml_from_table(plain))}
    for name in plain.colnames:
        values = np.asarray(plain[name])
        if values.dtype.kind == "U":
            file_meta[f"table::len::{name}"] = str(values.dtype.itemsize // 4)
            array = pa.array(values.tolist(), type=pa.string())
        elif values.ndim > 1:
            flat = np.ascontiguousarray(values.reshape(len(values), -1)).astype(values.dtype.newbyteorder("<"))
            size = flat.shape[1]
            array = pa.FixedSizeListArray.from_arrays(pa.array(flat.ravel()), size)
        else:
            array = pa.array(values.astype(values.dtype.newbyteorder("<"), copy=False))
        fields.append(pa.field(name, array.type, metadata=_arrow_field_metadata(plain[name]) or None))
        arrays.append(array)
    file_meta["PANDAS_ATTRS"] = json.dumps(_pandas_attrs(plain))
    schema = pa.schema(fields, metadata={k.encode(): v.encode() for k, v in file_meta.items()})
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), path, version="2.6")


def _pandas_attrs(plain) -> dict:
    """``DataFrame.attrs`` pandas restores from the file: per-column unit, UCD, description."""
    return {
        "columns": {
            name: {
                key: value
                for key, value in (
                    ("unit", unit_to_string(plain[name].unit)),
                    ("ucd", _ucd(plain[name])),
                    ("description", plain[name].info.description),
                )
                if value
            }
            for name in plain.colnames
        }
    }


def _read_parquet(path: Path) -> QTable:
    import pyarrow.parquet as pq
    from astropy.table.meta import get_header_from_yaml

    # Read on the calling thread, through ParquetFile rather than the dataset API:
    # astropy's reader (pq.read_table, Arrow's CPU and I/O thread pools) can leave a
    # pool thread that aborts the interpreter at exit (apache/arrow#34314).
    with pq.ParquetFile(path, pre_buffer=False) as parquet_file:
        pa_table = parquet_file.read(use_threads=False)
    schema_meta = pa_table.schema.metadata or {}
    header = {}
    if b"table_meta_yaml" in schema_meta:
        header = get_header_from_yaml(schema_meta[b"table_meta_yaml"].decode().splitlines())
    attrs = {c["name"]: c for c in header.get("datatype", [])}
    table = Table(meta=header.get("meta", {}))
    for field, chunked in zip(pa_table.schema, pa_table.columns):
        name = field.name
        values = _arrow_to_numpy(chunked, attrs.get(name, {}))
        fmeta = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
        info = attrs.get(name, {})
        unit = info.get("unit", fmeta.get("unit"))
        table[name] = Column(
            values,
            unit=unit_from_string(unit)
            if unit not in (None, "")
            else (u.dimensionless_unscaled if unit == "" else None),
            description=info.get("description", fmeta.get("description")),
            meta=dict(info.get("meta") or ({"ucd": fmeta["ucd"]} if "ucd" in fmeta else {})),
        )
    return _quantity_table(table)


def _arrow_to_numpy(chunked, info: dict) -> np.ndarray:
    import pyarrow as pa

    array = chunked.combine_chunks()
    if pa.types.is_fixed_size_list(array.type):
        flat = array.flatten().to_numpy(zero_copy_only=False)
        values = flat.reshape(len(array), array.type.list_size)
        shape = info.get("subtype", "")
        if "[" in shape:
            dims = tuple(int(d) for d in shape[shape.index("[") + 1 : -1].split(","))
            values = values.reshape((len(array), *dims))
        return values
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return np.asarray(array.to_pylist(), dtype=str)
    return array.to_numpy(zero_copy_only=False)


# --- HDF5 -------------------------------------------------------------------------


def _write_hdf5(table, path: Path) -> None:
    plain = plain_table(table)
    plain.meta = _json_meta(table.meta)
    plain.write(path, format="hdf5", path=_HDF5_PATH, serialize_meta=True)


def _read_hdf5(path: Path) -> QTable:
    import h5py

    with h5py.File(path, "r") as h5:
        # Posterior tables live at "posterior"; another HDF5 table is read from astropy's default place.
        where = _HDF5_PATH if _HDF5_PATH in h5 else None
    return _quantity_table(Table.read(path, format="hdf5", path=where))


# --- VOTable ----------------------------------------------------------------------


def _write_votable(table, path: Path) -> None:
    votable = votable_file(table)
    with warnings.catch_warnings():
        # VOUnit deprecates erg (the SDSS line-flux unit), and W50 flags the dex units
        # written in astropy's form: both strings are what is meant.
        warnings.simplefilter("ignore", u.UnitsWarning)
        warnings.filterwarnings("ignore", message=".*W50.*")
        votable.to_xml(path if hasattr(path, "write") else os.fspath(path))


def votable_file(table):
    """The :class:`~astropy.io.votable.tree.VOTableFile` :func:`write_table_file` writes for ``table``."""
    from astropy.io.votable import from_table
    from astropy.io.votable.tree import Info, Param, VOTableFile

    plain = plain_table(table)
    bare = _bare(plain)
    votable: VOTableFile = from_table(bare)
    resource = votable.resources[0]
    vot_table = resource.tables[0]
    vot_table.name = "posterior"
    for field, name in zip(vot_table.fields, plain.colnames):
        col = plain[name]
        if col.unit is not None and col.unit != u.dimensionless_unscaled:
            if _is_logarithmic(col.unit):
                # dex(...) and dex are no VOUnits: whether astropy's VOUnit writer refuses
                # them or not depends on its parse caches, and the unit setter would
                # re-parse "dex" as deci-"ex". The unit object is kept as it is and written
                # in astropy's form, as unit_to_string does (module docstring).
                field._unit = col.unit
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", u.UnitsWarning)
                    field.unit = col.unit.to_string("vounit")
        if _ucd(col):
            field.ucd = _ucd(col)
        if col.info.description:
            field.description = col.info.description
    meta = _json_meta(table.meta)
    healpix = meta.get("hats_col_healpix")
    if healpix:
        order = meta.get("hats_col_healpix_order", 29)
        param = Param(
            votable,
            name="healpix_order",
            datatype="int",
            value=str(order),
            ucd="pos.healpix;meta.number",
        )
        param.description = f"HEALPix order of column {healpix} (NESTED scheme, ICRS)"
        vot_table.params.append(param)
    for key, value in meta.items():
        if isinstance(value, (str, int, float, bool)):
            resource.infos.append(Info(name=key, value=str(value)))
    resource.infos.append(Info(name=_META_INFO, value=json.dumps({**meta, _UNITS_KEY: _quantity_units(table)})))
    return votable


def _read_votable(path: Path) -> QTable:
    from astropy.io.votable import parse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)
        warnings.filterwarnings("ignore", message=".*W50.*")
        votable = parse(os.fspath(path), unit_format="generic")
    resource = votable.resources[0]
    vot_table = resource.tables[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)
        table = vot_table.to_table(use_names_over_ids=True)
    stored = next((info.value for info in resource.infos if info.name == _META_INFO), None)
    meta = json.loads(stored) if stored else {info.name: info.value for info in resource.infos}
    units = meta.pop(_UNITS_KEY, None)
    for field, name in zip(vot_table.fields, table.colnames):
        col = table[name]
        col.unit = unit_from_string(field.unit.to_string() if hasattr(field.unit, "to_string") else field.unit)
        col.info.description = field.description
        col.info.meta = {"ucd": field.ucd} if field.ucd else {}
    table.meta = meta
    return _quantity_table(table, units)
