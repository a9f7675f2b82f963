"""The plugin manager factory, its environment variables, and ``galflow plugins``."""

import json
import subprocess
import sys

import pytest

from astro_galflow import hookimpl
from astro_galflow.plugins import DEFAULT_PLUGINS, get_plugin_manager, list_plugins
from astro_galflow.registry import RegistryError, build_registries
from astro_galflow.sources.base import DataSource

HEAVY = ("torch", "pyvo", "lsdb", "hats", "onnxruntime", "galsim", "matplotlib", "sklearn", "dask")


def _imported_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {name.split(".")[0] for name in json.loads(out.splitlines()[-1])}


def test_import_loads_no_plugin_and_no_heavy_library():
    loaded = _imported_after("import astro_galflow")
    assert not loaded & set(HEAVY)
    assert "galflow_skyserver" not in loaded


def test_building_the_plugin_manager_stays_light():
    # Registering the classes imports torch (encoders and heads are nn.Modules), but
    # loading every built-in and entry-point plugin module must not.
    loaded = _imported_after("from astro_galflow.plugins import get_plugin_manager\nget_plugin_manager()")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_builtins_registered_like_external_plugins(galflow_plugin_manager, galflow_registries):
    names = {name for name, _ in galflow_plugin_manager.list_name_plugin()}
    assert set(DEFAULT_PLUGINS) <= names
    assert "simulated" in galflow_registries.sources
    assert {"sdss", "lsst", "roman"} <= set(galflow_registries.sources)
    assert len(galflow_registries.encoders) and len(galflow_registries.heads) and len(galflow_registries.backends)
    origins = {info.name: info.origin for info in list_plugins(galflow_plugin_manager)}
    assert origins["astro_galflow.sources.simulated"] == "built-in"
    assert origins["skyserver"] == "entry point"


def test_disable_autoload(monkeypatch):
    monkeypatch.setenv("GALFLOW_DISABLE_PLUGIN_AUTOLOAD", "1")
    pm = get_plugin_manager()
    assert pm.get_plugin("skyserver") is None
    assert pm.get_plugin("astro_galflow.sources.simulated") is not None


def test_allow_list(monkeypatch):
    monkeypatch.setenv("GALFLOW_PLUGINS", "not-this-one")
    assert get_plugin_manager().get_plugin("skyserver") is None
    monkeypatch.setenv("GALFLOW_PLUGINS", "skyserver")
    assert get_plugin_manager().get_plugin("skyserver") is not None


def test_block_builtin_and_entry_point(monkeypatch):
    monkeypatch.setenv("GALFLOW_BLOCK_PLUGINS", "skyserver,astro_galflow.sources.roman")
    pm = get_plugin_manager()
    assert pm.get_plugin("skyserver") is None and pm.is_blocked("skyserver")
    assert "roman" not in build_registries(pm).sources


def test_trace(monkeypatch, capsys, galflow_config):
    monkeypatch.setenv("GALFLOW_TRACE_PLUGINS", "1")
    pm = get_plugin_manager(load_entrypoints=False)
    pm.hook.galflow_provenance(config=galflow_config)
    assert "galflow_provenance" in capsys.readouterr().err


def test_duplicate_registration_names_the_plugin():
    class Clash(DataSource):
        name = "simulated"
        survey = "clash"

    class ClashPlugin:
        @hookimpl
        def galflow_register_sources(self, registry):
            registry.add(Clash)

    pm = get_plugin_manager(load_entrypoints=False, plugins=(ClashPlugin(),))
    with pytest.raises(RegistryError, match="registered twice"):
        build_registries(pm)


def test_unknown_hook_in_plugin_is_rejected():
    import pluggy

    class Typo:
        @hookimpl
        def galflow_register_source(self, registry):  # missing "s"
            pass

    with pytest.raises(pluggy.PluginValidationError):
        get_plugin_manager(load_entrypoints=False, plugins=(Typo(),))


def test_galflow_plugins_command(capsys):
    from astro_galflow.cli import main

    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "astro_galflow.sources.simulated" in out and "built-in" in out
    assert "skyserver" in out and "entry point" in out and "galflow-skyserver" in out
    assert main(["plugins", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"plugins", "sources", "encoders", "heads", "backends"} <= set(data)
    assert any(entry["name"] == "skyserver-csv" and entry["plugin"] == "skyserver" for entry in data["sources"])
