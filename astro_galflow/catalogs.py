"""Reading input catalogs (and the cutouts they point to) from files."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from astropy.table import QTable

from astro_galflow.cutouts import open_cutouts
from astro_galflow.exceptions import InputError
from astro_galflow.formats import format_of
from astro_galflow.safe_files import confined_path, regular_file

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
    path = regular_file(path, what="catalog file")
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


def cutouts_path_from_meta(meta: dict, catalog_path) -> Path | None:
    """The cutouts file a catalog's meta names (``cutouts_file``), confined to the catalog's folder.

    Returns None when the meta names none.

    Raises
    ------
    InputError
        When the name points outside the catalog's folder (an absolute path, ``..``, a
        symbolic link leading elsewhere): data must not make the run open files it was
        not given; such a file is used only when passed explicitly (``--cutouts``).
    """
    name = meta.get("cutouts_file")
    if not name:
        return None
    return confined_path(name, Path(catalog_path).parent, what="the cutouts file named in the catalog's meta,")


def resolve_cutouts(meta: dict, catalog_path, cutouts_path=None):
    """Open the cutouts of a catalog: ``cutouts_path`` if given, else the file its meta names.

    Returns None when neither is available. The CLI, the Python API and every engine
    resolve cutouts with this function.

    Parameters
    ----------
    meta : dict
        The catalog's table meta.
    catalog_path : path-like or None
        The catalog file (its folder confines the meta's name); None when the catalog was
        not read from a file.
    cutouts_path : path-like, optional
        An explicit cutouts file.
    """
    if cutouts_path is None:
        if catalog_path is None:
            return None
        cutouts_path = cutouts_path_from_meta(meta, catalog_path)
        if cutouts_path is None:
            return None
    return open_cutouts(cutouts_path)
