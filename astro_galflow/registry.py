"""Validating registries of sources, encoders, heads and backends.

Plugins fill them from the ``galflow_register_*`` hooks (tox's ``register.py`` style):
the hook receives a :class:`Registry` whose :meth:`Registry.add` checks the class and
refuses duplicates, so a mistake surfaces at registration with the plugin named, not
later deep in a run.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass

from astro_galflow.exceptions import GalflowError

__all__ = ["Registry", "RegistryError", "RegisteredClass"]

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
