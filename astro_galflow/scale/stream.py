"""Streaming, resumable inference of a catalog of any size on one machine.

The input is read chunk by chunk (:mod:`astro_galflow.scale.readers`), each chunk goes
through the pipeline's per-chunk function :func:`astro_galflow.pipeline.run_chunk`, and
its posterior table is written as a Parquet part whose completion is recorded in the
resume journal (:mod:`astro_galflow.scale.journal`). Memory is bounded by the chunk
size, not the catalog size. After the last chunk the parts are assembled into the
output file (:mod:`astro_galflow.scale.writers`).

Inside a chunk, batches of ``config.batch_size`` rows get the noise seed
``chunk_seed(config.seed, first_row_of_batch)`` — the same rule
:func:`astro_galflow.pipeline.infer_table` uses — so a streamed run reproduces an
in-memory run row for row whatever the chunk size.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from astropy.table import QTable, vstack

from astro_galflow.config import GalflowConfig
from astro_galflow.exceptions import GalflowError, InputError
from astro_galflow.scale.journal import Journal, RunKey, file_identity, run_identity
from astro_galflow.scale.readers import open_chunked
from astro_galflow.scale.writers import assemble, output_format, parts_dir_for, write_part

__all__ = ["stream_infer", "DEFAULT_CHUNK_ROWS", "infer_rows"]

#: Rows per chunk: ~100 MB of posterior summaries with the default quantiles.
DEFAULT_CHUNK_ROWS = 65_536


def infer_rows(
    table: QTable, cutouts, *, start: int, model, config: GalflowConfig, pm, compiled, source=None
) -> QTable:
    """Posterior table of input rows ``start:start+len(table)``, in pipeline batches.

    Parameters
    ----------
    table : QTable
        The rows.
    cutouts : numpy.ndarray or None
        The whole cutout array when ``table`` has ``cutout_index``, else the cutouts
        aligned with ``table``'s rows.
    start : int
        Catalog row of ``table[0]``; the batch seeds derive from it.
    model, config, pm, compiled, source
        As for :func:`astro_galflow.pipeline.run_chunk`.
    """
    from astro_galflow.pipeline import chunk_seed, run_chunk

    aligned = cutouts is not None and "cutout_index" not in table.colnames
    parts = []
    for offset in range(0, max(len(table), 1), config.batch_size):
        stop = offset + config.batch_size
        parts.append(
            run_chunk(
                table[offset:stop],
                cutouts[offset:stop] if aligned else cutouts,
                model=model,
                config=config,
                pm=pm,
                source=source,
                seed=chunk_seed(config.seed, start + offset),
                compiled=compiled,
            )
        )
    out = parts[0] if len(parts) == 1 else vstack(parts, metadata_conflicts="silent")
    if len(out) != len(table):
        raise GalflowError(
            f"the pipeline returned {len(out)} rows for the {len(table)} input rows {start}-{start + len(table) - 1}"
        )
    return out


def _open_cutouts(cutouts):
    if cutouts is None or isinstance(cutouts, np.ndarray):
        return cutouts
    from astro_galflow.cutouts import open_cutouts

    return open_cutouts(cutouts)


def stream_infer(
    input_path,
    output_path,
    *,
    config: GalflowConfig,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    resume: bool = True,
    progress: bool = True,
    overwrite: bool = False,
    pm=None,
    model=None,
    cutouts=None,
    source=None,
) -> Path:
    """Infer posteriors for every row of a catalog file, streaming and resumably.

    Parameters
    ----------
    input_path : path-like
        Catalog in the host's input convention (``.parquet``, ``.fits``, ``.ecsv``,
        ``.hdf5``), read chunk by chunk.
    output_path : path-like
        Posterior table to write; the extension picks the format (``.parquet``,
        ``.fits``, ``.ecsv``). Parts and the journal live in ``<output>.parts/`` until
        the run completes.
    config : GalflowConfig
        Run options (model, samples, seed, batch size...).
    chunk_rows : int
        Rows read, inferred and written per chunk; rounded up to a multiple of
        ``config.batch_size`` so the batch seeds match :func:`~astro_galflow.pipeline.infer_table`.
    resume : bool
        Continue a partial run of the same input, configuration and chunk size found
        in ``<output>.parts/``. With False, an existing partial run is an error.
    progress : bool
        Show a progress bar (rows/s, ETA) on standard error.
    overwrite : bool
        Replace an existing output and discard an existing partial run.
    pm : pluggy.PluginManager, optional
        Built with :func:`~astro_galflow.plugins.get_plugin_manager` if omitted.
    model : GalflowModel, optional
        Loaded from ``config.model`` if omitted.
    cutouts : path-like or numpy.ndarray, optional
        Cutouts file (opened memory-mapped) for image models; default the file the
        catalog's ``meta["cutouts_file"]`` names, beside the catalog.
    source : DataSource, optional
        Survey the rows came from (names the ``survey`` column and the bands); the
        file itself must follow the host's input convention.

    Returns
    -------
    pathlib.Path
        ``output_path``.

    Raises
    ------
    InputError
        If the output exists (and ``overwrite`` is False), a partial run of a different
        input/configuration is in the way, or the input cannot be read (naming the rows).
    """
    input_path, output_path = Path(input_path), Path(output_path)
    output_format(output_path)
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    chunk_rows = -(-chunk_rows // config.batch_size) * config.batch_size
    parts_dir = parts_dir_for(output_path)
    with open_chunked(input_path) as reader:
        from astro_galflow.pipeline import require_cutouts, resolve_run

        pm, model = resolve_run(pm, model, config)
        if cutouts is None and model.requires_cutouts:
            # as read_catalog + resolve_cutouts do for in-memory runs: the catalog's meta
            # may name its cutouts file, beside it
            name = reader.meta().get("cutouts_file")
            cutouts = input_path.parent / name if name else None
        # before the journal: a run that cannot start must not leave a partial run behind
        require_cutouts(model, cutouts)
        journal = _open_journal(
            reader, input_path, output_path, parts_dir, config, chunk_rows, model, resume=resume, overwrite=overwrite
        )
        if journal is None:
            return output_path
        cutout_array = _open_cutouts(cutouts)
        pm.hook.galflow_configure.call_historic(kwargs={"config": config})
        try:
            _run_chunks(
                reader,
                journal,
                chunk_rows,
                cutout_array,
                model=model,
                config=config,
                pm=pm,
                source=source,
                progress=progress,
            )
        finally:
            pm.hook.galflow_unconfigure(config=config)

    parts = [parts_dir / journal.chunks[i]["part"] for i in sorted(journal.chunks)]
    assemble(parts, output_path, overwrite=True)
    shutil.rmtree(parts_dir)
    return output_path


def _open_journal(reader, input_path, output_path, parts_dir, config, chunk_rows, model, *, resume, overwrite):
    """The journal to continue, or None when an earlier run already finished the output."""
    if reader.n_rows == 0:
        raise InputError(f"input catalog {os.fspath(input_path)!r} has no rows")
    # issue 15: the key holds the model's weights/calibration/card, not the --model string
    key = RunKey(input=file_identity(input_path), config=run_identity(config, model), chunk_rows=chunk_rows)
    if parts_dir.exists():
        if overwrite:
            shutil.rmtree(parts_dir)
        elif not resume:
            raise InputError(
                f"{os.fspath(parts_dir)!r} holds a partial run; pass resume=True (--resume) to continue it "
                "or overwrite=True (--overwrite) to start over"
            )
    journal = Journal.open(parts_dir, key, reader.n_rows)
    if output_path.exists() and not overwrite:
        if journal.is_complete():
            # Killed after the output was moved into place but before the parts were removed.
            shutil.rmtree(parts_dir, ignore_errors=True)
            return None
        raise InputError(f"output {os.fspath(output_path)!r} exists; pass overwrite=True (--overwrite) to replace it")
    journal.save()
    return journal


def _run_chunks(
    reader, journal: Journal, chunk_rows: int, cutouts, *, model, config, pm, source, progress: bool
) -> None:
    from tqdm.auto import tqdm

    from astro_galflow.pipeline import compile_samplers

    compiled = compile_samplers(model, config=config, pm=pm)
    chunks = reader.iter_chunks(chunk_rows, skip=frozenset(journal.chunks))
    with tqdm(
        total=reader.n_rows,
        initial=journal.rows_done,
        unit="rows",
        unit_scale=True,
        desc=f"infer {reader.path.name}",
        disable=not progress,
        dynamic_ncols=True,
    ) as bar:
        for chunk in chunks:
            out = infer_rows(
                chunk.table,
                cutouts,
                start=chunk.start,
                model=model,
                config=config,
                pm=pm,
                compiled=compiled,
                source=source,
            )
            part = write_part(journal.directory, chunk.index, out)
            journal.record(chunk.index, chunk.start, chunk.stop, part.name, len(out))
            bar.update(chunk.stop - chunk.start)
