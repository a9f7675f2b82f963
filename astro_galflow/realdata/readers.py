"""Readers of the real SDSS extracts (``../shared/data/sdss/``) into the input convention.

Each reader returns an astropy :class:`~astropy.table.QTable` in the convention of
:mod:`astro_galflow.inputs`: ``source_id``, ``ra``/``dec`` (NaN where the file has no
position, which the host flags ``BAD_POSITION``), ``mag_<band>`` and, where the file has
them, ``magerr_<band>`` and ``extinction_<band>``; truth columns named as in
:mod:`astro_galflow.params` (``redshift``, ``flux_halpha`` ...). ``meta`` records the
file, whether the magnitudes are extinction-corrected and why the reader says so.

The readers do not correct or flag anything themselves: that is the host's
``galflow_prepare_inputs`` (:func:`astro_galflow.inputs.apply_extinction`), which
subtracts ``extinction_<band>`` where present and otherwise flags rows
``NO_EXTINCTION_CORRECTION`` with a warning.
"""

from __future__ import annotations

import os

import astropy.units as u
import numpy as np
from astropy.table import QTable, Table

from astro_galflow.exceptions import InputError
from astro_galflow.inputs import SDSS_BANDS, extinction_column, mag_column, magerr_column
from astro_galflow.params import LINE_FLUX_UNIT

__all__ = ["read_mgs_photoz", "read_skyserver_dr14", "read_photoz_hw", "read_mpajhu_joined"]

#: Column order of ``SDSS_MGS.train``; its header line omits the ``eu`` label, which
#: shifts every error label by one (columns 11-15 are the u, g, r, i, z errors).
MGS_COLUMNS = (
    ["redshift", "u", "g", "r", "i", "z", "u-g", "g-r", "r-i", "i-z"]
    + [f"e{b}" for b in SDSS_BANDS]
    + ["eu-g", "eg-r", "er-i", "ei-z"]
)


def _check_file(path) -> str:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"real-data file {path!r} does not exist")
    return path


def _numeric(table: Table, name: str, path: str) -> np.ndarray:
    try:
        return np.asarray(table[name], dtype=np.float64)
    except KeyError:
        raise InputError(f"{path}: column {name!r} is missing; columns are {', '.join(table.colnames)}") from None
    except (TypeError, ValueError):
        raise InputError(f"{path}: column {name!r} is not numeric") from None


def _base_table(source_id, ra, dec) -> QTable:
    table = QTable()
    table["source_id"] = np.asarray(source_id)
    table["ra"] = np.asarray(ra, dtype=np.float64) * u.deg
    table["dec"] = np.asarray(dec, dtype=np.float64) * u.deg
    return table


def _set_meta(table: QTable, path: str, corrected: bool, note: str, origin: str) -> QTable:
    table.meta["extinction_corrected"] = corrected
    table.meta["extinction_note"] = note
    table.meta["origin_file"] = os.path.basename(path)
    table.meta["origin"] = origin
    table.meta["bands"] = list(SDSS_BANDS)
    return table


def read_mgs_photoz(path) -> QTable:
    """Read MLZ's ``SDSS_MGS.train`` (Carrasco Kind & Brunner 2013, MNRAS 432, 1483).

    Whitespace-separated text with a ``#`` header line that lacks the ``eu`` label: the
    19 columns are ``zs``, u, g, r, i, z, four colours, the five magnitude errors and
    the four colour errors. Magnitudes are extinction-corrected SDSS model magnitudes.
    The file has no identifiers or positions: ``source_id`` is ``"mgs:<row>"`` (0-based
    data row) and ``ra``/``dec`` are NaN.

    Raises
    ------
    InputError
        If the file is missing or a data row does not have 19 numeric columns.
    """
    path = _check_file(path)
    try:
        data = np.loadtxt(path, comments="#", dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise InputError(f"{path}: cannot parse as 19 whitespace-separated numbers per row ({exc})") from exc
    if data.shape[1] != len(MGS_COLUMNS):
        raise InputError(f"{path}: expected {len(MGS_COLUMNS)} columns per row, found {data.shape[1]}")
    cols = dict(zip(MGS_COLUMNS, data.T))
    n = data.shape[0]
    table = _base_table([f"mgs:{k}" for k in range(n)], np.full(n, np.nan), np.full(n, np.nan))
    for band in SDSS_BANDS:
        table[mag_column(band)] = cols[band] * u.mag
        table[magerr_column(band)] = cols[f"e{band}"] * u.mag
    table["redshift"] = cols["redshift"]
    return _set_meta(
        table,
        path,
        True,
        "MLZ SDSS_MGS: extinction-corrected model magnitudes (file documentation)",
        "SDSS Main Galaxy Sample subset from MLZ 1.2, NCSA licence",
    )


def read_skyserver_dr14(path, *, classes=("GALAXY",)) -> QTable:
    """Read the SkyServer DR14 10k export (PhotoObj x SpecObj).

    Magnitudes are raw PhotoObj model magnitudes, **not** extinction-corrected, and the
    file has no extinction column, so ``meta["extinction_corrected"]`` is False and the
    host flags every row ``NO_EXTINCTION_CORRECTION``. ``objid``/``specobjid`` were saved
    in float notation and lost precision, so ``source_id`` is ``"dr14:<plate>-<mjd>-<fiberid>"``.
    No magnitude errors.

    Parameters
    ----------
    path : str or path-like
        ``skyserver_dr14_10k.csv``.
    classes : sequence of str or None
        Spectroscopic classes kept (``None`` keeps all); the truth ``redshift`` of
        stars is meaningless for galaxy models.
    """
    path = _check_file(path)
    raw = Table.read(path, format="ascii.csv")
    if classes is not None:
        if "class" not in raw.colnames:
            raise InputError(f"{path}: column 'class' is missing")
        raw = raw[np.isin(np.asarray(raw["class"]).astype(str), list(classes))]
    ids = [
        f"dr14:{int(p)}-{int(m)}-{int(f)}"
        for p, m, f in zip(_numeric(raw, "plate", path), _numeric(raw, "mjd", path), _numeric(raw, "fiberid", path))
    ]
    table = _base_table(ids, _numeric(raw, "ra", path), _numeric(raw, "dec", path))
    for band in SDSS_BANDS:
        table[mag_column(band)] = _numeric(raw, band, path) * u.mag
    table["redshift"] = _numeric(raw, "redshift", path)
    table["spec_class"] = np.asarray(raw["class"]).astype(str)
    return _set_meta(
        table,
        path,
        False,
        "SkyServer DR14 PhotoObj model magnitudes: raw, no extinction column",
        "SkyServer DR14 export (Kaggle copy), SDSS public data",
    )


def read_photoz_hw(path) -> QTable:
    """Read the course-homework file ``sdss_redshift.csv`` (u, g, r, i, z, redshift).

    The magnitude type is not documented. Its colours are redder than MLZ's
    extinction-corrected Main Galaxy Sample at the same redshift by about as much as
    the raw DR14 PhotoObj magnitudes are (see ``docs/results/sdss_photoz.rst``), so the
    reader treats them as **not** extinction-corrected. No identifiers, positions or
    errors: ``source_id`` is ``"hw:<row>"``.
    """
    path = _check_file(path)
    raw = Table.read(path, format="ascii.csv")
    n = len(raw)
    table = _base_table([f"hw:{k}" for k in range(n)], np.full(n, np.nan), np.full(n, np.nan))
    for band in SDSS_BANDS:
        table[mag_column(band)] = _numeric(raw, band, path) * u.mag
    table["redshift"] = _numeric(raw, "redshift", path)
    return _set_meta(
        table,
        path,
        False,
        "photoz_hw: magnitude type undocumented; colours behave like raw (not dereddened) magnitudes",
        "university course homework data, no licence stated",
    )


def read_mpajhu_joined(path, *, classes=("GALAXY",)) -> QTable:
    """Read ``joined_specphoto_galspecline.csv`` (SpecPhoto x MPA-JHU galSpecLine).

    Uses the raw ``modelMag_<band>`` with ``modelMagErr_<band>`` and the SFD
    ``extinction_<band>`` columns, so the host corrects them; ``source_id`` is the
    SDSS ``objID``. Truth columns: ``redshift`` and the four line fluxes
    (``flux_halpha`` ... in 1e-17 erg/s/cm², MPA-JHU galSpecLine; Brinchmann et al.
    2004, MNRAS 351, 1151) with their ``_err`` columns.
    """
    path = _check_file(path)
    raw = Table.read(path, format="ascii.csv")
    if classes is not None:
        raw = raw[np.isin(np.asarray(raw["class"]).astype(str), list(classes))]
    table = _base_table(np.asarray(raw["objID"], dtype=np.int64), _numeric(raw, "ra", path), _numeric(raw, "dec", path))
    for band in SDSS_BANDS:
        table[mag_column(band)] = _numeric(raw, f"modelMag_{band}", path) * u.mag
        table[magerr_column(band)] = _numeric(raw, f"modelMagErr_{band}", path) * u.mag
        table[extinction_column(band)] = _numeric(raw, f"extinction_{band}", path) * u.mag
    table["redshift"] = _numeric(raw, "z", path)
    lines = {
        "flux_halpha": "h_alpha_flux",
        "flux_hbeta": "h_beta_flux",
        "flux_nii_6584": "nii_6584_flux",
        "flux_oiii_5007": "oiii_5007_flux",
    }
    for name, column in lines.items():
        table[name] = _numeric(raw, column, path) * LINE_FLUX_UNIT
        table[f"{name}_err"] = _numeric(raw, f"{column}_err", path) * LINE_FLUX_UNIT
    return _set_meta(
        table,
        path,
        False,
        "SpecPhoto modelMag: raw, with SFD extinction columns (the host corrects them)",
        "SkyServer DR16-era SpecPhoto x galSpecLine sample, SDSS public data",
    )
