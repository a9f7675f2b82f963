"""Reading input catalogs (and the cutouts they point to) from files."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from astropy.table import QTable

from astro_galflow.cutouts import open_cutouts
from astro_galflow.exceptions import InputError
from astro_galflow.formats import format_of

__all__ = ["read_catalog", "catalog_format", "resolve_cutouts"]

def catalog_format(path) -> str:
    """astropy format name for ``path``, from its extension (:mod:`astro_galflow.formats`)."""
    return format_of(path).astropy


def read_catalog(path) -> QTable:
    """Read an input catalog; errors name the file.

    Raises
    ------
    InputError
        If the file is missing, unreadable (e.g. truncated FITS) or has no rows.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"catalog file {os.fspath(path)!r} does not exist")
    fmt = catalog_format(path)
    kwargs = {"path": "posterior"} if fmt == "hdf5" else {}
    try:
        with warnings.catch_warnings():
            # A truncated file is an error to report with its name, not a warning
            # followed by a confusing reshape error; other reader warnings pass through.
            warnings.filterwarnings("error", message=".*truncated.*")
            table = QTable.read(path, format=fmt, **kwargs) if fmt != "hdf5" else _read_hdf5(path)
    except InputError:
        raise
    except Exception as exc:  # astropy/pyarrow/h5py raise many types for bad files
        raise InputError(f"cannot read catalog file {os.fspath(path)!r}: {type(exc).__name__}: {exc}") from exc
    if len(table) == 0:
        raise InputError(f"catalog file {os.fspath(path)!r} has no rows")
    if fmt == "fits":
        # FITS upper-cases short header keys; the input convention's meta keys are lower-case.
        table.meta = {key.lower(): value for key, value in table.meta.items()}
    table.meta.setdefault("source_file", os.fspath(path))
    return table


def _read_hdf5(path: Path) -> QTable:
    import h5py

    with h5py.File(path, "r") as handle:
        datasets = [name for name, obj in handle.items() if isinstance(obj, h5py.Dataset)]
    if not datasets:
        raise InputError(f"HDF5 file {os.fspath(path)!r} holds no table")
    return QTable.read(path, format="hdf5", path=datasets[0])


def resolve_cutouts(table: QTable, catalog_path, cutouts_path=None):
    """Open the cutouts for a catalog: ``cutouts_path`` if given, else ``meta["cutouts_file"]``.

    Returns None when neither is available.
    """
    if cutouts_path is None:
        name = table.meta.get("cutouts_file")
        if not name:
            return None
        cutouts_path = Path(catalog_path).parent / name
    return open_cutouts(cutouts_path)
