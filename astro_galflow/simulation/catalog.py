"""The simulated catalog: truth + photometry table, its cutouts, and their files."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.table import QTable

from astro_galflow.cutouts import cutouts_path_for, open_cutouts
from astro_galflow.exceptions import InputError
from astro_galflow.formats import format_of

__all__ = ["SimulatedCatalog", "read_simulated_catalog", "table_format"]


def table_format(path) -> str:
    """The astropy format name of a catalog path's extension (:mod:`astro_galflow.formats`).

    Raises
    ------
    InputError
        Naming the file, for an extension no posterior-table format has.
    """
    return format_of(path, posterior=True).astropy


def _format_kwargs(fmt: str) -> dict:
    return {"path": "catalog", "serialize_meta": True} if fmt == "hdf5" else {}


@dataclass
class SimulatedCatalog:
    """A simulated survey: its table and (optionally) its cutouts.

    Attributes
    ----------
    table : astropy.table.QTable
        Input-convention columns (``source_id``, ``ra``, ``dec``, ``mag_*``,
        ``magerr_*``, ``cutout_index``) plus the truth: the parameters of
        :mod:`astro_galflow.params` by name, ``metallicity_detectable``,
        ``velocity_dispersion``, ``quenched``, ``bulge_fraction``, ``half_light_radius``,
        ``half_light_radius_kpc``, axis ratios, ``position_angle`` and the noiseless
        ``flux_true_<band>``.
    cutouts : numpy.ndarray or None
        ``(n, 3, 160, 160)`` float32 gri images in nanomaggies per pixel (memory-mapped
        when read from or rendered into a file), or None.
    render_seconds : float or None
        Wall-clock time the rendering took (None when not rendered in this session).
    """

    table: QTable
    cutouts: np.ndarray | None = None
    render_seconds: float | None = None

    def __len__(self) -> int:
        return len(self.table)

    def write(self, catalog_path, overwrite: bool = False) -> Path:
        """Write the table (format from the extension) and the cutouts ``.npy`` beside it.

        The cutouts file is :func:`~astro_galflow.cutouts.cutouts_path_for` the catalog;
        ``meta["cutouts_file"]`` names it relative to the catalog. Cutouts already in
        that file (rendered there by ``simulate(cutouts_path=...)``) are not copied.

        Returns
        -------
        pathlib.Path
            The catalog path.

        Raises
        ------
        InputError
            Unknown extension, or a file exists and ``overwrite`` is False.
        """
        path = Path(catalog_path)
        fmt = table_format(path)
        if path.exists() and not overwrite:
            raise InputError(f"catalog file {os.fspath(path)!r} exists; pass overwrite=True to replace it")
        path.parent.mkdir(parents=True, exist_ok=True)
        table = self.table.copy(copy_data=False)
        if self.cutouts is not None:
            cut_path = cutouts_path_for(path)
            if not _same_file(self.cutouts, cut_path):
                if cut_path.exists() and not overwrite:
                    raise InputError(f"cutouts file {os.fspath(cut_path)!r} exists; pass overwrite=True")
                np.save(cut_path, np.asarray(self.cutouts, dtype=np.float32))
            table.meta["cutouts_file"] = cut_path.name
        else:
            table.meta.pop("cutouts_file", None)
        with warnings.catch_warnings():
            # FITS has no notation for dex units; astropy keeps them in its own header
            # keywords and warns that non-astropy readers lose them, which we accept.
            # Meta keys longer than 8 characters become HIERARCH cards, which is the
            # FITS standard's way of storing them.
            warnings.filterwarnings("ignore", message=".*could not be saved in native FITS format.*")
            warnings.filterwarnings("ignore", message=".*a HIERARCH card will be created.*")
            table.write(path, format=fmt, overwrite=overwrite, **_format_kwargs(fmt))
        return path


def _same_file(array, path: Path) -> bool:
    filename = getattr(array, "filename", None)
    return filename is not None and path.exists() and os.path.samefile(filename, path)


def read_simulated_catalog(catalog_path) -> SimulatedCatalog:
    """Read a catalog written by :meth:`SimulatedCatalog.write`, cutouts memory-mapped.

    Raises
    ------
    InputError
        If the catalog or its cutouts file is missing or unreadable, or the cutouts do
        not have one image per row.
    """
    path = Path(catalog_path)
    fmt = table_format(path)
    if not path.exists():
        raise InputError(f"catalog file {os.fspath(path)!r} does not exist")
    kwargs = {"path": "catalog"} if fmt == "hdf5" else {}
    table = QTable.read(path, format=fmt, **kwargs)
    if fmt == "fits":
        # FITS header keywords come back upper-case; the convention's keys are lower-case.
        table.meta = {k.lower(): v for k, v in table.meta.items() if k.lower() not in ("comments", "history")}
    cutouts = None
    name = table.meta.get("cutouts_file")
    if name:
        cutouts = open_cutouts(path.parent / name, n_bands=3)
        if len(cutouts) != len(table):
            raise InputError(
                f"cutouts file {name!r} has {len(cutouts)} images but catalog {os.fspath(path)!r} has {len(table)} rows"
            )
    return SimulatedCatalog(table=table, cutouts=cutouts)
