"""The real photometric-redshift set: three SDSS extracts combined, cut, de-duplicated and split.

Rows and cuts (applied in this order, counts recorded in ``meta["selection"]``):

1. ``mgs``: every row of ``mgs_photoz/SDSS_MGS.train`` (extinction-corrected);
   ``dr14``: rows of ``skyserver_dr14/skyserver_dr14_10k.csv`` with ``class == GALAXY``
   (raw magnitudes); ``hw``: every row of ``photoz_hw/sdss_redshift.csv`` (treated as raw).
2. ``0 < redshift <= 0.3`` (the Main Galaxy Sample range of the paper, DESIGN.md §5).
3. All five magnitudes finite and in [10, 30) (drops SDSS sentinels), and
   ``mag_r <= 18.0``: the Main Galaxy Sample is limited at Petrosian r < 17.77
   (Strauss et al. 2002, AJ 124, 1810); model magnitudes of such galaxies scatter a
   few tenths fainter, and the rare fainter rows in the raw files are blends/shreds.
4. Duplicates: a row whose redshift (to 1e-6) and ugriz (to 1e-3 mag) repeat an earlier
   row (files in the order mgs, dr14, hw) is dropped. None do in the shipped files. The
   files carry no common identifier (two have no positions), so a looser match cannot be
   told from chance: pairs with equal redshift to 1e-6 and r within 0.3 mag and colours
   within 0.1 mag occur as often within one file as across files (coincidences of
   similar galaxies at one redshift), so the three files are treated as disjoint.

Split: the project-wide :func:`astro_galflow.training.data.split_of` of the stable
``source_id`` (``mgs:<row>``, ``dr14:<plate>-<mjd>-<fiberid>``, ``hw:<row>``): 70 %
``train``, 15 % ``val``, 15 % ``test`` by a blake2b hash. It depends only on the identifier,
so ``galflow train`` and ``galflow evaluate`` agree on it for every subset of files and
every training-set size; ``test`` rows are never used for training or model selection.
"""

from __future__ import annotations

import os

import astropy.units as u
import numpy as np
from astropy.table import vstack

from astro_galflow.exceptions import InputError
from astro_galflow.inputs import SDSS_BANDS, column_values, mag_column
from astro_galflow.realdata.readers import read_mgs_photoz, read_photoz_hw, read_skyserver_dr14
from astro_galflow.training.data import SPLIT_METHOD, split_of

__all__ = ["SOURCE_FILES", "DEFAULT_DATA_DIR", "load_photoz_set"]

#: Relative paths of the three files under the data directory, in de-duplication priority order.
SOURCE_FILES = {
    "mgs": ("mgs_photoz/SDSS_MGS.train", read_mgs_photoz),
    "dr14": ("skyserver_dr14/skyserver_dr14_10k.csv", read_skyserver_dr14),
    "hw": ("photoz_hw/sdss_redshift.csv", read_photoz_hw),
}

#: Default data directory, relative to the repository root (the working directory of the benchmark).
DEFAULT_DATA_DIR = os.path.join("..", "shared", "data", "sdss")

Z_MAX = 0.3
R_MAX = 18.0


def _mags(table) -> np.ndarray:
    return np.stack([column_values(table, mag_column(b), u.mag) for b in SDSS_BANDS], axis=1)


def _duplicates(z: np.ndarray, mags: np.ndarray) -> np.ndarray:
    """Boolean mask of rows whose redshift (to 1e-6) and ugriz (to 1e-3 mag) repeat an earlier row."""
    seen: set[tuple] = set()
    drop = np.zeros(z.size, dtype=bool)
    for k, (zk, row) in enumerate(zip(np.round(z, 6), np.round(mags, 3))):
        key = (zk, *row)
        drop[k] = key in seen
        seen.add(key)
    return drop


def load_photoz_set(data_dir=DEFAULT_DATA_DIR, *, sources=("mgs", "dr14", "hw")):
    """Read, cut, de-duplicate and split the real photo-z galaxies.

    Parameters
    ----------
    data_dir : str or path-like
        Folder with the SDSS extracts (default ``../shared/data/sdss`` relative to the
        working directory).
    sources : sequence of str
        Which of :data:`SOURCE_FILES` to use.

    Returns
    -------
    astropy.table.QTable
        Input-convention table with ``redshift``, ``origin`` (file key),
        ``extinction_corrected`` (bool per row) and ``split`` (``train``/``val``/``test``) columns. Mixed files give a
        table whose ``meta["extinction_corrected"]`` is True: raw rows keep their
        magnitudes and their ``extinction_corrected`` False, so callers choose per row.
    """
    unknown = [s for s in sources if s not in SOURCE_FILES]
    if unknown:
        raise InputError(f"unknown photo-z source(s) {unknown}; choose from {list(SOURCE_FILES)}")
    tables, selection = [], {}
    for name in sources:
        rel, reader = SOURCE_FILES[name]
        table = reader(os.path.join(os.fspath(data_dir), rel))
        corrected = bool(table.meta["extinction_corrected"])
        n_read = len(table)
        z = np.asarray(table["redshift"], dtype=np.float64)
        table = table[(z > 0) & (z <= Z_MAX)]
        n_z = len(table)
        mags = _mags(table)
        ok = np.all(np.isfinite(mags) & (mags >= 10) & (mags < 30), axis=1) & (mags[:, 2] <= R_MAX)
        table = table[ok]
        keep = ["source_id", "ra", "dec", "redshift"] + [c for c in table.colnames if c.startswith(("mag_", "magerr_"))]
        table = table[keep]
        table["origin"] = np.full(len(table), name)
        table["extinction_corrected"] = np.full(len(table), corrected)
        selection[name] = {"read": n_read, "redshift_cut": n_z, "photometry_cut": len(table)}
        tables.append(table)
    combined = vstack(tables, join_type="outer", metadata_conflicts="silent")
    for col in combined.colnames:
        if col.startswith("magerr_") and hasattr(combined[col], "mask"):
            combined[col] = combined[col].filled(np.nan)
    z = np.asarray(combined["redshift"], dtype=np.float64)
    mags = _mags(combined)
    drop = _duplicates(z, mags)
    for name in sources:
        selection[name]["duplicates_removed"] = int(np.sum(drop & (combined["origin"] == name)))
    combined = combined[~drop]
    combined["split"] = split_of(combined)
    for name in sources:
        rows = combined["origin"] == name
        selection[name]["final"] = {s: int(np.sum(rows & (combined["split"] == s))) for s in ("train", "val", "test")}
    combined.meta = {
        "extinction_corrected": True,
        "bands": list(SDSS_BANDS),
        "selection": selection,
        "cuts": f"0 < redshift <= {Z_MAX}; finite mags in [10, 30); mag_r <= {R_MAX}; de-duplicated",
        "split": SPLIT_METHOD,
    }
    return combined
