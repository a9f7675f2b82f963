"""Incremental output: one Parquet part per chunk, assembled into the final file at the end.

Parts are the unit of resumption: each is written to a temporary name and moved into
place with :func:`os.replace`, so a part either exists whole or not at all. The final
file is assembled part by part (never the whole table in memory) and, again, moved
into place atomically: Parquet row groups through :class:`pyarrow.parquet.ParquetWriter`,
ECSV by appending the data lines of each part under the first part's header, FITS by
writing the first part's binary-table header with the total row count followed by the
raw rows of every part; HDF5, which cannot be appended to, by reading the parts back.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from astropy.table import QTable

from astro_galflow.exceptions import GalflowWarning, InputError
from astro_galflow.formats import format_of
from astro_galflow.table import read_posterior_table, write_posterior_table

__all__ = ["output_format", "parts_dir_for", "write_part", "part_name", "assemble"]

_FITS_BLOCK = 2880


def output_format(path) -> str:
    """Short name of the posterior-table format of ``path`` (:mod:`astro_galflow.formats`).

    Raises
    ------
    InputError
        For an extension no posterior-table format has.
    """
    return format_of(path, posterior=True).name


def parts_dir_for(output_path) -> Path:
    """Directory holding the parts and the resume journal of ``output_path``."""
    output_path = Path(output_path)
    return output_path.with_name(output_path.name + ".parts")


def part_name(index: int) -> str:
    """File name of the part of chunk ``index`` (zero-padded so names sort in row order)."""
    return f"part-{index:08d}.parquet"


def write_part(directory, index: int, table: QTable) -> Path:
    """Write chunk ``index``'s posterior table atomically; return its path."""
    directory = Path(directory)
    final = directory / part_name(index)
    tmp = directory / f".tmp-{part_name(index)}"
    write_posterior_table(table, tmp, overwrite=True)
    os.replace(tmp, final)
    return final


def assemble(part_paths, output_path, *, overwrite: bool = False) -> Path:
    """Concatenate ``part_paths`` (in order) into ``output_path``, atomically.

    Parameters
    ----------
    part_paths : sequence of path-like
        Parquet parts written by :func:`write_part`.
    output_path : path-like
        Final file; its extension picks the format (:mod:`astro_galflow.formats`).
    overwrite : bool
        Replace an existing ``output_path``.
    """
    output_path = Path(output_path)
    fmt = output_format(output_path)
    if output_path.exists() and not overwrite:
        raise InputError(f"output {os.fspath(output_path)!r} exists; pass overwrite=True (--overwrite) to replace it")
    part_paths = [Path(p) for p in part_paths]
    if not part_paths:
        raise InputError("no parts to assemble")
    tmp = output_path.with_name(f".tmp-{output_path.name}")
    assemblers = {"parquet": _assemble_parquet, "ecsv": _assemble_ecsv, "fits": _assemble_fits}
    assemblers.get(fmt, _assemble_in_memory)(part_paths, tmp)
    os.replace(tmp, output_path)
    return output_path


def _assemble_in_memory(parts, out: Path) -> None:
    """Formats that cannot be appended to (HDF5): the parts read back and written as one table."""
    from astropy.table import vstack

    tables = [read_posterior_table(p) for p in parts]
    table = tables[0] if len(tables) == 1 else vstack(tables, metadata_conflicts="silent")
    table.meta = dict(tables[0].meta)
    write_posterior_table(table, out, overwrite=True)


def _assemble_parquet(parts, out: Path) -> None:
    import pyarrow.parquet as pq

    schema = pq.read_schema(parts[0])
    with pq.ParquetWriter(out, schema) as writer:
        for part in parts:
            writer.write_table(pq.read_table(part, schema=schema))


def _assemble_ecsv(parts, out: Path) -> None:
    from astro_galflow.table import describe_columns
    from astro_galflow.table_io import ecsv_text

    with open(out, "w", encoding="utf-8") as fh:
        for k, part in enumerate(parts):
            table = read_posterior_table(part)
            describe_columns(table)
            lines = ecsv_text(table).splitlines(keepends=True)
            if k == 0:
                fh.writelines(lines)
                continue
            # Skip the '#' header block and the column-name line that follows it.
            n_header = next(i for i, line in enumerate(lines) if not line.startswith("#")) + 1
            fh.writelines(lines[n_header:])


def _fits_part(part: Path, directory: Path):
    """Write one part as a FITS file beside ``directory`` and return its path."""
    path = directory / (part.stem + ".fits")
    write_posterior_table(read_posterior_table(part), path, overwrite=True)
    return path


def _assemble_fits(parts, out: Path) -> None:
    import tempfile

    from astropy.io import fits

    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".fits-parts-") as scratch:
        scratch = Path(scratch)
        fits_parts = [_fits_part(p, scratch) for p in parts]
        with fits.open(fits_parts[0]) as first:
            primary = first[0].header.copy()
            header = first[1].header.copy()
        layouts = set()
        total = 0
        for path in fits_parts:
            with fits.open(path) as hdul:
                h = hdul[1].header
                layouts.add(
                    (h["NAXIS1"], h.get("PCOUNT", 0), tuple(h.get(f"TFORM{i}") for i in range(1, h["TFIELDS"] + 1)))
                )
                total += h["NAXIS2"]
        if len(layouts) != 1 or next(iter(layouts))[1] != 0:
            # String widths (or variable-length arrays) differ between parts, so their
            # raw rows do not line up; concatenate through astropy instead.
            warnings.warn(
                f"parts of {os.fspath(out)!r} have different FITS column layouts; assembling in memory",
                GalflowWarning,
                stacklevel=3,
            )
            from astropy.table import vstack

            table = vstack([read_posterior_table(p) for p in parts], metadata_conflicts="silent")
            write_posterior_table(table, out, overwrite=True)
            return
        header["NAXIS2"] = total
        with open(out, "wb") as fh:
            fh.write(fits.PrimaryHDU(header=primary).header.tostring().encode("ascii"))
            fh.write(header.tostring().encode("ascii"))
            written = 0
            for path in fits_parts:
                with fits.open(path, memmap=True) as hdul:
                    info = hdul.fileinfo(1)
                    nbytes = hdul[1].header["NAXIS1"] * hdul[1].header["NAXIS2"]
                with open(path, "rb") as src:
                    src.seek(info["datLoc"])
                    remaining = nbytes
                    while remaining:
                        block = src.read(min(remaining, 1 << 24))
                        fh.write(block)
                        remaining -= len(block)
                written += nbytes
            fh.write(b"\0" * (-written % _FITS_BLOCK))
