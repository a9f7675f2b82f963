"""One inference run: source -> inputs -> encoder -> heads -> samples -> table.

:class:`InferenceRun` owns a run's life and is the only caller of ``pm.hook.*`` on the
data path. Entering it resolves the plugin manager, the registries and the model (built
from the names its card gives), looks up and checks the data source, calls
``galflow_configure``, and compiles every sampler *and* the image encoder through
``galflow_compile_head``; :meth:`InferenceRun.infer` turns any number of input rows into
their posterior table; leaving it calls ``galflow_unconfigure``.

The engines -- in memory (:func:`astro_galflow.pipeline.infer_table`), streaming
(:func:`astro_galflow.scale.stream.stream_infer`) and Dask
(:func:`astro_galflow.scale.dask_engine.dask_infer`) -- only decide how rows are read in
and written out. A row's noise depends only on the run seed and its ``source_id``
(:mod:`astro_galflow.noise`), so every engine writes the same posterior for the same row,
whatever its chunking, batching or partitioning.
"""

from __future__ import annotations

import json
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import astropy.units as u
import numpy as np
from astropy.table import QTable

from astro_galflow.backends.base import BackendUnavailable
from astro_galflow.backends.selection import auto_backend, describe_backend, resolve_backend
from astro_galflow.catalogs import read_catalog, resolve_cutouts
from astro_galflow.config import GalflowConfig
from astro_galflow.cutouts import bad_cutout_mask
from astro_galflow.exceptions import GalflowError, InputError
from astro_galflow.flags import PosteriorFlag
from astro_galflow.healpix import SPATIAL_INDEX_COLUMN
from astro_galflow.inputs import as_qtable, check_columns, column_values, flag_column, mag_column
from astro_galflow.params import get_parameter
from astro_galflow.posterior import ModelSpaceDraw
from astro_galflow.registry import RegistryError
from astro_galflow.sources.base import BandMismatchError
from astro_galflow.summaries import summarize
from astro_galflow.table import (
    add_summary_columns,
    describe_columns,
    new_posterior_table,
    quantile_suffix,
    validate_posterior_table,
)

__all__ = ["InferenceRun", "CatalogInput", "BLOCKING_FLAGS", "read_input_table"]

#: Flags that make a row impossible to infer (its posterior columns stay NaN).
BLOCKING_FLAGS = PosteriorFlag.BAD_PHOTOMETRY | PosteriorFlag.BAD_CUTOUT


def read_input_table(path, config: GalflowConfig, pm=None) -> QTable:
    """A whole catalog file as an input table: read by the source ``config.source`` names, if any.

    Raises
    ------
    InputError
        Naming the file, when it cannot be read.
    """
    if not config.source:
        return read_catalog(path)
    from astro_galflow.registry import build_registries

    if pm is None:
        from astro_galflow.plugins import get_plugin_manager

        pm = get_plugin_manager()
    source = build_registries(pm).sources.get(config.source)()
    try:
        return as_qtable(source.read_catalog(Path(path)))
    except GalflowError:
        raise
    except Exception as exc:  # a source plugin's parser raises what it raises
        raise InputError(f"source {source.name!r} cannot read {os.fspath(path)!r}: {exc}") from exc


class CatalogInput:
    """A catalog opened for a run: a chunked reader, its cutouts and the survey it names.

    Attributes
    ----------
    reader : astro_galflow.scale.readers.ChunkedReader
        Chunks of the catalog (read whole first when its format or source cannot be read
        in pieces).
    cutouts : numpy.ndarray or None
        The cutouts (memory-mapped) the catalog's ``cutout_index`` points into, or that
        are aligned with its rows.
    aligned : bool
        The cutouts are aligned with the catalog's rows (it has no ``cutout_index``).
    """

    def __init__(self, reader, cutouts, aligned: bool):
        self.reader, self.cutouts, self.aligned = reader, cutouts, aligned

    def chunk_cutout_index(self, chunk) -> QTable:
        """``chunk.table`` with an explicit ``cutout_index`` when the cutouts are aligned with the rows."""
        if not self.aligned:
            return chunk.table
        table = chunk.table.copy(copy_data=False)
        table["cutout_index"] = np.arange(chunk.start, chunk.stop, dtype=np.int64)
        return table

    def close(self) -> None:
        """Release the reader's file."""
        self.reader.close()


@dataclass
class _Batch:
    """One batch between the run's stages: the prepared rows, then their draw."""

    table: QTable
    rows: np.ndarray  # indices of the usable rows
    images: np.ndarray | None  # the usable rows' cutouts (image models)
    flags: np.ndarray
    extra: dict
    draw: ModelSpaceDraw | None = None


class _ParameterSummary(NamedTuple):
    """One parameter's summaries of a batch (:func:`astro_galflow.summaries.summarize`)."""

    mean: np.ndarray  # (n,)
    std: np.ndarray  # (n,)
    quantiles: np.ndarray  # (len(config.quantiles), n)
    samples: np.ndarray | None  # (n, n_samples) when the run stores samples


@dataclass
class _Summaries:
    """A batch's posterior columns as plain arrays, before any table is built.

    The finisher thread makes these and nothing else: astropy tables are built on the
    calling thread only. Building a table reads the class-level ``Quantity.info``, which
    remembers the class it was read through in state shared by every thread; astropy's
    readers and ``vstack`` rely on that state between two reads, so a table built on one
    thread can make another thread's read fail (``mag is not a physical unit``) or its
    join build the wrong column class.
    """

    table: QTable  # the prepared input rows (not read off the calling thread)
    flags: np.ndarray
    parameters: dict  # name -> PosteriorSummary
    hooked: dict  # column -> (values, unit, description), from galflow_summarize_posterior
    extra: dict  # column -> values (models' extra columns)

    def __len__(self) -> int:
        return len(self.flags)


class InferenceRun:
    """The one run every engine drives; a context manager.

    Parameters
    ----------
    config : GalflowConfig, optional
        Run options (default ``GalflowConfig()``).
    pm : pluggy.PluginManager, optional
        Built with :func:`~astro_galflow.plugins.get_plugin_manager` if omitted.
    model : astro_galflow.models.GalflowModel, optional
        Loaded from ``config.model`` through the run's registries if omitted.
    source : astro_galflow.sources.base.DataSource, optional
        A source instance; default the source registered as ``config.source`` (if any).
    engine : str
        The driver's name, written to the table meta (``memory``, ``local``, ``dask``).

    Examples
    --------
    >>> from astro_galflow.run import InferenceRun
    >>> with InferenceRun(GalflowConfig(model="sim-photometry")) as run:  # doctest: +SKIP
    ...     posteriors = run.infer(table)
    """

    def __init__(self, config: GalflowConfig | None = None, *, pm=None, model=None, source=None, engine="memory"):
        self.config = config or GalflowConfig()
        self.engine = engine
        self._pm, self._model, self._source = pm, model, source
        self.compiled: dict = {}
        self.survey_hint = None
        self.device_summaries = False
        self._provenance = None
        self._meta = None
        self._started = False
        self._finish_pool = None

    # -- life --------------------------------------------------------------------------

    def __enter__(self) -> InferenceRun:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> InferenceRun:
        """Resolve plugins, registries, model and source; configure plugins; compile."""
        from astro_galflow.registry import build_registries

        if self._pm is None:
            from astro_galflow.plugins import get_plugin_manager

            self._pm = get_plugin_manager()
        self.pm = self._pm
        self.registries = build_registries(self.pm)
        self.model = self._model if self._model is not None else self._load_model()
        self.source = self._source
        if self.source is None and self.config.source:
            self.source = self.registries.sources.get(self.config.source)()
        self.check_source()
        wanted = self.config.backend_settings.device_summaries
        if wanted is None:
            wanted = str(self.config.device).startswith("cuda")
        # the samples must reach the host for stored samples and compact PDFs
        self.device_summaries = bool(wanted) and not self.config.store_samples and self.config.compact_pdf is None
        self.pm.hook.galflow_configure.call_historic(kwargs={"config": self.config})
        self._started = True
        try:
            self.compiled = self._compile()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """``galflow_unconfigure`` (once)."""
        if self._finish_pool is not None:
            self._finish_pool.shutdown(wait=True)
            self._finish_pool = None
        if self._started:
            self._started = False
            self.pm.hook.galflow_unconfigure(config=self.config)

    def _load_model(self):
        from astro_galflow.models import load_model

        return load_model(self.config.model, registries=self.registries)

    def check_source(self) -> None:
        """Refuse a source whose bands or pixel scale differ from the model's.

        Raises
        ------
        astro_galflow.sources.base.BandMismatchError
        """
        if self.source is None:
            return
        model = self.model
        bands = tuple(self.source.photometry_bands)
        missing = [b for b in model.photometry_bands if bands and b not in bands]
        if missing:
            raise BandMismatchError(
                f"source {self.source.name!r} provides photometry in bands {''.join(bands)} but model "
                f"{model.name!r} needs {''.join(model.photometry_bands)} (missing: {', '.join(missing)})"
            )
        if model.requires_cutouts:
            self.source.check_compatible(bands=model.image_bands, pixel_scale=model.pixel_scale)

    def _compile(self) -> dict:
        config, model = self.config, self.model
        preferred = model.preferred_backends or None
        kwargs = {} if preferred is None else {"preferred": preferred}
        try:
            backend = resolve_backend(config.backend, config.device, self.registries.backends, **kwargs)
        except RegistryError as exc:
            raise InputError(f"--backend {config.backend}: {exc}") from None
        try:
            fallback = auto_backend(self.registries.backends, config.device, **kwargs)
        except BackendUnavailable:
            fallback = backend
        compiled = {}
        for name, module in model.samplers().items():
            example = module.example_inputs(batch_size=min(config.batch_size, 64), n_samples=config.n_samples)
            compiled[name] = self._compile_one(module, example, backend, fallback, "sampler")
        encoder = model.image_encoder()
        if encoder is not None:
            compiled["image"] = self._compile_one(
                encoder, encoder.example_inputs(batch_size=4), backend, fallback, "encoder"
            )
        return {name: value for name, value in compiled.items() if value is not None}

    def _compile_one(self, module, example, backend, fallback, role):
        return self.pm.hook.galflow_compile_head(
            head=module,
            example_inputs=example,
            device=self.config.device,
            config=self.config,
            backend=backend,
            fallback=fallback,
            role=role,
        )

    # -- reading -----------------------------------------------------------------------

    def open_catalog(self, path, cutouts=None) -> CatalogInput:
        """Open a catalog file the way every engine reads it.

        A source (``--source``) reads the file in its survey's layout (whole, then served
        in chunks); otherwise formats that can be read in pieces are, and others are read
        whole. Cutouts: ``cutouts`` if given (a path or an array), else the file the
        catalog's meta names, inside the catalog's folder.

        Raises
        ------
        InputError
            Naming the file: unreadable, empty, or an image model without cutouts.
        """
        from astro_galflow.scale.readers import InMemoryChunks, open_chunked

        path = Path(path)
        if self.source is not None:
            if not path.is_file():
                raise InputError(f"catalog file {os.fspath(path)!r} does not exist")
            try:
                table = self.source.read_catalog(path)
            except GalflowError:
                raise
            except Exception as exc:  # a source plugin's parser raises what it raises
                raise InputError(f"source {self.source.name!r} cannot read {os.fspath(path)!r}: {exc}") from exc
            reader = InMemoryChunks(table, path)
        else:
            reader = open_chunked(path)
        try:
            if reader.n_rows == 0:
                raise InputError(f"catalog file {os.fspath(path)!r} has no rows")
            meta = reader.meta()
            self.survey_hint = meta.get("survey")
            array = None
            aligned = False
            if self.model.requires_cutouts:
                array = cutouts if isinstance(cutouts, np.ndarray) else resolve_cutouts(meta, path, cutouts)
                self.require_cutouts(array)
                aligned = "cutout_index" not in reader.column_names()
                if aligned and len(array) != reader.n_rows:
                    raise InputError(
                        f"catalog {os.fspath(path)!r} has {reader.n_rows} rows and no cutout_index column, "
                        f"but there are {len(array)} cutouts"
                    )
        except BaseException:
            reader.close()
            raise
        return CatalogInput(reader, array, aligned)

    def require_cutouts(self, cutouts) -> None:
        """Raise a clear :class:`InputError` when an image model gets no cutouts."""
        if self.model.requires_cutouts and cutouts is None:
            raise InputError(
                f"model {self.model.name!r} needs gri cutouts; pass --cutouts (or a catalog whose meta names its "
                "cutouts file), or use a photometry-only model such as 'sim-photometry'"
            )

    # -- inference ---------------------------------------------------------------------

    def infer(self, table, cutouts=None, *, on_rows=None) -> QTable:
        """Posterior table for exactly the rows of ``table`` (same order, same count).

        Parameters
        ----------
        table : astropy.table.Table
            Input rows in the host's convention (:mod:`astro_galflow.inputs`).
        cutouts : numpy.ndarray, optional
            ``(n_cutouts, bands, 160, 160)`` array (may be memory-mapped) that
            ``table["cutout_index"]`` points into.
        on_rows : callable, optional
            Called with the number of rows after each batch (progress bars).

        Returns
        -------
        astropy.table.QTable
            A posterior table that passes :func:`~astro_galflow.table.validate_posterior_table`.
        """
        return next(self.infer_many([table], cutouts, on_rows=on_rows))

    def infer_many(self, tables, cutouts=None, *, on_rows=None):
        """Posterior tables of an iterable of input tables, yielded in order, one for each.

        What :meth:`infer` does for each table, pipelined across them: each batch of
        ``config.batch_size`` rows is drawn by the samplers on the calling thread (ONNX
        Runtime's own worker threads) and then post-processed and summarised
        (single-threaded numpy) on the run's finisher thread while the next batch, of the
        same table or the next one, is drawn; on two cores that stage otherwise leaves one
        core idle for a third of the run. At most two drawn batches wait for the finisher,
        so memory stays bounded by the batch size. Each table's posterior table is built
        from its batches' summaries on the calling thread, which alone touches astropy
        tables (see ``_Summaries``). Results do not depend on the batching (every row's
        noise comes from its own seed).

        Parameters
        ----------
        tables : iterable of astropy.table.Table
            Input tables (e.g. the chunks of a catalog); consumed lazily.
        cutouts : numpy.ndarray, optional
            As for :meth:`infer`, shared by all tables.
        on_rows : callable, optional
            Called with the number of rows after each finished batch.

        Yields
        ------
        astropy.table.QTable
            The posterior table of each input table, as :meth:`infer` returns it.
        """
        if not self._started:
            raise GalflowError("InferenceRun.infer called outside its `with` block")
        waiting = deque()  # (input table, its batches' futures), oldest first
        outstanding = deque()  # the finisher's futures, oldest first, until each is waited for

        def wait_oldest() -> None:
            part = outstanding.popleft().result()  # re-raises the finisher's error here
            if on_rows is not None:
                on_rows(len(part))

        def finished_tables(block: bool):
            while waiting and (block or all(f.done() for f in waiting[0][1])):
                table, futures = waiting.popleft()
                # the outstanding futures of the oldest table are the oldest outstanding ones
                while outstanding and outstanding[0] in futures:
                    wait_oldest()
                yield self._posterior_table(table, [f.result() for f in futures])

        try:
            for table in tables:
                futures = []
                for start in range(0, max(len(table), 1), self.config.batch_size):
                    batch = table[start : start + self.config.batch_size]
                    if self.device_summaries:
                        # summaries come off the device with the draw: nothing left to overlap
                        future = Future()
                        future.set_result(self._device_summaries(self._prepared(batch, cutouts)))
                        if on_rows is not None:
                            on_rows(len(batch))
                    else:
                        drawn = self._draw_batch(batch, cutouts)
                        while len(outstanding) >= 2:
                            wait_oldest()
                        future = self._finisher().submit(self._summarize, drawn)
                        outstanding.append(future)
                    futures.append(future)
                    yield from finished_tables(block=False)
                waiting.append((table, futures))
                yield from finished_tables(block=False)
        except GeneratorExit:
            raise
        except BaseException:
            # The tables drawn in full before the failure are still handed out (the
            # streaming engine writes them), so a resume redoes no more than without
            # the pipeline; then the failure propagates.
            yield from finished_tables(block=True)
            raise
        yield from finished_tables(block=True)

    def _posterior_table(self, table, parts: list[_Summaries]) -> QTable:
        """The posterior table of input ``table`` from its batches' summaries (calling thread)."""
        first = parts[0]
        for index, part in enumerate(parts[1:], start=1):
            if part.hooked.keys() != first.hooked.keys():
                differ = sorted(set(part.hooked) ^ set(first.hooked))
                raise GalflowError(
                    f"galflow_summarize_posterior returned column(s) {differ} for batch {index} "
                    "but not for every batch; a plugin must return the same columns for every batch"
                )

        def joined(values):
            return values[0] if len(values) == 1 else np.concatenate(values)

        inputs = [as_qtable(part.table) for part in parts]
        out = new_posterior_table(
            source_id=joined([np.asarray(t["source_id"]) for t in inputs]),
            survey=self._survey(inputs[0]),
            ra_deg=joined([column_values(t, "ra", u.deg) for t in inputs]),
            dec_deg=joined([column_values(t, "dec", u.deg) for t in inputs]),
            flags=joined([part.flags for part in parts]),
        )
        for name in self.model.parameters:
            summaries = [part.parameters[name] for part in parts]
            stored = [summary.samples for summary in summaries]
            add_summary_columns(
                out,
                get_parameter(name),
                joined([summary.mean for summary in summaries]),
                joined([summary.std for summary in summaries]),
                np.concatenate([summary.quantiles for summary in summaries], axis=1),
                quantiles=self.config.quantiles,
                samples=None if stored[0] is None else joined(stored),
            )
        for column, (_, unit, description) in first.hooked.items():
            values = joined([np.asarray(part.hooked[column][0]) for part in parts])
            out[column] = values if unit is None else values * unit
            out[column].info.description = description
        extra = {name: joined([part.extra[name] for part in parts]) for name in first.extra}
        out = self._finish_table(out, extra)
        if len(out) != len(table):
            raise GalflowError(f"the run returned {len(out)} rows for {len(table)} input rows")
        return out

    def _finisher(self):
        """The run's one post-processing thread (batches are finished in order, one at a time)."""
        if self._finish_pool is None:
            self._finish_pool = ThreadPoolExecutor(1, thread_name_prefix="galflow-finish")
        return self._finish_pool

    def _usable(self, table: QTable, cutouts) -> tuple[np.ndarray, np.ndarray | None]:
        """Flag rows the model cannot use; return ``(usable, images)``.

        ``images`` holds the usable rows' cutouts, float32, read from ``cutouts`` once:
        on a memory-mapped file each read is a copy of ~300 KB a row, and the check and
        the encoder used to read them separately (None for photometry-only models).
        """
        model = self.model
        flags = flag_column(table)
        images = None
        if model.requires_cutouts:
            self.require_cutouts(cutouts)
            if cutouts.ndim != 4 or cutouts.shape[1] != len(model.image_bands):
                raise InputError(
                    f"cutouts have shape {cutouts.shape}; model {model.name!r} needs (n, {len(model.image_bands)}, 160, 160)"
                )
            if "cutout_index" not in table.colnames:
                raise InputError("the rows have no cutout_index column to find their cutouts with")
            index = column_values(table, "cutout_index")
            with np.errstate(invalid="ignore"):
                valid = np.isfinite(index) & (index >= 0) & (index < len(cutouts)) & (index == np.round(index))
            check = np.flatnonzero(valid)
            images = np.asarray(cutouts[index[check].astype(np.int64)], dtype=np.float32)
            bad = ~valid
            bad[check] |= bad_cutout_mask(images)
            flags[bad] |= int(PosteriorFlag.BAD_CUTOUT)
        usable = (np.asarray(flags) & int(BLOCKING_FLAGS)) == 0
        if images is not None:
            keep = usable[check]
            images = images if keep.all() else images[keep]
        return usable, images

    def _prepared(self, table, cutouts) -> _Batch:
        """Input checks and flags of a batch (hooks included); its usable rows and their cutouts."""
        config, model = self.config, self.model
        table = as_qtable(table)
        check_columns(table, ["source_id", "ra", "dec", *(mag_column(b) for b in model.photometry_bands)])
        # The built-in input checks flag the bands this model uses, whatever else the table holds.
        table.meta["bands"] = tuple(model.photometry_bands)
        table["posterior_flags"] = np.zeros(len(table), dtype=np.int64)
        self.pm.hook.galflow_prepare_inputs(table=table, source=self.source, config=config)
        usable, images = self._usable(table, cutouts)
        flags = np.asarray(table["posterior_flags"], dtype=np.int64).copy()
        flags[~usable] |= int(PosteriorFlag.NO_POSTERIOR)
        extra = {name: np.full(len(table), np.nan, dtype=np.float32) for name in getattr(model, "extra_columns", ())}
        return _Batch(table=table, rows=np.flatnonzero(usable), images=images, flags=flags, extra=extra)

    def _draw_batch(self, table, cutouts) -> _Batch:
        """The sampling stage of a batch (:meth:`GalflowModel.draw <astro_galflow.models.GalflowModel.draw>`)."""
        batch = self._prepared(table, cutouts)
        if batch.rows.size:
            batch.draw = self.model.draw(
                batch.table[batch.rows],
                batch.images,
                n_samples=self.config.n_samples,
                seed=self.config.seed,
                compiled=self.compiled,
            )
        batch.images = None  # the cutouts are encoded; do not hold them while the batch waits
        return batch

    def _summarize(self, batch: _Batch) -> _Summaries:
        """The post-processing stage of a batch: physical samples and their summaries (numpy only)."""
        config, model = self.config, self.model
        rows, flags, extra = batch.rows, batch.flags, batch.extra
        n, s = len(flags), config.n_samples
        samples = {name: np.full((n, s), np.nan, dtype=np.float32) for name in model.parameters}
        if batch.draw is not None:
            posterior = model.finish(batch.draw, calibrate=config.calibrate)
            for name, values in posterior.samples.items():
                samples[name][rows] = values
            for name, values in posterior.columns.items():
                values = np.asarray(values)
                if name not in extra:
                    extra[name] = np.full(n, np.nan, dtype=values.dtype if values.dtype.kind == "f" else np.float64)
                extra[name][rows] = values
            flags[rows] |= np.asarray(posterior.flags, dtype=np.int64)

        parameters, hooked = {}, {}
        for name in model.parameters:
            spec = get_parameter(name)
            stats = summarize(samples[name], config.quantiles)
            stored = samples[name] if config.store_samples else None
            parameters[name] = _ParameterSummary(stats["mean"], stats["std"], stats["quantiles"], stored)
            for result in self.pm.hook.galflow_summarize_posterior(
                parameter=spec, samples=samples[name], config=config
            ):
                for suffix, (values, unit, description) in (result or {}).items():
                    hooked[f"{name}_{suffix}"] = (np.asarray(values), unit, description)
        return _Summaries(table=batch.table, flags=flags, parameters=parameters, hooked=hooked, extra=extra)

    def _finish_table(self, out: QTable, extra: dict) -> QTable:
        for name, values in extra.items():
            out[name] = values
        describe_columns(out)
        self._add_meta(out)
        self.pm.hook.galflow_modify_table(table=out, config=self.config)
        out.add_index(SPATIAL_INDEX_COLUMN)
        validate_posterior_table(out, check_healpix=False)
        return out

    def _device_summaries(self, batch: _Batch) -> _Summaries:
        """A batch's summaries computed on the sampler's device (:mod:`astro_galflow.summaries`).

        Rows the domain check flags are tempered on the host (as on the host path) and
        summarised there; every other row's samples stay on the device.
        """
        import torch

        from astro_galflow.noise import row_seeds
        from astro_galflow.summaries import columns_to_host, device_row_noise, posterior_columns

        config, model = self.config, self.model
        table, rows, cutouts, flags, extra = batch.table, batch.rows, batch.images, batch.flags, batch.extra
        n, quantiles = len(table), config.quantiles
        summaries = {
            p: (np.full(n, np.nan), np.full(n, np.nan), np.full((len(quantiles), n), np.nan)) for p in model.parameters
        }
        if rows.size:
            rows_table = table[rows]
            features = model.features(rows_table, cutouts, compiled=self.compiled)
            seeds = row_seeds(rows_table["source_id"], config.seed)
            outside = np.zeros(len(rows), dtype=bool)
            if model.domain is not None:
                ood = model.domain.ood_score(features)
                extra["ood_score"][rows] = ood
                with np.errstate(invalid="ignore"):
                    outside = ood > 0
            detect = model.detectable_probability(features)
            if detect is not None:
                extra["oh_12_detectable_probability"][rows] = detect
            if outside.any():
                # tempering needs the samples: these rows take the host path
                host_rows = rows[outside]
                post = model.posterior_samples(
                    table[host_rows],
                    None if cutouts is None else cutouts[outside],
                    n_samples=config.n_samples,
                    seed=config.seed,
                    compiled=self.compiled,
                    calibrate=config.calibrate,
                )
                for p, values in post.samples.items():
                    stats = summarize(values, quantiles)
                    summaries[p][0][host_rows], summaries[p][1][host_rows] = stats["mean"], stats["std"]
                    summaries[p][2][:, host_rows] = stats["quantiles"]
                for name, values in post.columns.items():
                    extra[name][host_rows] = values
                flags[host_rows] |= np.asarray(post.flags, dtype=np.int64)
            inside = np.flatnonzero(~outside)
            sampler = self.compiled.get("joint") or model.samplers()["joint"]
            device = torch.device(config.device)
            for start in range(0, inside.size, config.batch_size):
                local = inside[start : start + config.batch_size]
                x = torch.from_numpy(np.ascontiguousarray(features[local], dtype=np.float32))
                eps = device_row_noise(seeds[local], config.n_samples, len(model.parameters), device=device)
                with torch.inference_mode():
                    drawn = torch.as_tensor(sampler(x, eps), device=device)
                    columns, support_flags = posterior_columns(
                        model, drawn, seeds=seeds[local], quantiles=quantiles, calibrate=config.calibrate
                    )
                host = columns_to_host(columns)
                target = rows[local]
                for p in model.parameters:
                    summaries[p][0][target], summaries[p][1][target] = host[f"{p}_mean"], host[f"{p}_std"]
                    for k, q in enumerate(quantiles):
                        summaries[p][2][k, target] = host[f"{p}_{quantile_suffix(q)}"]
                    for kind in ("aleatoric", "epistemic"):
                        name = f"{p}_std_{kind}"
                        if name in host and name in extra:
                            extra[name][target] = host[name]
                flags[target] |= support_flags.cpu().numpy().astype(np.int64)
        parameters = {p: _ParameterSummary(*summaries[p], None) for p in model.parameters}
        return _Summaries(table=table, flags=flags, parameters=parameters, hooked={}, extra=extra)

    def _survey(self, table) -> str:
        if self.source is not None:
            return self.source.survey
        return table.meta.get("survey") or self.survey_hint or "unknown"

    def provenance(self) -> dict:
        """Library and plugin versions, weights hashes and whatever ``galflow_provenance`` plugins add.

        Asked of the plugins once per run (it reads installed distributions' metadata), not
        once per batch.
        """
        if self._provenance is None:
            from astro_galflow.plugins import list_plugins

            provenance = {}
            for result in self.pm.hook.galflow_provenance(config=self.config):
                provenance.update(result or {})
            provenance["plugins"] = {
                info.name: f"{info.distribution} {info.version}".strip() for info in list_plugins(self.pm)
            }
            self._provenance = json.loads(json.dumps(provenance, default=str))
        return json.loads(json.dumps(self._provenance))

    def _run_meta(self) -> dict:
        """The table meta every batch of this run shares (built once; plain JSON types only)."""
        if self._meta is None:
            config, model = self.config, self.model
            calibration = (
                {"applied": True, **model.calibration.to_card()}
                if config.calibrate and model.calibration is not None
                else {"applied": False}
            )
            meta = {
                "model": model.name,
                "model_sha256": dict(model.card.get("sha256", {})),
                "backend": describe_backend(config, self.compiled.get("joint")),
                "calibration": calibration,
                "n_samples": config.n_samples,
                "seed": config.seed,
                "engine": self.engine,
                "config": config.to_meta(),
                "provenance": self.provenance(),
            }
            if "image" in self.compiled:
                # the encoder is compiled through the same hook and may run elsewhere (a
                # plugin's fallback, or a backend that compiles samplers only)
                meta["encoder_backend"] = describe_backend(config, self.compiled["image"])
            # Version objects (e.g. torch's TorchVersion) are str subclasses that YAML-based
            # writers refuse; the meta holds plain JSON types only.
            self._meta = json.loads(json.dumps(meta, default=str))
        return self._meta

    def _add_meta(self, out: QTable) -> None:
        # a deep copy per table: a writer or galflow_modify_table may edit its own meta
        out.meta.update(json.loads(json.dumps(self._run_meta())))
