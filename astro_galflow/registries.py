"""Build the four validated registries from a plugin manager."""

from __future__ import annotations

from dataclasses import dataclass

import pluggy

from astro_galflow.backends.base import Backend
from astro_galflow.encoders.base import Encoder
from astro_galflow.heads.base import PosteriorHead
from astro_galflow.registry import Registry
from astro_galflow.sources.base import DataSource

__all__ = ["Registries", "build_registries"]


@dataclass(frozen=True)
class Registries:
    """The sources, encoders, heads and backends the registered plugins provide."""

    sources: Registry
    encoders: Registry
    heads: Registry
    backends: Registry

    def as_dict(self) -> dict[str, Registry]:
        """``{"sources": ..., "encoders": ..., ...}``"""
        return {"sources": self.sources, "encoders": self.encoders, "heads": self.heads, "backends": self.backends}


def _fill(pm: pluggy.PluginManager, hook_name: str, registry: Registry) -> Registry:
    # Call each implementation separately so that the registry can name the plugin
    # responsible for a duplicate or an invalid class.
    hook = getattr(pm.hook, hook_name)
    for impl in reversed(hook.get_hookimpls()):
        with registry.registering_for(pm.get_name(impl.plugin) or repr(impl.plugin)):
            impl.function(registry=registry)
    return registry


def build_registries(pm: pluggy.PluginManager) -> Registries:
    """Ask every plugin to register its classes; return the filled registries.

    Raises
    ------
    astro_galflow.registry.RegistryError
        On a duplicate name or an invalid class, naming the plugin.
    """
    return Registries(
        sources=_fill(pm, "galflow_register_sources", Registry("source", DataSource, ("name", "survey"))),
        encoders=_fill(pm, "galflow_register_encoders", Registry("encoder", Encoder, ("name", "input_kind"))),
        heads=_fill(pm, "galflow_register_heads", Registry("head", PosteriorHead)),
        backends=_fill(pm, "galflow_register_backends", Registry("backend", Backend)),
    )
