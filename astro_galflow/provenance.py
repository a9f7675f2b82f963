"""Built-in ``galflow_provenance``: library versions for the table meta."""

from __future__ import annotations

import platform
from importlib import metadata

from astro_galflow.plugins import hookimpl

__all__ = ["library_versions"]

_LIBRARIES = ("astro_galflow", "numpy", "astropy", "healpy", "pluggy", "torch", "safetensors")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a posterior table depends on."""
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@hookimpl
def galflow_provenance(config):
    """Versions of Python and the core libraries, and the platform."""
    return {"versions": library_versions(), "platform": f"{platform.system()}-{platform.machine()}"}
