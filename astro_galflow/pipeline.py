"""The inference pipeline: source -> inputs -> encoder -> heads -> samples -> table.

This module is the only caller of ``pm.hook.*`` on the data path. :func:`run_chunk` is
the per-chunk function that the streaming and Dask engines (:mod:`astro_galflow.scale`)
reuse unchanged; :func:`infer_table` runs it over an in-memory table in bounded batches.
"""

from __future__ import annotations

import json

import astropy.units as u
import numpy as np
from astropy.table import QTable, vstack

from astro_galflow.config import GalflowConfig
from astro_galflow.cutouts import bad_cutout_mask
from astro_galflow.exceptions import InputError
from astro_galflow.flags import PosteriorFlag
from astro_galflow.healpix import SPATIAL_INDEX_COLUMN
from astro_galflow.inputs import as_qtable, check_columns, column_values, flag_column, mag_column
from astro_galflow.params import get_parameter
from astro_galflow.table import add_parameter_columns, new_posterior_table, validate_posterior_table

__all__ = ["infer_table", "run_chunk", "chunk_seed", "compile_samplers", "unusable_mask", "resolve_run"]

#: Flags that make a row impossible to infer (its posterior columns stay NaN).
_BLOCKING_FLAGS = PosteriorFlag.BAD_PHOTOMETRY | PosteriorFlag.BAD_CUTOUT


def chunk_seed(seed: int, key: int) -> int:
    """Seed for one chunk, derived from the run seed and a stable chunk key.

    The key is the chunk's first row on one machine and its HEALPix pixel on Dask, so
    the noise a row sees does not depend on how many workers ran.
    """
    return int(np.random.SeedSequence([int(seed), int(key)]).generate_state(1, dtype=np.uint32)[0])


def resolve_run(pm, model, config):
    """``(pm, model)``, building the plugin manager and loading ``config.model`` where None."""
    if pm is None:
        from astro_galflow.plugins import get_plugin_manager

        pm = get_plugin_manager()
    if model is None:
        from astro_galflow.models import load_model

        model = load_model(config.model)
    return pm, model


def compile_samplers(model, *, config: GalflowConfig, pm) -> dict:
    """Compile each of ``model.samplers()`` through the ``galflow_compile_head`` hook.

    Returns
    -------
    dict
        ``{sampler name: callable}`` for the samplers a plugin compiled; samplers every
        plugin deferred on are left out (the model runs them eagerly).
    """
    compiled = {}
    for name, module in model.samplers().items():
        example = module.example_inputs(batch_size=min(config.batch_size, 64), n_samples=config.n_samples)
        result = pm.hook.galflow_compile_head(head=module, example_inputs=example, device=config.device, config=config)
        if result is not None:
            compiled[name] = result
    encoder = model.image_encoder() if model.requires_cutouts else None
    if encoder is not None:
        # The image encoder costs as much as the flows; it runs on the same backend
        # (ONNX Runtime on CPU under "auto"), chosen by the same config.
        from astro_galflow.backends.encoder import compile_encoder

        compiled["image"] = compile_encoder(encoder, encoder.example_inputs(batch_size=4)[0], config.device, config)
    return compiled


def require_cutouts(model, cutouts) -> None:
    """Raise a clear :class:`InputError` when an image model gets no cutouts."""
    if model.requires_cutouts and cutouts is None:
        raise InputError(
            f"model {model.name!r} needs gri cutouts; pass --cutouts (or a catalog whose meta names its "
            "cutouts file), or use a photometry-only model such as 'sim-photometry'"
        )


def unusable_mask(table: QTable, cutouts, model) -> tuple[np.ndarray, np.ndarray]:
    """Flag rows the model cannot use; return ``(usable, cutout_rows)``.

    Sets ``BAD_CUTOUT`` in ``table["posterior_flags"]`` for images that are missing,
    all-NaN or constant. ``cutout_rows`` indexes ``cutouts`` for each usable row (or is
    None for photometry-only models).
    """
    flags = flag_column(table)
    cutout_rows = None
    if model.requires_cutouts:
        require_cutouts(model, cutouts)
        if cutouts.ndim != 4 or cutouts.shape[1] != len(model.image_bands):
            raise InputError(
                f"cutouts have shape {cutouts.shape}; model {model.name!r} needs (n, {len(model.image_bands)}, 160, 160)"
            )
        if "cutout_index" in table.colnames:
            index = column_values(table, "cutout_index")
        else:
            if len(cutouts) != len(table):
                raise InputError(
                    f"the table has {len(table)} rows and no cutout_index column, but there are {len(cutouts)} cutouts"
                )
            index = np.arange(len(table), dtype=np.float64)
        valid_index = np.isfinite(index) & (index >= 0) & (index < len(cutouts))
        cutout_rows = np.where(valid_index, index, 0).astype(np.int64)
        bad = ~valid_index
        check = np.flatnonzero(valid_index)
        if check.size:
            bad[check] |= bad_cutout_mask(np.asarray(cutouts[cutout_rows[check]]))
        flags[bad] |= int(PosteriorFlag.BAD_CUTOUT)
    usable = (np.asarray(flags) & int(_BLOCKING_FLAGS)) == 0
    return usable, cutout_rows


def run_chunk(
    table,
    cutouts=None,
    *,
    model,
    config: GalflowConfig,
    pm,
    source=None,
    seed: int | None = None,
    compiled: dict | None = None,
) -> QTable:
    """Posterior table for exactly the rows of ``table`` (same order, same count).

    Parameters
    ----------
    table : astropy.table.Table
        Input rows in the host's convention (:mod:`astro_galflow.inputs`).
    cutouts : numpy.ndarray, optional
        ``(n_cutouts, bands, 160, 160)`` array (may be memory-mapped) that
        ``table["cutout_index"]`` points into, or aligned with the rows.
    model : astro_galflow.models.GalflowModel
        The loaded model.
    config : GalflowConfig
        Run options.
    pm : pluggy.PluginManager
        Plugin manager whose hooks run.
    source : DataSource, optional
        Where the rows came from (for ``survey`` and band checks).
    seed : int, optional
        Noise seed of this chunk (default ``config.seed``).
    compiled : dict, optional
        Pre-compiled samplers (see :func:`compile_samplers`); compiled here if omitted.

    Returns
    -------
    astropy.table.QTable
        A posterior table that passes :func:`~astro_galflow.table.validate_posterior_table`.
    """
    table = as_qtable(table)
    check_columns(table, ["source_id", "ra", "dec", *(mag_column(b) for b in model.photometry_bands)])
    # The built-in input checks flag the bands this model uses, whatever else the table holds.
    table.meta["bands"] = tuple(model.photometry_bands)
    table["posterior_flags"] = np.zeros(len(table), dtype=np.int64)
    pm.hook.galflow_prepare_inputs(table=table, source=source, config=config)
    usable, cutout_rows = unusable_mask(table, cutouts, model)
    flags = np.asarray(table["posterior_flags"], dtype=np.int64).copy()
    flags[~usable] |= int(PosteriorFlag.NO_POSTERIOR)

    n, s = len(table), config.n_samples
    samples = {name: np.full((n, s), np.nan, dtype=np.float32) for name in model.parameters}
    extra = {}
    rows = np.flatnonzero(usable)
    if rows.size:
        if compiled is None:
            compiled = compile_samplers(model, config=config, pm=pm)
        sub_cutouts = None if cutout_rows is None else np.asarray(cutouts[cutout_rows[rows]], dtype=np.float32)
        posterior = model.posterior_samples(
            table[rows],
            sub_cutouts,
            n_samples=s,
            seed=config.seed if seed is None else seed,
            compiled=compiled,
            calibrate=config.calibrate,
        )
        for name, values in posterior.samples.items():
            samples[name][rows] = values
        for name, values in posterior.columns.items():
            full = np.full(
                n, np.nan, dtype=np.asarray(values).dtype if np.asarray(values).dtype.kind == "f" else np.float64
            )
            full[rows] = values
            extra[name] = full
        flags[rows] |= np.asarray(posterior.flags, dtype=np.int64)
    for name in model.extra_columns():  # issue 15: the same columns with no usable row (Dask meta)
        extra.setdefault(name, np.full(n, np.nan, dtype=np.float32))

    survey = source.survey if source is not None else table.meta.get("survey", "unknown")
    out = new_posterior_table(
        source_id=table["source_id"],
        survey=survey,
        ra_deg=column_values(table, "ra", u.deg),
        dec_deg=column_values(table, "dec", u.deg),
        flags=flags,
    )
    for name in model.parameters:
        spec = get_parameter(name)
        add_parameter_columns(out, spec, samples[name], quantiles=config.quantiles, store_samples=config.store_samples)
        for result in pm.hook.galflow_summarize_posterior(parameter=spec, samples=samples[name], config=config):
            for suffix, (values, unit, description) in (result or {}).items():
                column = f"{name}_{suffix}"
                out[column] = values if unit is None else np.asarray(values) * unit
                out[column].info.description = description
    for name, values in extra.items():
        out[name] = values
    _add_meta(out, model, config, pm, (compiled or {}).get("joint"))
    pm.hook.galflow_modify_table(table=out, config=config)
    out.add_index(SPATIAL_INDEX_COLUMN)
    validate_posterior_table(out, check_healpix=False)
    return out


def _add_meta(out: QTable, model, config: GalflowConfig, pm, sampler) -> None:
    from astro_galflow.backends.selection import describe_backend

    provenance = {}
    for result in pm.hook.galflow_provenance(config=config):
        provenance.update(result or {})
    from astro_galflow.plugins import list_plugins

    provenance["plugins"] = {info.name: f"{info.distribution} {info.version}".strip() for info in list_plugins(pm)}
    out.meta["model"] = model.name
    out.meta["model_sha256"] = dict(model.card.get("sha256", {}))
    # Version objects (e.g. torch's TorchVersion) are str subclasses that YAML-based
    # writers refuse; the meta holds plain JSON types only.
    out.meta["backend"] = json.loads(json.dumps(describe_backend(config, sampler), default=str))
    out.meta["calibration"] = (
        {"applied": True, **model.calibration.to_card()}
        if config.calibrate and model.calibration is not None
        else {"applied": False}
    )
    out.meta["n_samples"] = config.n_samples
    out.meta["seed"] = config.seed
    out.meta["config"] = config.to_meta()
    out.meta["provenance"] = provenance


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
    """Posterior table for an in-memory input table, in batches of ``config.batch_size`` rows.

    Each batch gets the noise seed ``chunk_seed(config.seed, first_row)``.

    Parameters
    ----------
    table : astropy.table.Table
        Input catalog in the host's convention.
    cutouts : numpy.ndarray, optional
        Cutouts (see :func:`run_chunk`).
    config : GalflowConfig, optional
        Run options (defaults to ``GalflowConfig()``).
    pm : pluggy.PluginManager, optional
        Built with :func:`~astro_galflow.plugins.get_plugin_manager` if omitted.
    model : GalflowModel, optional
        Loaded from ``config.model`` if omitted.
    source : DataSource, optional
        Where the rows came from.
    progress : bool
        Show a progress bar (tqdm) on standard error.
    """
    config = config or GalflowConfig()
    pm, model = resolve_run(pm, model, config)
    if cutouts is not None and "cutout_index" not in table.colnames:
        # Cutouts aligned with the rows: make the alignment explicit before batching,
        # since each batch sees only its own rows.
        if len(cutouts) != len(table):
            raise InputError(
                f"the table has {len(table)} rows and no cutout_index column, but there are {len(cutouts)} cutouts"
            )
        table = table.copy(copy_data=False)
        table["cutout_index"] = np.arange(len(table), dtype=np.int64)
    pm.hook.galflow_configure.call_historic(kwargs={"config": config})
    try:
        compiled = compile_samplers(model, config=config, pm=pm) if len(table) else {}
        starts = range(0, max(len(table), 1), config.batch_size)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(table), unit="rows", desc="infer", dynamic_ncols=True)
        parts = []
        for start in starts:
            part = table[start : start + config.batch_size]
            parts.append(
                run_chunk(
                    part,
                    cutouts,
                    model=model,
                    config=config,
                    pm=pm,
                    source=source,
                    seed=chunk_seed(config.seed, start),
                    compiled=compiled,
                )
            )
            if bar is not None:
                bar.update(len(part))
        if bar is not None:
            bar.close()
    finally:
        pm.hook.galflow_unconfigure(config=config)
    out = parts[0] if len(parts) == 1 else vstack(parts, metadata_conflicts="silent")
    out.meta = dict(parts[0].meta)
    if not out.indices:
        out.add_index(SPATIAL_INDEX_COLUMN)
    return out
