"""The one map from a file's extension to its table format, and what each format allows.

Every reader and writer of the package (input catalogs, posterior tables, the streaming
engine's chunked readers and its assembled outputs, simulated catalogs) looks formats up
here, so that a format added once is known everywhere and the error for an unknown
extension is the same wherever it is raised.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from astro_galflow.exceptions import InputError

__all__ = ["TableFormat", "FORMATS", "EXTENSIONS", "format_of"]


@dataclass(frozen=True)
class TableFormat:
    """One table file format.

    Attributes
    ----------
    name : str
        Short name (``"fits"``, ``"parquet"``...), the key of :data:`FORMATS`.
    astropy : str
        The ``format=`` astropy's unified I/O reads and writes it with.
    extensions : tuple of str
        Lower-case extensions, with the dot.
    chunked_read : bool
        The streaming engine reads it chunk by chunk (:mod:`astro_galflow.scale.readers`);
        otherwise a streaming run reads it whole, then chunks it in memory.
    chunked_write : bool
        The streaming engine assembles it part by part (:mod:`astro_galflow.scale.writers`);
        otherwise the parts are read back and written as one table.
    posterior : bool
        Posterior tables are written in it (:func:`astro_galflow.table.write_posterior_table`).
    """

    name: str
    astropy: str
    extensions: tuple[str, ...]
    chunked_read: bool = False
    chunked_write: bool = False
    posterior: bool = True


#: Every format the package reads, by short name.
FORMATS = {
    fmt.name: fmt
    for fmt in (
        TableFormat("fits", "fits", (".fits", ".fit", ".fits.gz"), chunked_read=True, chunked_write=True),
        TableFormat("parquet", "parquet", (".parquet", ".pq"), chunked_read=True, chunked_write=True),
        TableFormat("ecsv", "ascii.ecsv", (".ecsv",), chunked_read=True, chunked_write=True),
        TableFormat("hdf5", "hdf5", (".hdf5", ".h5"), chunked_read=True),
        TableFormat("votable", "votable", (".vot", ".xml")),
        TableFormat("csv", "ascii.csv", (".csv",), posterior=False),
    )
}

#: Extension -> :class:`TableFormat`.
EXTENSIONS = {ext: fmt for fmt in FORMATS.values() for ext in fmt.extensions}


def _suffix(path: Path) -> str:
    name = path.name.lower()
    # two-part extensions (".fits.gz") first
    for ext in sorted(EXTENSIONS, key=len, reverse=True):
        if name.endswith(ext):
            return ext
    return path.suffix.lower()


def format_of(path, *, posterior: bool = False) -> TableFormat:
    """The :class:`TableFormat` of ``path``, from its extension.

    Parameters
    ----------
    path : path-like
        File name.
    posterior : bool
        Only formats posterior tables are written in are accepted.

    Raises
    ------
    InputError
        Naming the file and the extensions that are known, for any other extension.
    """
    path = Path(path)
    fmt = EXTENSIONS.get(_suffix(path))
    if fmt is None or (posterior and not fmt.posterior):
        known = ", ".join(ext for ext, f in EXTENSIONS.items() if f.posterior or not posterior)
        what = "a posterior table" if posterior else "a table"
        raise InputError(
            f"cannot tell the format of {os.fspath(path)!r}: unknown extension {_suffix(path) or '(none)'!r}; "
            f"{what} is one of {known}"
        )
    return fmt
