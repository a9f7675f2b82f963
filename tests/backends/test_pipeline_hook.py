"""The backends as the run uses them: through the full plugin manager."""

import pytest
import torch

from astro_galflow.backends.selection import describe_backend
from astro_galflow.config import GalflowConfig
from astro_galflow.plugins import get_plugin_manager
from astro_galflow.run import InferenceRun

from .conftest import assert_parity


class _Model:
    """The part of GalflowModel that the run's compile step uses (a photometry-only model)."""

    requires_cutouts = False
    preferred_backends = ("onnxruntime", "eager")
    photometry_bands = ()

    def __init__(self, sampler):
        self._sampler = sampler

    def samplers(self):
        return {"joint": self._sampler}

    def image_encoder(self):
        return None


@pytest.mark.parametrize("backend", ["auto", "onnxruntime"])
def test_run_compiles_samplers_through_the_hook(small_flow, backend):
    sampler = small_flow.module
    sampler.example_inputs = lambda batch_size=8, n_samples=16: small_flow.inputs(batch_size, n_samples)
    config = GalflowConfig(backend=backend, batch_size=4, n_samples=8, backend_settings={"threads": 1})
    with InferenceRun(config, pm=get_plugin_manager(load_entrypoints=False), model=_Model(sampler)) as run:
        compiled = run.compiled
    context, eps = small_flow.inputs(6, 8, seed=4)
    with torch.inference_mode():
        expected = sampler(context, eps)
        got = compiled["joint"](context, eps)
    assert_parity(got, expected)
    meta = describe_backend(config, compiled["joint"])
    assert meta["name"] == "onnxruntime" and meta["requested"] == backend
    assert set(meta["versions"]) >= {"onnxruntime", "torch"}
