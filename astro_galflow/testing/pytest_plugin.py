"""pytest fixtures for astro_galflow and its plugins (loaded via the ``pytest11`` entry point).

Like astropy's test helpers keep test runs out of the user's configuration, this plugin
points the ONNX export cache (:mod:`astro_galflow.backends.export_cache`) at a temporary
directory for the whole session, so no test run writes into or reads from the user's cache.
"""

from __future__ import annotations

import pytest

from astro_galflow.testing.tables import make_input_table

__all__ = ["galflow_plugin_manager", "galflow_registries", "galflow_config", "galflow_input_table"]


@pytest.fixture(autouse=True, scope="session")
def _galflow_export_cache_in_tmp(tmp_path_factory):
    import os

    from astro_galflow.backends.export_cache import CACHE_ENV

    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("galflow-cache"))
    yield
    if previous is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = previous


@pytest.fixture
def galflow_plugin_manager(monkeypatch):
    """A fresh plugin manager with the built-in plugins and the installed entry points.

    The ``GALFLOW_*`` plugin environment variables of the calling shell are cleared so
    that tests see a predictable set of plugins.
    """
    from astro_galflow.plugins import get_plugin_manager

    for name in (
        "GALFLOW_DISABLE_PLUGIN_AUTOLOAD",
        "GALFLOW_PLUGINS",
        "GALFLOW_BLOCK_PLUGINS",
        "GALFLOW_TRACE_PLUGINS",
    ):
        monkeypatch.delenv(name, raising=False)
    return get_plugin_manager()


@pytest.fixture
def galflow_registries(galflow_plugin_manager):
    """The validated registries built from :func:`galflow_plugin_manager`."""
    from astro_galflow.registry import build_registries

    return build_registries(galflow_plugin_manager)


@pytest.fixture
def galflow_config():
    """A small run configuration: 64 samples, seed 0, eager backend."""
    from astro_galflow.config import GalflowConfig

    return GalflowConfig(n_samples=64, seed=0, backend="eager", batch_size=32)


@pytest.fixture
def galflow_input_table():
    """A 16-row input table in the host's convention (see :func:`make_input_table`)."""
    return make_input_table(16, seed=0)
