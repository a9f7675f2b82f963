"""Read SkyServer CSV exports into astro_galflow's input convention."""

from __future__ import annotations

import os

import astropy.units as u
import numpy as np
from astropy.table import QTable, Table

from astro_galflow.exceptions import InputError, MissingColumnError
from astro_galflow.inputs import SDSS_BANDS, extinction_column, mag_column, magerr_column
from astro_galflow.sources.base import DataSource

__all__ = ["SkyServerCSVSource"]

#: SkyServer's sentinel for "no measurement".
_MISSING = -9999.0


def _find(table: Table, *candidates: str) -> str | None:
    lower = {name.lower(): name for name in table.colnames}
    for candidate in candidates:
        if candidate.lower() in lower:
            return lower[candidate.lower()]
    return None


class SkyServerCSVSource(DataSource):
    """SDSS photometry from a SkyServer/CasJobs CSV export.

    Parameters
    ----------
    bands : tuple of str
        Bands to read (default ugriz).
    """

    name = "skyserver-csv"
    survey = "sdss"
    photometry_bands = SDSS_BANDS
    image_bands = ("g", "r", "i")
    pixel_scale = 0.396 * u.arcsec

    def __init__(self, *, bands=SDSS_BANDS):
        self.bands = tuple(bands)

    def read_catalog(self, path) -> QTable:
        """Read the export at ``path``.

        Raises
        ------
        InputError
            If the file cannot be read as CSV.
        MissingColumnError
            If the id, position or a band's magnitude column is absent.
        """
        try:
            raw = Table.read(path, format="ascii.csv")
        except Exception as exc:  # astropy's CSV reader raises several types
            raise InputError(f"cannot read SkyServer export {os.fspath(path)!r}: {exc}") from exc
        return self.to_input_table(raw, origin=os.fspath(path))

    def to_input_table(self, raw: Table, *, origin: str = "table") -> QTable:
        """Map SkyServer column names onto the host's input convention."""
        id_col = _find(raw, "objid", "objID", "specObjID", "specobjid")
        ra_col, dec_col = _find(raw, "ra"), _find(raw, "dec")
        missing = [label for label, col in (("objid", id_col), ("ra", ra_col), ("dec", dec_col)) if col is None]
        out = QTable()
        dered = all(_find(raw, f"dered_{b}") for b in self.bands)
        mag_cols = {}
        for band in self.bands:
            col = _find(raw, f"dered_{band}") if dered else _find(raw, f"modelMag_{band}", band)
            if col is None:
                missing.append(f"modelMag_{band} or {band}")
            mag_cols[band] = col
        if missing:
            raise MissingColumnError(f"SkyServer export {origin} lacks column(s) {', '.join(missing)}")
        out["source_id"] = np.asarray(raw[id_col])
        out["ra"] = np.asarray(raw[ra_col], dtype=float) * u.deg
        out["dec"] = np.asarray(raw[dec_col], dtype=float) * u.deg
        for band in self.bands:
            out[mag_column(band)] = self._clean(raw[mag_cols[band]]) * u.mag
            err = _find(raw, f"modelMagErr_{band}", f"err_{band}")
            if err is not None:
                out[magerr_column(band)] = self._clean(raw[err]) * u.mag
            ext = _find(raw, f"extinction_{band}")
            if ext is not None and not dered:
                out[extinction_column(band)] = self._clean(raw[ext]) * u.mag
        out.meta["extinction_corrected"] = dered
        out.meta["survey"] = self.survey
        out.meta["source_file"] = origin
        return out

    @staticmethod
    def _clean(column) -> np.ndarray:
        values = np.array(np.ma.filled(np.ma.asarray(column, dtype=float), np.nan), dtype=float)
        values[values <= _MISSING] = np.nan
        return values
