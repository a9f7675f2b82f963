"""A plugin that registers a new head and a new backend can ship a model that uses them: no host change."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from astro_galflow.config import GalflowConfig
from astro_galflow.exceptions import ModelError
from astro_galflow.model_card import CARD_FORMAT
from astro_galflow.models import load_model
from astro_galflow.pipeline import infer_table
from astro_galflow.plugins import get_plugin_manager
from astro_galflow.registry import build_registries
from astro_galflow.testing import make_input_table
from astro_galflow.testing.models import train_tiny_model

from . import extension_plugin


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tiny trained Gaussian model and a copy whose card names the plugin's head and backend."""
    folder = tmp_path_factory.mktemp("extension")
    builtin = train_tiny_model(folder, n_rows=300, architecture={"context_dim": 16})
    extended = folder / "extended"
    shutil.copytree(builtin, extended)
    card = json.loads((extended / "card.json").read_text())
    card["format"] = CARD_FORMAT
    card["architecture"]["heads"] = {"gaussian": "test-wide-gaussian"}
    card["architecture"]["backends"] = ["test-counting"]
    (extended / "card.json").write_text(json.dumps(card))
    return builtin, extended


@pytest.fixture
def pm():
    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(extension_plugin, name="extension-test")
    return pm


def test_model_built_from_the_plugins_names_runs_end_to_end(models, pm):
    builtin, extended = models
    table = make_input_table(30, seed=4)
    extension_plugin.CALLS.clear()
    config = GalflowConfig(model=str(extended), n_samples=400, seed=2)  # backend "auto": the card's choice
    out = infer_table(table, config=config, pm=pm)
    assert out.meta["backend"]["name"] == "test-counting"
    assert sum(extension_plugin.CALLS) == 30
    plain = infer_table(table, config=GalflowConfig(model=str(builtin), n_samples=400, seed=2, backend="eager"), pm=pm)
    # the same weights, the registered head's own sampling: twice the spread, the same centre
    # (on unflagged rows of an unbounded parameter: support truncation and tempering change spreads)
    clean = (np.asarray(out["posterior_flags"]) == 0) & (np.asarray(plain["posterior_flags"]) == 0)
    assert clean.sum() >= 20
    ratio = out["log_mstar_std"].value[clean] / plain["log_mstar_std"].value[clean]
    assert np.all(np.abs(ratio - 2.0) < 0.2)
    scale = plain["log_mstar_std"].value[clean]
    assert np.all(np.abs(out["log_mstar_mean"].value[clean] - plain["log_mstar_mean"].value[clean]) < 0.3 * scale)


def test_a_name_no_plugin_registers_is_refused_with_the_name(models):
    _, extended = models
    registries = build_registries(get_plugin_manager(load_entrypoints=False))
    with pytest.raises(ModelError, match="names head 'test-wide-gaussian', which no installed plugin registers"):
        load_model(extended, registries=registries)


@pytest.mark.parametrize("name", ["sim-default", "sim-photometry", "sdss-photoz"])
def test_shipped_cards_name_their_parts_by_registered_name(name):
    from astro_galflow.model_card import MODELS_DIR

    card = json.loads((MODELS_DIR / name / "card.json").read_text())
    assert card["format"] == CARD_FORMAT
    registries = build_registries(get_plugin_manager(load_entrypoints=False))
    arch = card["architecture"]
    assert (arch["encoder"] is None) == (arch.get("image") is None)
    assert arch["encoder"] is None or arch["encoder"] in registries.encoders
    assert arch["heads"] and all(head in registries.heads for head in arch["heads"].values())
    assert arch["backends"] and all(backend in registries.backends for backend in arch["backends"])
