"""The SDSS training-set builder: the paper's sample from the CAS through TAP, resumable.

The sample is the SDSS Main Galaxy Sample (Strauss et al. 2002, AJ 124, 1810) with
spectroscopic ``0 < z <= 0.3`` and no redshift warning, joined on ``specObjID`` with the
MPA-JHU value-added tables (Brinchmann et al. 2004, MNRAS 351, 1151; Kauffmann et al.
2003, MNRAS 341, 33; Tremonti et al. 2004, ApJ 613, 898): ``galSpecExtra`` (stellar mass,
SFR, 12+log O/H), ``galSpecInfo`` (velocity dispersion, target type) and ``galSpecLine``
(line fluxes). Rows are fetched in pages ordered by ``specObjID`` (keyset paging: each
page asks for ``specObjID`` above the last one seen, as an asynchronous TAP job), each
page with its cutouts is written atomically before the state file moves on, so an
interrupted build resumes at the first missing page. The finished set is
``catalog.ecsv`` (input convention plus labels named as the parameters of
:mod:`astro_galflow.params`) and ``catalog.cutouts.npy`` (:mod:`astro_galflow.cutouts`).

Labels
------
``log_mstar``, ``log_sfr``, ``oh_12``
    MPA-JHU ``lgm_tot_p50``, ``sfr_tot_p50``, ``oh_p50`` (sentinels such as -9999 -> NaN).
``metallicity_detectable``
    ``oh_p50`` was measured (MPA-JHU gives O/H only for star-forming spectra).
``redshift``
    SpecPhoto ``z``.
``velocity_dispersion``, ``log_mbh``
    galSpecInfo ``v_disp`` (km/s) and ``log M_BH = 8.32 + 5.64 log10(sigma / 200 km/s)``
    (McConnell & Ma 2013, ApJ 764, 184, their M-sigma fit to all galaxies).
``flux_halpha``, ``flux_hbeta``, ``flux_nii_6584``, ``flux_oiii_5007``
    galSpecLine fluxes in 1e-17 erg/s/cm^2.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import QTable, Table, vstack

from astro_galflow.cutouts import create_cutouts, cutouts_path_for
from astro_galflow.exceptions import InputError
from astro_galflow.vo import adql

__all__ = ["sdss_training_query", "log_mbh_from_sigma", "labels_from_sdss", "SDSSTrainingSetBuilder"]

#: Main Galaxy Sample selection. ``galSpecInfo.targettype = 'GALAXY'`` marks MGS
#: targets portably; the CAS equivalent in T-SQL is ``(legacy_target1 & 0x40) != 0``.
MGS_CONDITION = "i.targettype = 'GALAXY'"

_LINES = {"flux_halpha": "h_alpha", "flux_hbeta": "h_beta", "flux_nii_6584": "nii_6584", "flux_oiii_5007": "oiii_5007"}
BANDS = ("u", "g", "r", "i", "z")


def log_mbh_from_sigma(sigma_kms):
    """``log10 M_BH/Msun = 8.32 + 5.64 log10(sigma / 200 km/s)``; NaN for sigma <= 0.

    McConnell & Ma (2013, ApJ 764, 184), Table 2, M-sigma fit to all 72 galaxies.
    """
    s = np.asarray(sigma_kms, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s > 0, 8.32 + 5.64 * np.log10(s / 200.0), np.nan)


def sdss_training_query(source, *, page_size: int, after_specobjid: int | None = None, z_max: float = 0.3) -> str:
    """ADQL of one page of the training sample (``TOP page_size`` after ``after_specobjid``)."""
    t = source.table_name
    cols = ["s.specObjID AS specobjid", "s.objID AS objid", "s.ra AS ra", "s.dec AS dec", "s.z AS z"]
    for b in BANDS:
        cols += [f"s.modelMag_{b} AS mag_{b}", f"s.modelMagErr_{b} AS magerr_{b}", f"s.extinction_{b} AS ext_{b}"]
    cols += ["e.lgm_tot_p50 AS lgm", "e.sfr_tot_p50 AS sfr", "e.oh_p50 AS oh", "i.v_disp AS v_disp"]
    cols += [f"l.{line}_flux AS {name}" for name, line in _LINES.items()]
    where = ["s.class = 'GALAXY'", "s.zWarning = 0", "s.z > 0", f"s.z <= {adql.number(z_max)}", MGS_CONDITION]
    if after_specobjid is not None:
        where.append(f"s.specObjID > {adql.number(int(after_specobjid))}")
    return (
        f"SELECT TOP {int(page_size)} {', '.join(cols)} FROM {t('SpecPhoto')} AS s "
        f"JOIN {t('galSpecInfo')} AS i ON i.specObjID = s.specObjID "
        f"JOIN {t('galSpecExtra')} AS e ON e.specObjID = s.specObjID "
        f"JOIN {t('galSpecLine')} AS l ON l.specObjID = s.specObjID "
        f"WHERE {' AND '.join(where)} ORDER BY s.specObjID"
    )


def _sentinel_nan(values, floor=-99.0):
    v = np.ma.filled(np.ma.asarray(values, dtype=float), np.nan)
    return np.where(v > floor, v, np.nan)


def labels_from_sdss(raw: Table) -> QTable:
    """Input-convention table with label columns from one page of :func:`sdss_training_query`."""
    out = QTable()
    out["source_id"] = np.asarray(raw["objid"], dtype=np.int64)
    out["specobjid"] = np.asarray(raw["specobjid"], dtype=np.int64)
    out["ra"] = np.asarray(raw["ra"], dtype=float) * u.deg
    out["dec"] = np.asarray(raw["dec"], dtype=float) * u.deg
    for b in BANDS:
        out[f"mag_{b}"] = _sentinel_nan(raw[f"mag_{b}"]) * u.mag
        out[f"magerr_{b}"] = _sentinel_nan(raw[f"magerr_{b}"]) * u.mag
        out[f"extinction_{b}"] = _sentinel_nan(raw[f"ext_{b}"]) * u.mag
    out["redshift"] = np.asarray(raw["z"], dtype=float)
    out["log_mstar"] = _sentinel_nan(raw["lgm"], floor=0.0)
    out["log_sfr"] = _sentinel_nan(raw["sfr"])
    oh = _sentinel_nan(raw["oh"], floor=0.0)
    out["oh_12"] = oh
    out["metallicity_detectable"] = np.isfinite(oh)
    sigma = _sentinel_nan(raw["v_disp"], floor=0.0)
    out["velocity_dispersion"] = sigma * u.km / u.s
    out["log_mbh"] = log_mbh_from_sigma(sigma)
    for name in _LINES:
        out[name] = np.ma.filled(np.ma.asarray(raw[name], dtype=float), np.nan)
    return out


class SDSSTrainingSetBuilder:
    """Assemble the training set into ``outdir``, resuming a previous partial build.

    Parameters
    ----------
    outdir : path
    source : astro_galflow.sources.sdss.SDSSSource
        Services to use (TAP for the catalog, SIA for cutouts).
    page_size : int
        Rows per asynchronous TAP job.
    max_rows : int, optional
        Stop after this many rows (the full sample otherwise).
    z_max : float
    cutouts : bool
        Fetch gri cutouts (SIA) for every row.
    mode : {"async", "sync"}
    """

    STATE = "state.json"

    def __init__(self, outdir, *, source, page_size=5000, max_rows=None, z_max=0.3, cutouts=True, mode="async"):
        if page_size < 1:
            raise InputError(f"page_size must be >= 1, got {page_size}")
        self.outdir = Path(outdir)
        self.source = source
        self.page_size = int(page_size)
        self.max_rows = max_rows
        self.z_max = float(z_max)
        self.cutouts = cutouts
        self.mode = mode
        self.pages_dir = self.outdir / "pages"

    @property
    def catalog_path(self) -> Path:
        """Where the finished catalog goes."""
        return self.outdir / "catalog.ecsv"

    def _settings(self):
        return {
            "tap_url": self.source.tap_url,
            "schema": self.source.schema,
            "page_size": self.page_size,
            "max_rows": self.max_rows,
            "z_max": self.z_max,
            "cutouts": bool(self.cutouts),
        }

    def _load_state(self):
        path = self.outdir / self.STATE
        if not path.exists():
            return {"settings": self._settings(), "pages": [], "last_specobjid": None, "rows": 0, "done": False}
        state = json.loads(path.read_text())
        if state["settings"] != self._settings():
            raise InputError(
                f"{path} was written by a build with settings {state['settings']}; this one has "
                f"{self._settings()} (use another OUTDIR or the same options)"
            )
        return state

    def _save_state(self, state):
        path = self.outdir / self.STATE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, path)

    def run(self, *, max_pages=None, progress=None) -> Path:
        """Fetch the missing pages (at most ``max_pages`` this call) and assemble the set.

        Returns
        -------
        pathlib.Path
            The catalog, or the state file while pages are still missing.
        """
        self.pages_dir.mkdir(parents=True, exist_ok=True)
        state = self._load_state()
        fetched = 0
        while not state["done"]:
            if max_pages is not None and fetched >= max_pages:
                return self.outdir / self.STATE
            want = self.page_size
            if self.max_rows is not None:
                want = min(want, self.max_rows - state["rows"])
            query = sdss_training_query(
                self.source, page_size=want, after_specobjid=state["last_specobjid"], z_max=self.z_max
            )
            raw = self.source.run_adql(query, mode=self.mode, maxrec=want + 1)
            if len(raw):
                self._write_page(len(state["pages"]), labels_from_sdss(raw), state)
            fetched += 1
            reached = self.max_rows is not None and state["rows"] >= self.max_rows
            state["done"] = len(raw) < want or reached
            self._save_state(state)
            if progress is not None:
                progress(state)
        return self._assemble(state)

    def _write_page(self, index, table, state):
        name = f"page_{index:05d}"
        if self.cutouts:
            from astro_galflow.vo.images import MissingImageWarning

            with warnings.catch_warnings():
                # rows without images are recorded in ``has_cutout``, not warned page by page
                warnings.simplefilter("ignore", MissingImageWarning)
                images = self.source.get_cutouts(table)
            table["has_cutout"] = np.isfinite(images).any(axis=(2, 3)).all(axis=1)
            np.save(self.pages_dir / f"{name}.tmp.npy", images)
            os.replace(self.pages_dir / f"{name}.tmp.npy", self.pages_dir / f"{name}.npy")
        tmp = self.pages_dir / f"{name}.tmp.ecsv"
        table.write(tmp, format="ascii.ecsv", overwrite=True)
        os.replace(tmp, self.pages_dir / f"{name}.ecsv")
        state["pages"].append(name)
        state["rows"] += len(table)
        state["last_specobjid"] = int(table["specobjid"].max())

    def _assemble(self, state) -> Path:
        pages = [QTable.read(self.pages_dir / f"{n}.ecsv", format="ascii.ecsv") for n in state["pages"]]
        if not pages:
            raise InputError(f"the query returned no rows; nothing to write in {self.outdir}")
        catalog = vstack(pages, metadata_conflicts="silent")
        catalog.meta.clear()
        catalog.meta.update(
            {
                "survey": "SDSS",
                "bands": list(BANDS),
                "extinction_corrected": False,
                "service": self.source.tap_url,
                "query": sdss_training_query(self.source, page_size=self.page_size, z_max=self.z_max),
            }
        )
        if self.cutouts:
            path = cutouts_path_for(self.catalog_path)
            out = create_cutouts(path, len(catalog), n_bands=len(self.source.image_bands))
            start = 0
            for name in state["pages"]:
                images = np.load(self.pages_dir / f"{name}.npy", mmap_mode="r")
                out[start : start + len(images)] = images
                start += len(images)
            out.flush()
            del out
            catalog["cutout_index"] = np.arange(len(catalog), dtype=np.int64)
            catalog.meta["cutouts_file"] = path.name
        catalog.write(self.catalog_path, format="ascii.ecsv", overwrite=True)
        return self.catalog_path
