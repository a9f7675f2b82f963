"""The plugin-manager factory and the list of built-in plugins.

Nothing here runs at import time: :func:`get_plugin_manager` builds a fresh
:class:`pluggy.PluginManager` each time it is called (pluggy's eggsample host, tox's
manager). Built-in plugins are ordinary hookimpl modules registered exactly like the
ones found through the ``astro_galflow`` entry-point group (datasette's
``DEFAULT_PLUGINS``).

Environment variables
---------------------
``GALFLOW_DISABLE_PLUGIN_AUTOLOAD``
    Any non-empty value: do not load entry-point plugins.
``GALFLOW_PLUGINS``
    Comma-separated allow-list of entry-point names; only these are loaded.
``GALFLOW_BLOCK_PLUGINS``
    Comma-separated names (entry-point names or built-in module names) never registered.
``GALFLOW_TRACE_PLUGINS``
    Any non-empty value: trace every hook call to standard error.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from importlib import metadata

import pluggy

from astro_galflow import hookspecs
from astro_galflow.hookspecs import PROJECT_NAME

__all__ = [
    "ENTRY_POINT_GROUP",
    "DEFAULT_PLUGINS",
    "PluginInfo",
    "get_plugin_manager",
    "list_plugins",
    "hookimpl",
]

#: Entry-point group third-party distributions register under.
ENTRY_POINT_GROUP = "astro_galflow"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

#: Built-in plugin modules, registered in this order.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "astro_galflow.sources.simulated",
    "astro_galflow.sources.sdss",
    "astro_galflow.sources.lsst",
    "astro_galflow.sources.roman",
    "astro_galflow.encoders.plugin",
    "astro_galflow.heads.plugin",
    "astro_galflow.backends.plugin",
    "astro_galflow.inputs",
    "astro_galflow.provenance",
    "astro_galflow.scale.compact",
)

ENV_DISABLE_AUTOLOAD = "GALFLOW_DISABLE_PLUGIN_AUTOLOAD"
ENV_ALLOW = "GALFLOW_PLUGINS"
ENV_BLOCK = "GALFLOW_BLOCK_PLUGINS"
ENV_TRACE = "GALFLOW_TRACE_PLUGINS"


def _env_list(name: str) -> set[str]:
    return {item.strip() for item in os.environ.get(name, "").split(",") if item.strip()}


def get_plugin_manager(*, load_entrypoints: bool | None = None, plugins: tuple = ()) -> pluggy.PluginManager:
    """Build a plugin manager with the built-in and installed plugins registered.

    Parameters
    ----------
    load_entrypoints : bool, optional
        Load plugins of the ``astro_galflow`` entry-point group. Default: yes, unless
        ``GALFLOW_DISABLE_PLUGIN_AUTOLOAD`` is set.
    plugins : tuple
        Extra plugin objects (modules or instances) to register after the others, as
        a test or an embedding application would.

    Returns
    -------
    pluggy.PluginManager
        With every hookimpl validated against the specs (``check_pending``).
    """
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    blocked = _env_list(ENV_BLOCK)
    for name in blocked:
        pm.set_blocked(name)

    for module_name in DEFAULT_PLUGINS:
        if module_name in blocked:
            continue
        pm.register(importlib.import_module(module_name), name=module_name)

    if load_entrypoints is None:
        load_entrypoints = not os.environ.get(ENV_DISABLE_AUTOLOAD)
    if load_entrypoints:
        _load_entrypoints(pm, allow=_env_list(ENV_ALLOW))

    for plugin in plugins:
        pm.register(plugin)

    if os.environ.get(ENV_TRACE):
        pm.trace.root.setwriter(sys.stderr.write)
        pm.enable_tracing()

    pm.check_pending()
    return pm


def _load_entrypoints(pm: pluggy.PluginManager, allow: set[str]) -> None:
    if allow:
        # pluggy has no allow-list; blocking every other name of the group before
        # loading gives one, and keeps pluggy's own distribution bookkeeping.
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name not in allow:
                pm.set_blocked(ep.name)
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)


@dataclass(frozen=True)
class PluginInfo:
    """What ``galflow plugins`` shows for one registered plugin."""

    name: str
    origin: str
    distribution: str
    version: str
    hooks: tuple[str, ...]


def list_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Describe every registered plugin: where it came from and which hooks it implements."""
    distinfo = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        hooks = tuple(sorted(impl_caller.name for impl_caller in pm.get_hookcallers(plugin) or ()))
        dist = distinfo.get(id(plugin))
        if dist is not None:
            origin, dist_name, version = "entry point", dist.project_name, dist.version
        elif name in DEFAULT_PLUGINS:
            origin, dist_name, version = "built-in", "astro_galflow", _own_version()
        else:
            origin, dist_name, version = "registered", getattr(plugin, "__module__", "") or "", ""
        infos.append(PluginInfo(name, origin, dist_name, version, hooks))
    return infos


def _own_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("astro_galflow")
    except PackageNotFoundError:  # a source tree that is not installed
        return "0.0.0+unknown"
