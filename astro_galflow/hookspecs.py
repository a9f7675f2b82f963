"""Hook specifications of the ``astro_galflow`` plugin host.

Every hook is prefixed ``galflow_``. Plugins implement them with
:data:`astro_galflow.hookimpl`; the built-in sources, encoders, heads and backends are
ordinary plugins registered by the same :meth:`pluggy.PluginManager.register` call as
third-party ones (see :data:`astro_galflow.plugins.DEFAULT_PLUGINS`). Defaults of
``firstresult`` hooks are marked ``trylast=True`` so that a plugin always wins,
whatever the load order.

Data flows one way -- source -> inputs -> encoder -> heads -> samples -> table -- and
:mod:`astro_galflow.pipeline` is the only caller of ``pm.hook.*`` on that path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import numpy as np
    from astropy.table import QTable

    from astro_galflow.config import GalflowConfig
    from astro_galflow.params import ParameterSpec
    from astro_galflow.registry import Registry
    from astro_galflow.sources.base import DataSource

PROJECT_NAME = "astro_galflow"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)

__all__ = ["hookspec", "PROJECT_NAME"]


@hookspec(historic=True)
def galflow_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    """Add new hook specifications.

    Historic: a plugin registered later still receives the call.

    Parameters
    ----------
    pluginmanager : pluggy.PluginManager
        The host's manager; call ``pluginmanager.add_hookspecs(module)``.
    """


@hookspec(historic=True)
def galflow_configure(config: GalflowConfig) -> None:
    """Read configuration and set up plugin state.

    Historic: called once per configuration, also for plugins registered afterwards.

    Parameters
    ----------
    config : astro_galflow.config.GalflowConfig
        Options of the current run (seed, n_samples, backend, ...).
    """


@hookspec
def galflow_register_sources(registry: Registry) -> None:
    """Register data-source classes.

    Call ``registry.add(SourceClass)``; the registry validates the class and raises
    :class:`~astro_galflow.registry.RegistryError` on a duplicate name.

    Parameters
    ----------
    registry : astro_galflow.registry.Registry
        Registry of :class:`~astro_galflow.sources.base.DataSource` subclasses.
    """


@hookspec
def galflow_register_encoders(registry: Registry) -> None:
    """Register encoder classes (image VAE, photometry).

    Parameters
    ----------
    registry : astro_galflow.registry.Registry
        Registry of :class:`~astro_galflow.encoders.base.Encoder` subclasses.
    """


@hookspec
def galflow_register_heads(registry: Registry) -> None:
    """Register posterior-head classes.

    Parameters
    ----------
    registry : astro_galflow.registry.Registry
        Registry of :class:`~astro_galflow.heads.base.PosteriorHead` subclasses.
    """


@hookspec
def galflow_register_backends(registry: Registry) -> None:
    """Register inference-backend classes (eager torch, ONNX Runtime, TensorRT ...).

    Parameters
    ----------
    registry : astro_galflow.registry.Registry
        Registry of :class:`~astro_galflow.backends.base.Backend` subclasses.
    """


@hookspec
def galflow_prepare_inputs(table: QTable, source: DataSource | None, config: GalflowConfig) -> None:
    """Adjust an input table in place before encoding.

    Typical uses: dereddening, unit normalisation, setting bits of the
    ``posterior_flags`` column for rows that cannot be trusted. Rows must never be
    removed: output rows equal input rows.

    Parameters
    ----------
    table : astropy.table.QTable
        Input catalog in the host's input convention (:mod:`astro_galflow.inputs`),
        with a ``posterior_flags`` column already present.
    source : astro_galflow.sources.base.DataSource or None
        The source the table came from, when known.
    config : astro_galflow.config.GalflowConfig
        Options of the current run.
    """


@hookspec(firstresult=True)
def galflow_compile_head(
    head: Any, example_inputs: tuple, device: str, config: GalflowConfig, backend: type, fallback: type, role: str
) -> Any:
    """Return a compiled sampler or image encoder for ``head``, or ``None`` to defer to the next plugin.

    First result wins. The run compiles every sampler of the model (``role="sampler"``:
    ``head(features, eps) -> samples``) and, for image models, the image encoder
    (``role="encoder"``: ``head(images) -> features``) through this hook; the returned
    callable has the same semantics as ``head``. The built-in implementation (``trylast``)
    compiles with ``backend``; a plugin answers for the requests it handles.

    Parameters
    ----------
    head : torch.nn.Module
        The pure-tensor module to compile.
    example_inputs : tuple of torch.Tensor
        ``(features, eps)`` or ``(images,)`` of representative shapes (for tracing/export).
    device : str
        ``"cpu"`` or ``"cuda[:N]"``.
    config : astro_galflow.config.GalflowConfig
        ``config.backend`` names the backend the user asked for, ``config.backend_settings``
        how backends run.
    backend : type
        The registered :class:`~astro_galflow.backends.base.Backend` class ``config.backend``
        resolves to (for ``auto``: the first of the model card's backends that can run on
        ``device``).
    fallback : type
        The backend class ``auto`` resolves to on ``device``, for a plugin that cannot run
        the requested backend here and falls back with a warning.
    role : {"sampler", "encoder"}
        What ``head`` is.

    Returns
    -------
    callable or None
    """


@hookspec
def galflow_summarize_posterior(parameter: ParameterSpec, samples: np.ndarray, config: GalflowConfig) -> dict:
    """Return extra per-parameter summary statistics.

    Each plugin returns a mapping ``{column_suffix: (values, unit, description)}``;
    results from all plugins are collected and added as ``{parameter.name}_{suffix}``
    columns. ``values`` has one entry per row.

    Called on the run's finisher thread (one batch at a time, in input order) while the
    samplers draw the next batch on the calling thread (:meth:`InferenceRun.infer_many
    <astro_galflow.run.InferenceRun.infer_many>`); an implementation that keeps state
    across calls needs no lock, but must not assume it runs on the main thread. Return
    arrays and units, and build no astropy table or table column here: astropy's tables
    are not safe to build on two threads at once, and the calling thread reads and
    writes tables meanwhile. The host adds the columns on the calling thread.

    Parameters
    ----------
    parameter : astro_galflow.params.ParameterSpec
        The parameter being summarised.
    samples : numpy.ndarray
        Posterior samples in physical units, shape ``(n_rows, n_samples)``; rows without
        a posterior are NaN.
    config : astro_galflow.config.GalflowConfig
        Options of the current run.

    Returns
    -------
    dict
    """


@hookspec
def galflow_modify_table(table: QTable, config: GalflowConfig) -> None:
    """Have the last word on the posterior table's columns and meta (in place).

    Called on the calling thread once for each table the run returns (a whole input
    table, or one chunk of the streaming engine), after the summary columns are added.

    Parameters
    ----------
    table : astropy.table.QTable
        The posterior table just before validation.
    config : astro_galflow.config.GalflowConfig
        Options of the current run.
    """


@hookspec
def galflow_provenance(config: GalflowConfig) -> dict:
    """Return provenance entries (versions, weights hashes) for the table meta.

    Results from all plugins are merged into ``table.meta["provenance"]``.

    Parameters
    ----------
    config : astro_galflow.config.GalflowConfig
        Options of the current run.

    Returns
    -------
    dict
    """


@hookspec
def galflow_unconfigure(config: GalflowConfig) -> None:
    """Release engines, open connections and other resources at the end of a run.

    Parameters
    ----------
    config : astro_galflow.config.GalflowConfig
        Options of the run that ends.
    """
