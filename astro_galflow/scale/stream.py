"""Streaming, resumable inference of a catalog of any size on one machine (the ``local`` engine).

A thin driver of :class:`~astro_galflow.run.InferenceRun`: the catalog is opened by the
run (chunk by chunk where its format allows, :mod:`astro_galflow.scale.readers`; whole,
then chunked, for other formats and for ``--source`` readers), each chunk's posterior
table is written as a Parquet part whose completion is recorded in the resume journal
(:mod:`astro_galflow.scale.journal`), and after the last chunk the parts are assembled
into the output file (:mod:`astro_galflow.scale.writers`). Memory is bounded by the
chunk size, not the catalog size. Since a row's noise depends only on the run seed and
its ``source_id``, a streamed run reproduces an in-memory run row for row whatever the
chunk size.
"""

from __future__ import annotations

import os
import shutil
from collections import deque
from pathlib import Path

from astro_galflow.config import GalflowConfig
from astro_galflow.exceptions import InputError
from astro_galflow.run import InferenceRun
from astro_galflow.scale.journal import Journal, RunKey, file_identity, run_identity
from astro_galflow.scale.writers import assemble, output_format, parts_dir_for, write_part

__all__ = ["stream_infer", "DEFAULT_CHUNK_ROWS"]

#: Rows per chunk. Small enough that the first part is written within seconds and the
#: progress bar moves every few seconds on two cores with the shipped models, large
#: enough that per-chunk costs (a Parquet part, a journal update) stay negligible; the
#: run's pipeline runs across chunks, so a chunk boundary costs no idle core.
DEFAULT_CHUNK_ROWS = 2048


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
        Catalog in the host's input convention (any format of
        :mod:`astro_galflow.formats`), or in a source's layout with ``config.source``.
    output_path : path-like
        Posterior table to write; the extension picks the format. Parts and the journal
        live in ``<output>.parts/`` until the run completes.
    config : GalflowConfig
        Run options (model, samples, seed, batch size, source...).
    chunk_rows : int
        Rows read, inferred and written per chunk.
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
        Cutouts for image models; default the file the catalog's ``meta["cutouts_file"]``
        names, inside the catalog's folder.
    source : DataSource, optional
        A source instance (default: the source registered as ``config.source``).

    Returns
    -------
    pathlib.Path
        ``output_path``.

    Raises
    ------
    InputError
        If the output exists (and ``overwrite`` is False), a partial run of a different
        input/configuration is in the way, or the input cannot be read (naming the rows).
        A run that fails before its first chunk leaves nothing behind.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    output_format(output_path)
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    if not input_path.is_file():
        raise InputError(f"input catalog {os.fspath(input_path)!r} does not exist")
    parts_dir = parts_dir_for(output_path)
    if output_path.exists() and not overwrite and not parts_dir.exists():
        raise InputError(f"output {os.fspath(output_path)!r} exists; pass --overwrite to replace it")
    with InferenceRun(config, pm=pm, model=model, source=source, engine="local") as run:
        catalog = run.open_catalog(input_path, cutouts)
        try:
            journal = _open_journal(
                catalog.reader, input_path, output_path, parts_dir, run, chunk_rows, resume=resume, overwrite=overwrite
            )
            if journal is None:
                return output_path
            try:
                _run_chunks(run, catalog, journal, chunk_rows, progress=progress)
            except BaseException:
                if not journal.chunks:
                    # nothing finished: a run that failed before its first chunk leaves nothing
                    shutil.rmtree(parts_dir, ignore_errors=True)
                raise
        finally:
            catalog.close()
    parts = [parts_dir / journal.chunks[i]["part"] for i in sorted(journal.chunks)]
    assemble(parts, output_path, overwrite=True)
    shutil.rmtree(parts_dir)
    return output_path


def _open_journal(reader, input_path, output_path, parts_dir, run, chunk_rows, *, resume, overwrite):
    """The journal to continue, or None when an earlier run already finished the output."""
    # the key holds the model's weights, calibration and card, not the --model string
    key = RunKey(input=file_identity(input_path), config=run_identity(run.config, run.model), chunk_rows=chunk_rows)
    if parts_dir.exists():
        if overwrite:
            shutil.rmtree(parts_dir)
        elif not resume:
            raise InputError(
                f"{os.fspath(parts_dir)!r} holds a partial run; add --resume to continue it or --overwrite to start over"
            )
    journal = Journal.open(parts_dir, key, reader.n_rows)
    if output_path.exists() and not overwrite:
        if journal.is_complete():
            # Killed after the output was moved into place but before the parts were removed.
            shutil.rmtree(parts_dir, ignore_errors=True)
            return None
        raise InputError(f"output {os.fspath(output_path)!r} exists; pass --overwrite to replace it")
    journal.save()
    return journal


def _run_chunks(run: InferenceRun, catalog, journal: Journal, chunk_rows: int, *, progress: bool) -> None:
    from tqdm.auto import tqdm

    reader = catalog.reader
    with tqdm(
        total=reader.n_rows,
        initial=journal.rows_done,
        unit="rows",
        unit_scale=True,
        desc=f"infer {reader.path.name}",
        disable=not progress,
        dynamic_ncols=True,
        mininterval=1.0,
    ) as bar:
        read = deque()  # the chunks handed to the run, in order; the run yields one table each

        def tables():
            for chunk in reader.iter_chunks(chunk_rows, skip=frozenset(journal.chunks)):
                read.append(chunk)
                yield catalog.chunk_cutout_index(chunk)

        # pipelined across chunks: a chunk's part is written while the next one is drawn
        for out in run.infer_many(tables(), catalog.cutouts, on_rows=bar.update):
            chunk = read.popleft()
            part = write_part(journal.directory, chunk.index, out)
            journal.record(chunk.index, chunk.start, chunk.stop, part.name, len(out))
