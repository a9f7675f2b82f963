"""The in-memory engine: an input table in, its posterior table out.

:func:`infer_table` drives one :class:`~astro_galflow.run.InferenceRun` over a table held
in memory, in batches of ``config.batch_size`` rows; it reads and writes nothing. The
streaming and Dask engines (:mod:`astro_galflow.scale`) drive the same run over files.
"""

from __future__ import annotations

import numpy as np
from astropy.table import QTable

from astro_galflow.catalogs import resolve_cutouts
from astro_galflow.config import GalflowConfig
from astro_galflow.exceptions import InputError
from astro_galflow.run import InferenceRun

__all__ = ["infer_table"]


def infer_table(
    table,
    cutouts=None,
    *,
    config: GalflowConfig | None = None,
    pm=None,
    model=None,
    source=None,
    progress: bool = False,
) -> QTable:
    """Posterior table for an in-memory input table.

    Parameters
    ----------
    table : astropy.table.Table
        Input catalog in the host's convention (e.g. from
        :func:`~astro_galflow.catalogs.read_catalog`).
    cutouts : numpy.ndarray or path-like, optional
        Cutouts that ``table["cutout_index"]`` points into, or aligned with the rows. For
        an image model without them, the file the table's meta names (``cutouts_file``,
        beside the catalog file ``read_catalog`` read) is opened, as the CLI does.
    config : GalflowConfig, optional
        Run options (defaults to ``GalflowConfig()``).
    pm : pluggy.PluginManager, optional
        Built with :func:`~astro_galflow.plugins.get_plugin_manager` if omitted.
    model : GalflowModel, optional
        Loaded from ``config.model`` if omitted.
    source : DataSource, optional
        Where the rows came from (default: the source registered as ``config.source``).
    progress : bool
        Show a progress bar (tqdm) on standard error.
    """
    with InferenceRun(config, pm=pm, model=model, source=source, engine="memory") as run:
        if run.model.requires_cutouts and not isinstance(cutouts, np.ndarray):
            cutouts = resolve_cutouts(table.meta, table.meta.get("source_file"), cutouts)
            run.require_cutouts(cutouts)
        if cutouts is not None and run.model.requires_cutouts and "cutout_index" not in table.colnames:
            # Cutouts aligned with the rows: make the alignment explicit before batching,
            # since each batch sees only its own rows.
            if len(cutouts) != len(table):
                raise InputError(
                    f"the table has {len(table)} rows and no cutout_index column, but there are {len(cutouts)} cutouts"
                )
            table = table.copy(copy_data=False)
            table["cutout_index"] = np.arange(len(table), dtype=np.int64)
        if not progress:
            return run.infer(table, cutouts)
        from tqdm.auto import tqdm

        with tqdm(total=len(table), unit="rows", desc="infer", dynamic_ncols=True, mininterval=1.0) as bar:
            return run.infer(table, cutouts, on_rows=bar.update)
