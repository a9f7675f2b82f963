"""Chunked readers: an input catalog of any size as a sequence of small QTables.

Each format is read without loading the whole file: Parquet by row group (pyarrow),
FITS through a memory map (only the rows of a chunk are copied), ECSV by a line
splitter that keeps the header, HDF5 by dataset slices (h5py). Units and table meta
written by astropy are restored for every chunk, so a chunk looks exactly like the
same rows of ``QTable.read(path)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.table import QTable, Table

from astro_galflow.exceptions import InputError
from astro_galflow.formats import format_of

__all__ = ["Chunk", "ChunkedReader", "InMemoryChunks", "open_chunked"]


@dataclass(frozen=True)
class Chunk:
    """Rows ``start:stop`` of the input catalog."""

    index: int
    start: int
    stop: int
    table: QTable


class ChunkedReader:
    """Base class: ``n_rows`` and :meth:`iter_chunks` over a file; a context manager.

    Parameters
    ----------
    path : path-like
        Input catalog.
    """

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"input catalog {os.fspath(self.path)!r} does not exist")
        self.n_rows = self._count_rows()

    def _count_rows(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        """Release the open file (memory map, HDF5 handle)."""
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.close()
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read_rows(self, start: int, stop: int) -> QTable:
        raise NotImplementedError

    def meta(self) -> dict:
        """The catalog's table meta (read with its first row; empty for an empty catalog)."""
        if self.n_rows == 0:
            return {}
        chunks = self.iter_chunks(1)
        try:
            return dict(next(chunks).table.meta)
        finally:
            chunks.close()

    def column_names(self) -> list[str]:
        """The catalog's column names (read with its first row)."""
        if self.n_rows == 0:
            return []
        chunks = self.iter_chunks(1)
        try:
            return list(next(chunks).table.colnames)
        finally:
            chunks.close()

    def iter_chunks(self, chunk_rows: int, *, skip: frozenset = frozenset()) -> Iterator[Chunk]:
        """Yield chunks of ``chunk_rows`` rows (the last may be shorter).

        Parameters
        ----------
        chunk_rows : int
            Rows per chunk.
        skip : set of int
            Chunk indices not to read (finished in an earlier run).
        """
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
        for index, start in enumerate(range(0, self.n_rows, chunk_rows)):
            if index in skip:
                continue
            stop = min(start + chunk_rows, self.n_rows)
            try:
                table = self._read_rows(start, stop)
            except InputError:
                raise
            except Exception as exc:  # a corrupt file raises whatever its parser raises
                raise InputError(f"cannot read rows {start}-{stop - 1} of {os.fspath(self.path)!r}: {exc}") from exc
            yield Chunk(index, start, stop, table)


def _apply_yaml_header(columns: dict, header_lines) -> tuple[QTable, dict]:
    """Build a QTable from plain arrays, restoring units/descriptions/meta from astropy's YAML header."""
    from astropy.table import meta as table_meta

    header = table_meta.get_header_from_yaml(header_lines)
    table = Table(columns, copy=False)
    for col_attrs in header.get("datatype", []):
        name = col_attrs["name"]
        if name not in table.colnames:
            continue
        for attr in ("unit", "description", "format"):
            if attr in col_attrs:
                setattr(table[name].info, attr, col_attrs[attr])
        if "meta" in col_attrs:
            table[name].info.meta = col_attrs["meta"]
    table.meta.update(header.get("meta", {}) or {})
    if "__serialized_columns__" in table.meta:
        # Masked and mixin columns are stored as several plain columns (``a`` and
        # ``a.mask``); astropy's own readers rebuild them with this function, and a
        # chunk must look exactly like the same rows of QTable.read (a lost mask is a
        # silently wrong number downstream).
        from astropy.table import serialize

        table = serialize._construct_mixins_from_columns(table)
    return QTable(table, copy=False), header


class ParquetChunks(ChunkedReader):
    """Parquet read one row group at a time; a chunk spans whole or partial row groups."""

    def _count_rows(self) -> int:
        import pyarrow.parquet as pq

        try:
            self._file = self._handle = pq.ParquetFile(self.path)
        except Exception as exc:
            raise InputError(f"cannot read Parquet file {os.fspath(self.path)!r}: {exc}") from exc
        meta = self._file.metadata
        self._group_starts = np.concatenate(
            [[0], np.cumsum([meta.row_group(i).num_rows for i in range(meta.num_row_groups)])]
        )
        raw = (self._file.schema_arrow.metadata or {}).get(b"table_meta_yaml")
        self._yaml = raw.decode().splitlines() if raw else None
        return int(meta.num_rows)

    def _read_rows(self, start: int, stop: int) -> QTable:
        import pyarrow as pa

        first = int(np.searchsorted(self._group_starts, start, side="right") - 1)
        last = int(np.searchsorted(self._group_starts, stop, side="left"))
        groups = self._file.read_row_groups(list(range(first, last)))
        offset = int(self._group_starts[first])
        arrow = groups.slice(start - offset, stop - start)
        columns = {}
        for name in arrow.column_names:
            col = arrow.column(name)
            if pa.types.is_list(col.type) or pa.types.is_fixed_size_list(col.type):
                # Array-valued cells (samples, PDFs) come back as (n, k) arrays.
                columns[name] = np.stack(col.to_numpy(zero_copy_only=False)) if len(col) else np.empty((0, 0))
            else:
                columns[name] = col.to_numpy(zero_copy_only=False)
        if self._yaml is None:
            return QTable(columns)
        table, _ = _apply_yaml_header(columns, self._yaml)
        return table


class FitsChunks(ChunkedReader):
    """The first table HDU of a FITS file through a memory map; a chunk copies only its rows."""

    def _count_rows(self) -> int:
        from astropy.io import fits

        try:
            self._hdul = self._handle = fits.open(self.path, memmap=True)
        except Exception as exc:
            raise InputError(f"cannot read FITS file {os.fspath(self.path)!r}: {exc}") from exc
        tables = [hdu for hdu in self._hdul if isinstance(hdu, fits.BinTableHDU | fits.TableHDU)]
        if not tables:
            raise InputError(f"FITS file {os.fspath(self.path)!r} has no table HDU")
        self._hdu = tables[0]
        return int(self._hdu.header["NAXIS2"])

    def _read_rows(self, start: int, stop: int) -> QTable:
        from astropy.io import fits

        rows = self._hdu.data[start:stop].copy()
        # A BinTableHDU of just these rows lets astropy's FITS reader restore units,
        # masks and the serialized meta exactly as QTable.read would.
        hdu = fits.BinTableHDU(data=rows, header=self._hdu.header.copy())
        table = QTable.read(hdu)
        # FITS upper-cases short header keys; the input convention's meta keys are lower-case
        table.meta = {key.lower(): value for key, value in table.meta.items()}
        return table


class EcsvChunks(ChunkedReader):
    """ECSV split into line blocks; each block is parsed with the file's own header.

    Values spanning several lines (quoted newlines) are not supported.
    """

    def _count_rows(self) -> int:
        header = []
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                header.append(line)
                if not line.startswith("#"):
                    break  # the column-name line ends the header
            n = sum(1 for line in fh if line.strip())
        if not header or not header[0].startswith("# %ECSV"):
            raise InputError(f"{os.fspath(self.path)!r} is not an ECSV file (no '# %ECSV' first line)")
        self._header = header
        self._n_header = len(header)
        return n

    def iter_chunks(self, chunk_rows: int, *, skip: frozenset = frozenset()) -> Iterator[Chunk]:
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
        with open(self.path, encoding="utf-8") as fh:
            for _ in range(self._n_header):
                next(fh)
            lines = (line for line in fh if line.strip())
            for index, start in enumerate(range(0, self.n_rows, chunk_rows)):
                stop = min(start + chunk_rows, self.n_rows)
                block = [next(lines) for _ in range(stop - start)]
                if index in skip:
                    continue
                try:
                    table = QTable.read(self._header + block, format="ascii.ecsv", guess=False)
                except Exception as exc:
                    raise InputError(
                        f"cannot parse rows {start}-{stop - 1} of {os.fspath(self.path)!r}: {exc}"
                    ) from exc
                yield Chunk(index, start, stop, table)


class Hdf5Chunks(ChunkedReader):
    """An astropy-written HDF5 table read by dataset slices.

    The first dataset of the file is used unless ``path`` names one as
    ``file.hdf5:/group/name``.
    """

    def __init__(self, path, dataset: str | None = None):
        self._dataset_name = dataset
        super().__init__(path)

    def _count_rows(self) -> int:
        import h5py

        try:
            self._file = self._handle = h5py.File(self.path, "r")
        except Exception as exc:
            raise InputError(f"cannot read HDF5 file {os.fspath(self.path)!r}: {exc}") from exc
        name = self._dataset_name
        if name is None:
            found = []
            self._file.visititems(
                lambda key, obj: (
                    found.append(key)
                    if isinstance(obj, h5py.Dataset) and obj.dtype.names and not key.endswith("__table_column_meta__")
                    else None
                )
            )
            if not found:
                raise InputError(f"HDF5 file {os.fspath(self.path)!r} has no table dataset")
            name = found[0]
        self._dset = self._file[name]
        meta_name = f"{name}.__table_column_meta__"
        self._yaml = (
            [line.decode() if isinstance(line, bytes) else line for line in self._file[meta_name][()]]
            if meta_name in self._file
            else None
        )
        return int(self._dset.shape[0])

    def _read_rows(self, start: int, stop: int) -> QTable:
        rows = self._dset[start:stop]
        columns = {}
        for name in rows.dtype.names:
            values = rows[name]
            columns[name] = values.astype(str) if values.dtype.kind == "S" else values
        if self._yaml is None:
            return QTable(columns)
        table, _ = _apply_yaml_header(columns, self._yaml)
        return table


class InMemoryChunks(ChunkedReader):
    """A table already in memory (read whole by astropy or a source plugin), served in chunks.

    Used for formats that cannot be read in pieces (CSV, VOTable) and for catalogs a
    :class:`~astro_galflow.sources.base.DataSource` reads in its survey's own layout.

    Parameters
    ----------
    table : astropy.table.Table
        The whole catalog.
    path : path-like
        The file it was read from (for messages and the resume journal).
    """

    def __init__(self, table, path):
        self._table = QTable(table, copy=False)
        super().__init__(path)

    def _count_rows(self) -> int:
        return len(self._table)

    def _read_rows(self, start: int, stop: int) -> QTable:
        return self._table[start:stop]

    def meta(self) -> dict:
        return dict(self._table.meta)

    def column_names(self) -> list[str]:
        return list(self._table.colnames)


_READERS = {"parquet": ParquetChunks, "fits": FitsChunks, "ecsv": EcsvChunks, "hdf5": Hdf5Chunks}


def open_chunked(path) -> ChunkedReader:
    """Open ``path`` with the chunked reader of its format, or read it whole when it has none.

    Raises
    ------
    InputError
        If the extension names no known format (:mod:`astro_galflow.formats`) or the file
        cannot be read.
    """
    path = Path(path)
    fmt = format_of(path)
    if not path.is_file():
        raise InputError(f"input catalog {os.fspath(path)!r} does not exist")
    if fmt.chunked_read:
        return _READERS[fmt.name](path)
    from astro_galflow.catalogs import read_catalog

    return InMemoryChunks(read_catalog(path), path)
