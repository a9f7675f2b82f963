"""Training catalogs: reading, deterministic splits, labels and cutout streaming.

A training catalog is an input-convention table (:mod:`astro_galflow.inputs`) with label
columns named as the parameters (:mod:`astro_galflow.params`), optionally
``metallicity_detectable``, and — for image models — ``cutout_index`` with the cutouts
file beside it (``meta["cutouts_file"]``, :mod:`astro_galflow.cutouts`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from astropy.table import QTable

from astro_galflow.cutouts import cutouts_path_for, open_cutouts
from astro_galflow.exceptions import InputError
from astro_galflow.inputs import check_columns, column_values
from astro_galflow.params import METALLICITY_PARAMETER, get_parameter

__all__ = [
    "SPLIT_FRACTIONS",
    "SPLIT_METHOD",
    "read_catalog",
    "split_of",
    "labels_of",
    "detectable_of",
    "catalog_cutouts",
    "iterate_images",
]

#: Train / validation / test fractions of :func:`split_of` (the paper's 70/15/15).
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)
SPLIT_METHOD = (
    "u = first 8 bytes of blake2b(str(source_id), digest_size=8) / 2**64; train if u < 0.70, val if u < 0.85, else test"
)


def read_catalog(path) -> QTable:
    """Read a catalog file (any format astropy reads) as a QTable.

    Raises
    ------
    InputError
        Naming the file when it is missing or unreadable.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"catalog file {os.fspath(path)!r} does not exist")
    try:
        table = QTable.read(path)
    except Exception as exc:  # astropy raises many types for unreadable files
        raise InputError(f"catalog file {os.fspath(path)!r} cannot be read: {exc}") from exc
    table.meta.setdefault("catalog_path", os.fspath(path))
    return table


def _unit_interval(source_id) -> float:
    digest = hashlib.blake2b(str(source_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def split_of(table) -> np.ndarray:
    """Deterministic ``"train"``/``"val"``/``"test"`` label of every row, from ``source_id``.

    The split depends only on each row's identifier (:data:`SPLIT_METHOD`), so it is the
    same in training and evaluation, whatever the row order or subset.
    """
    check_columns(table, ["source_id"], what="training catalog")
    u = np.array([_unit_interval(s) for s in np.asarray(table["source_id"])])
    train, val = SPLIT_FRACTIONS[0], SPLIT_FRACTIONS[0] + SPLIT_FRACTIONS[1]
    return np.where(u < train, "train", np.where(u < val, "val", "test"))


def labels_of(table, parameters) -> np.ndarray:
    """Model-space labels ``(n, D)`` float64 (NaN where missing).

    O/H labels of rows whose ``metallicity_detectable`` is False are set to NaN: the paper
    trains the O/H likelihood on detectable galaxies only.

    Raises
    ------
    MissingColumnError
        Naming the absent label columns.
    """
    check_columns(table, list(parameters), what="training catalog (label columns)")
    cols = []
    for name in parameters:
        spec = get_parameter(name)
        values = column_values(table, name, spec.unit)
        cols.append(spec.to_model_space(values))
    labels = np.stack(cols, axis=1)
    if METALLICITY_PARAMETER in parameters:
        det = detectable_of(table)
        k = list(parameters).index(METALLICITY_PARAMETER)
        labels[det == 0.0, k] = np.nan
    return labels


def detectable_of(table) -> np.ndarray:
    """``metallicity_detectable`` as float (1/0, NaN when the column is absent or masked)."""
    if "metallicity_detectable" not in table.colnames:
        return np.full(len(table), np.nan)
    return column_values(table, "metallicity_detectable").astype(np.float64)


def catalog_cutouts(table, catalog_path) -> tuple[np.ndarray, np.ndarray]:
    """The memory-mapped cutouts of a catalog and each row's index into them.

    Raises
    ------
    InputError
        When ``cutout_index`` is absent or points outside the cutouts file.
    """
    check_columns(table, ["cutout_index"], what="image training catalog")
    name = table.meta.get("cutouts_file")
    path = Path(catalog_path).parent / name if name else cutouts_path_for(catalog_path)
    cutouts = open_cutouts(path)
    index = np.asarray(table["cutout_index"], dtype=np.int64)
    bad = (index < 0) | (index >= len(cutouts))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"catalog {os.fspath(catalog_path)!r}: cutout_index {index[row]} of row {row} is outside "
            f"the {len(cutouts)} cutouts of {os.fspath(path)!r}"
        )
    return cutouts, index


def iterate_images(cutouts: np.ndarray, index: np.ndarray, batch_size: int):
    """Yield ``(positions, images)`` batches of ``cutouts[index]``, in the order of ``index``.

    Reads only one batch at a time from the memory map; within a batch, rows are read in
    file order for sequential I/O.
    """
    for start in range(0, len(index), batch_size):
        chunk = index[start : start + batch_size]
        order = np.argsort(chunk, kind="stable")
        images = np.empty((len(chunk), *cutouts.shape[1:]), dtype=np.float32)
        images[order] = cutouts[chunk[order]]
        yield np.arange(start, start + len(chunk)), images
