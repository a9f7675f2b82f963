"""The backends as the pipeline uses them: through the full plugin manager."""

import pytest
import torch

from astro_galflow.backends.selection import describe_backend
from astro_galflow.config import GalflowConfig
from astro_galflow.pipeline import compile_samplers
from astro_galflow.plugins import get_plugin_manager

from .conftest import assert_parity


class _Model:
    """The part of GalflowModel that compile_samplers uses (a photometry-only model)."""

    requires_cutouts = False

    def __init__(self, sampler):
        self._sampler = sampler

    def samplers(self):
        return {"joint": self._sampler}


@pytest.mark.parametrize("backend", ["auto", "onnxruntime"])
def test_compile_samplers_parity_and_meta(small_flow, backend):
    sampler = small_flow.module
    sampler.example_inputs = lambda batch_size=8, n_samples=16: small_flow.inputs(batch_size, n_samples)
    config = GalflowConfig(backend=backend, batch_size=4, n_samples=8, options={"backends": {"threads": 1}})
    compiled = compile_samplers(_Model(sampler), config=config, pm=get_plugin_manager(load_entrypoints=False))
    context, eps = small_flow.inputs(6, 8, seed=4)
    with torch.inference_mode():
        expected = sampler(context, eps)
        got = compiled["joint"](context, eps)
    assert_parity(got, expected)
    meta = describe_backend(config, compiled["joint"])
    assert meta["name"] == "onnxruntime" and meta["requested"] == backend
    assert set(meta["versions"]) >= {"onnxruntime", "torch"}
