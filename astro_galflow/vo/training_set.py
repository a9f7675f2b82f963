"""Training-set builders: the paper's SDSS sample from the CAS through TAP, resumable.

:class:`TrainingSetBuilder` pages through an archive and writes the set;
:class:`SDSSTrainingSetBuilder` is the paper's sample; :class:`CatalogTrainingSetBuilder`
takes any VO source's catalog rows (LSST, Roman) with the truth labels its archive has.

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

__all__ = [
    "sdss_training_query",
    "log_mbh_from_sigma",
    "labels_from_sdss",
    "TrainingSetBuilder",
    "SDSSTrainingSetBuilder",
    "CatalogTrainingSetBuilder",
    "builder_for",
]

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
    if int(page_size) < 1:
        raise InputError(f"page_size must be >= 1, got {page_size}")
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


class TrainingSetBuilder:
    """Page through an archive's sample into ``outdir``, resuming a previous partial build.

    Subclasses define the sample: :meth:`page_query` (ADQL of ``TOP n`` rows after a key
    value, ordered by the key), :meth:`page_table` (result -> input convention + labels)
    and :attr:`key` (the column of :meth:`page_table` the pages are ordered by).

    Parameters
    ----------
    outdir : path
    source : astro_galflow.sources.vo.VOSource
        Services to use (TAP for the catalog, SIA for cutouts).
    page_size : int
        Rows per TAP job.
    max_rows : int, optional
        Stop after this many rows (the whole sample otherwise).
    cutouts : bool
        Fetch cutouts (SIA) for every row.
    mode : {"async", "sync"}
    """

    STATE = "state.json"
    key = "source_id"

    def __init__(self, outdir, *, source, page_size=5000, max_rows=None, cutouts=True, mode="async"):
        if page_size < 1:
            raise InputError(f"page_size must be >= 1, got {page_size}")
        self.outdir = Path(outdir)
        self.source = source
        self.page_size = int(page_size)
        self.max_rows = max_rows
        self.cutouts = cutouts
        self.mode = mode
        self.pages_dir = self.outdir / "pages"

    def page_query(self, *, page_size: int, after) -> str:
        """ADQL of the next page: ``TOP page_size`` rows with key above ``after`` (None: first page)."""
        raise NotImplementedError

    def page_table(self, raw: Table) -> QTable:
        """Input-convention table with labels from one page's result."""
        raise NotImplementedError

    def settings(self) -> dict:
        """What a resumed build must share with the one that wrote the state file."""
        return {
            "source": self.source.name,
            "tap_url": self.source.tap_url,
            "page_size": self.page_size,
            "max_rows": self.max_rows,
            "cutouts": bool(self.cutouts),
        }

    @property
    def catalog_path(self) -> Path:
        """Where the finished catalog goes."""
        return self.outdir / "catalog.ecsv"

    def _load_state(self):
        path = self.outdir / self.STATE
        settings = json.loads(json.dumps(self.settings()))  # as it reads back from JSON
        if not path.exists():
            return {"settings": settings, "pages": [], "last_key": None, "rows": 0, "done": False}
        state = json.loads(path.read_text())
        if state["settings"] != settings:
            raise InputError(
                f"{path} was written by a build with settings {state['settings']}; this one has "
                f"{settings} (use another OUTDIR or the same options)"
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
            query = self.page_query(page_size=want, after=state["last_key"])
            raw = self.source.run_adql(query, mode=self.mode, maxrec=want + 1)
            if len(raw):
                self._write_page(len(state["pages"]), self.page_table(raw), state)
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
        last = table[self.key].max()
        state["last_key"] = int(last) if np.issubdtype(np.asarray(last).dtype, np.integer) else str(last)

    def _assemble(self, state) -> Path:
        pages = [QTable.read(self.pages_dir / f"{n}.ecsv", format="ascii.ecsv") for n in state["pages"]]
        if not pages:
            raise InputError(f"the query returned no rows; nothing to write in {self.outdir}")
        catalog = vstack(pages, metadata_conflicts="silent")
        catalog.meta.clear()
        catalog.meta.update(
            {
                "survey": self.source.survey,
                "source": self.source.name,
                "bands": list(self.source.photometry_bands),
                "image_bands": list(self.source.image_bands),
                "pixel_scale_arcsec": float(self.source.pixel_scale.to_value(u.arcsec)),
                "extinction_corrected": bool(pages[0].meta.get("extinction_corrected", False)),
                "service": self.source.tap_url,
                "query": self.page_query(page_size=self.page_size, after=None),
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


class SDSSTrainingSetBuilder(TrainingSetBuilder):
    """The paper's SDSS sample (see the module docstring) with its MPA-JHU labels.

    Parameters
    ----------
    z_max : float
        Upper redshift limit (0.3 in the paper).
    **kwargs
        See :class:`TrainingSetBuilder`; ``source`` is an
        :class:`~astro_galflow.sources.sdss.SDSSSource`.
    """

    key = "specobjid"

    def __init__(self, outdir, *, z_max=0.3, **kwargs):
        super().__init__(outdir, **kwargs)
        self.z_max = float(z_max)

    def settings(self) -> dict:
        return {**super().settings(), "schema": self.source.schema, "z_max": self.z_max}

    def page_query(self, *, page_size, after):
        return sdss_training_query(self.source, page_size=page_size, after_specobjid=after, z_max=self.z_max)

    def page_table(self, raw):
        table = labels_from_sdss(raw)
        table.meta["extinction_corrected"] = False
        return table


class CatalogTrainingSetBuilder(TrainingSetBuilder):
    """Any VO source's catalog rows (optionally in a cone) with the labels its archive has.

    For surveys without spectroscopic labels (LSST) this gives the image set of the VAE
    stage; simulated catalogs (Roman) add their truth columns
    (:attr:`~astro_galflow.sources.vo.VOSource.truth_columns`, e.g. ``redshift``).

    Parameters
    ----------
    region : tuple (SkyCoord, Quantity), optional
        Cone the sample is restricted to.
    **kwargs
        See :class:`TrainingSetBuilder`.
    """

    def __init__(self, outdir, *, region=None, **kwargs):
        super().__init__(outdir, **kwargs)
        self.region = region

    def settings(self) -> dict:
        extra = {}
        if self.region is not None:
            centre, radius = self.region
            extra["region"] = [centre.icrs.ra.deg, centre.icrs.dec.deg, adql.angle_deg(radius)]
        return {**super().settings(), **extra}

    def page_query(self, *, page_size, after):
        src = self.source
        key = f"p.{adql.identifier(src.id_column)}"
        cols = src.select_list() + [f"p.{adql.identifier(c)} AS truth_{name}" for name, c in src.truth_columns.items()]
        where = list(src.conditions())
        if self.region is not None:
            centre, radius = self.region
            ra_col, dec_col = (f"p.{c}" for c in src.position_columns)
            where.append(
                adql.cone_condition(ra_col, dec_col, centre.icrs.ra.deg, centre.icrs.dec.deg, adql.angle_deg(radius))
            )
        if after is not None:
            where.append(f"{key} > {adql.number(after)}")
        return (
            f"SELECT TOP {int(page_size)} {', '.join(cols)} FROM {src.catalog_table()} AS p"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + f" ORDER BY {key}"
        )

    def page_table(self, raw):
        table = self.source.to_inputs(raw)
        for name in self.source.truth_columns:
            table[name] = np.ma.filled(np.ma.asarray(raw[f"truth_{name}"], dtype=float), np.nan)
        return table


def builder_for(source, outdir, **kwargs) -> TrainingSetBuilder:
    """The training-set builder of ``source``: the paper's sample for a source that has it (SDSS), the catalog otherwise.

    A source class says so with ``paper_training_set = True`` (the SDSS CAS holds the
    MPA-JHU labels the paper trains on).

    ``z_max`` applies to SDSS and ``region`` to the others.
    """
    if getattr(source, "paper_training_set", False):
        kwargs.pop("region", None)
        return SDSSTrainingSetBuilder(outdir, source=source, **kwargs)
    kwargs.pop("z_max", None)
    return CatalogTrainingSetBuilder(outdir, source=source, **kwargs)
