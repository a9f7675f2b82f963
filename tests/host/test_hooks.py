"""One test per hook: a plugin implementing it changes what a run does."""

import types

import numpy as np
import pytest

from astro_galflow import hookimpl
from astro_galflow.config import GalflowConfig
from astro_galflow.flags import PosteriorFlag
from astro_galflow.pipeline import infer_table
from astro_galflow.plugins import get_plugin_manager
from astro_galflow.registry import build_registries
from astro_galflow.testing import make_input_table


def _config(**kw):
    return GalflowConfig(**{"n_samples": 16, "seed": 0, "backend": "eager", "batch_size": 32, **kw})


def _pm(*plugins):
    return get_plugin_manager(load_entrypoints=False, plugins=plugins)


def test_hook_galflow_addhooks():
    spec_module = types.ModuleType("extra_specs")
    from astro_galflow.hookspecs import hookspec

    @hookspec
    def galflow_extra(value):
        """An extra hook a plugin adds."""

    spec_module.galflow_extra = galflow_extra

    class Adds:
        @hookimpl
        def galflow_addhooks(self, pluginmanager):
            pluginmanager.add_hookspecs(spec_module)

    class Uses:
        @hookimpl
        def galflow_extra(self, value):
            return value * 2

    pm = _pm(Adds())
    pm.register(Uses())
    assert pm.hook.galflow_extra(value=21) == [42]


def test_hook_galflow_configure(tiny_model):
    seen = []

    class Plugin:
        @hookimpl
        def galflow_configure(self, config):
            seen.append(config.n_samples)

    infer_table(make_input_table(3), config=_config(n_samples=7), pm=_pm(Plugin()), model=tiny_model)
    assert seen == [7]


def _registering(hook_name, cls):
    class Plugin:
        pass

    def impl(self, registry):
        registry.add(cls)

    setattr(Plugin, hook_name, hookimpl(impl))
    return Plugin()


def test_hook_galflow_register_sources():
    from astro_galflow.sources.base import DataSource

    class Extra(DataSource):
        name = "extra-survey"
        survey = "extra"

    regs = build_registries(_pm(_registering("galflow_register_sources", Extra)))
    assert regs.sources.get("extra-survey") is Extra
    assert regs.sources.entry("extra-survey").plugin != "<unknown>"


def test_hook_galflow_register_encoders():
    from astro_galflow.encoders.base import Encoder

    class Extra(Encoder):
        name = "extra-encoder"
        input_kind = "photometry"

    regs = build_registries(_pm(_registering("galflow_register_encoders", Extra)))
    assert regs.encoders.get("extra-encoder") is Extra
    assert {"vae", "photometry"} <= set(regs.encoders)


def test_hook_galflow_register_heads():
    from astro_galflow.heads.base import PosteriorHead

    class Extra(PosteriorHead):
        name = "extra-head"

    regs = build_registries(_pm(_registering("galflow_register_heads", Extra)))
    assert regs.heads.get("extra-head") is Extra and len(regs.heads) > 1


def test_hook_galflow_register_backends():
    from astro_galflow.backends.base import Backend

    class Extra(Backend):
        name = "extra-backend"

    regs = build_registries(_pm(_registering("galflow_register_backends", Extra)))
    assert regs.backends.get("extra-backend") is Extra
    assert {"eager", "onnxruntime"} <= set(regs.backends)


def test_hook_galflow_prepare_inputs(tiny_model):
    class Faint:
        @hookimpl
        def galflow_prepare_inputs(self, table, source, config):
            faint = table["mag_r"].value > 16.0
            table["posterior_flags"][faint] |= int(PosteriorFlag.NONPOSITIVE_FLUX)

    table = make_input_table(12)
    out = infer_table(table, config=_config(), pm=_pm(Faint()), model=tiny_model)
    flagged = (np.asarray(out["posterior_flags"]) & PosteriorFlag.NONPOSITIVE_FLUX) != 0
    np.testing.assert_array_equal(flagged, table["mag_r"].value > 16.0)


def test_hook_galflow_compile_head(tiny_model):
    calls = []

    class Doubling:
        @hookimpl
        def galflow_compile_head(self, head, example_inputs, device, config):
            calls.append(tuple(t.shape for t in example_inputs))

            def sampler(context, eps):
                return head(context, eps)

            return sampler

    table = make_input_table(5)
    ours = infer_table(table, config=_config(), pm=_pm(Doubling()), model=tiny_model)
    eager = infer_table(table, config=_config(), pm=_pm(), model=tiny_model)
    assert calls, "the compile hook was not called"
    np.testing.assert_allclose(ours["redshift_mean"].value, eager["redshift_mean"].value, rtol=1e-6)


def test_hook_galflow_summarize_posterior(tiny_model):
    class Width:
        @hookimpl
        def galflow_summarize_posterior(self, parameter, samples, config):
            lo, hi = np.nanquantile(samples, [0.025, 0.975], axis=1)
            return {"width95": (hi - lo, None, f"{parameter.name}: 95% interval width")}

    out = infer_table(make_input_table(4), config=_config(), pm=_pm(Width()), model=tiny_model)
    for name in tiny_model.parameters:
        assert (out[f"{name}_width95"] > 0).all()
        assert "95%" in out[f"{name}_width95"].info.description


def test_hook_galflow_modify_table(tiny_model):
    class Meta:
        @hookimpl
        def galflow_modify_table(self, table, config):
            table.meta["reprocessing"] = "DR-test"

    out = infer_table(make_input_table(3), config=_config(), pm=_pm(Meta()), model=tiny_model)
    assert out.meta["reprocessing"] == "DR-test"


def test_hook_galflow_provenance(tiny_model):
    class Prov:
        @hookimpl
        def galflow_provenance(self, config):
            return {"my_plugin": {"version": "9.9"}}

    out = infer_table(make_input_table(3), config=_config(), pm=_pm(Prov()), model=tiny_model)
    assert out.meta["provenance"]["my_plugin"] == {"version": "9.9"}
    assert "numpy" in out.meta["provenance"]["versions"]


def test_hook_galflow_unconfigure(tiny_model):
    released = []

    class Engine:
        @hookimpl
        def galflow_unconfigure(self, config):
            released.append(config.seed)

    infer_table(make_input_table(3), config=_config(seed=11), pm=_pm(Engine()), model=tiny_model)
    assert released == [11]


def test_hook_unconfigure_runs_even_when_the_run_fails(tiny_model):
    released = []

    class Engine:
        @hookimpl
        def galflow_unconfigure(self, config):
            released.append(True)

    table = make_input_table(3)
    table.remove_column("ra")
    with pytest.raises(KeyError):
        infer_table(table, config=_config(), pm=_pm(Engine()), model=tiny_model)
    assert released == [True]
