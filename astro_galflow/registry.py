"""Validating registries of sources, encoders, heads and backends, filled by the plugins.

Plugins fill them from the ``galflow_register_*`` hooks (tox's ``register.py`` style):
the hook receives a :class:`Registry` whose :meth:`Registry.add` checks the class and
refuses duplicates, so a mistake surfaces at registration with the plugin named, not
later deep in a run. :func:`build_registries` asks every plugin of a plugin manager, one
plugin at a time through pluggy (so ``GALFLOW_TRACE_PLUGINS`` shows each call), and the
:class:`Registries` it returns are the only place a run looks a component up.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass

import pluggy

from astro_galflow.backends.base import Backend
from astro_galflow.encoders.base import Encoder
from astro_galflow.exceptions import GalflowError
from astro_galflow.heads.base import PosteriorHead
from astro_galflow.sources.base import DataSource

__all__ = ["Registry", "RegistryError", "RegisteredClass", "Registries", "build_registries"]

_NAME_RE = re.compile(r"^[a-z][a-z0-9_\-]*$")


class RegistryError(GalflowError, ValueError):
    """A class could not be registered or looked up."""


@dataclass(frozen=True)
class RegisteredClass:
    """One registry entry: the class and the plugin distribution that provided it."""

    name: str
    cls: type
    plugin: str


class Registry:
    """Name -> class mapping for one kind of component.

    Parameters
    ----------
    kind : str
        ``"source"``, ``"encoder"``, ``"head"`` or ``"backend"`` (used in messages).
    base : type
        Every registered class must subclass it.
    required_attributes : tuple of str
        Class attributes every entry must define (non-empty).
    """

    def __init__(self, kind: str, base: type, required_attributes: tuple[str, ...] = ("name",)):
        self.kind = kind
        self.base = base
        self.required_attributes = required_attributes
        self._entries: dict[str, RegisteredClass] = {}
        self._current_plugin = "<unknown>"

    @contextmanager
    def registering_for(self, plugin: str):
        """Attribute the classes added inside the ``with`` block to ``plugin`` (for messages and listings)."""
        previous, self._current_plugin = self._current_plugin, plugin
        try:
            yield self
        finally:
            self._current_plugin = previous

    def add(self, cls: type) -> type:
        """Register ``cls`` under ``cls.name``; return it (usable as a decorator).

        Raises
        ------
        RegistryError
            If ``cls`` is not a subclass of the base, lacks a required attribute, has an
            invalid name, or the name is already taken.
        """
        if not isinstance(cls, type) or not issubclass(cls, self.base):
            raise RegistryError(
                f"{self.kind} registry: {cls!r} (from plugin {self._current_plugin!r}) "
                f"is not a subclass of {self.base.__module__}.{self.base.__qualname__}"
            )
        for attr in self.required_attributes:
            if not getattr(cls, attr, None):
                raise RegistryError(
                    f"{self.kind} registry: {cls.__qualname__} (from plugin {self._current_plugin!r}) "
                    f"does not define the class attribute {attr!r}"
                )
        name = cls.name
        if not _NAME_RE.match(name):
            raise RegistryError(
                f"{self.kind} registry: name {name!r} of {cls.__qualname__} must be lower-case "
                "letters, digits, '-' or '_', starting with a letter"
            )
        if name in self._entries:
            previous = self._entries[name]
            raise RegistryError(
                f"{self.kind} {name!r} is registered twice: by plugin {previous.plugin!r} "
                f"({previous.cls.__module__}.{previous.cls.__qualname__}) and by plugin "
                f"{self._current_plugin!r} ({cls.__module__}.{cls.__qualname__})"
            )
        self._entries[name] = RegisteredClass(name, cls, self._current_plugin)
        return cls

    def get(self, name: str) -> type:
        """Return the class registered as ``name``.

        Raises
        ------
        RegistryError
            Listing the registered names when ``name`` is unknown.
        """
        try:
            return self._entries[name].cls
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise RegistryError(f"no {self.kind} named {name!r}; registered: {known}") from None

    def entry(self, name: str) -> RegisteredClass:
        """Return the full :class:`RegisteredClass` record for ``name``."""
        self.get(name)
        return self._entries[name]

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def entries(self) -> list[RegisteredClass]:
        """All records, sorted by name."""
        return [self._entries[n] for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self):
        return iter(self.names())

    def __repr__(self) -> str:
        return f"<Registry {self.kind}: {', '.join(self.names())}>"


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
    # One plugin at a time, so that the registry can name the plugin responsible for a
    # duplicate or an invalid class; each call goes through pluggy (tracing, monitoring).
    plugins = pm.get_plugins()
    for impl in reversed(getattr(pm.hook, hook_name).get_hookimpls()):
        caller = pm.subset_hook_caller(hook_name, remove_plugins=[p for p in plugins if p is not impl.plugin])
        with registry.registering_for(pm.get_name(impl.plugin) or repr(impl.plugin)):
            caller(registry=registry)
    return registry


def build_registries(pm: pluggy.PluginManager) -> Registries:
    """Ask every plugin to register its classes; return the filled registries.

    Raises
    ------
    RegistryError
        On a duplicate name or an invalid class, naming the plugin.
    """
    return Registries(
        sources=_fill(pm, "galflow_register_sources", Registry("source", DataSource, ("name", "survey"))),
        encoders=_fill(pm, "galflow_register_encoders", Registry("encoder", Encoder, ("name", "input_kind"))),
        heads=_fill(pm, "galflow_register_heads", Registry("head", PosteriorHead)),
        backends=_fill(pm, "galflow_register_backends", Registry("backend", Backend)),
    )
