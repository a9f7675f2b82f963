"""``galflow models``: what each shipped model needs, infers, weighs and was trained on, from its card."""

from __future__ import annotations

import json

from astro_galflow.cli import main
from astro_galflow.models import MODELS_DIR, available_models, load_model


def test_models_lists_every_shipped_model_from_its_card(capsys):
    assert main(["models", "--json"]) == 0
    entries = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    assert set(entries) == set(available_models()) >= {"sim-default", "sim-photometry", "sdss-photoz"}
    for name, entry in entries.items():
        model = load_model(name)
        assert entry["parameters"] == list(model.parameters)
        assert entry["ensemble"] == model.n_members
        assert entry["size_bytes"] == sum(f.stat().st_size for f in (MODELS_DIR / name).iterdir())
        assert f"{model.card['data']['n_train']:,} train" in entry["trained_on"]
    assert entries["sim-default"]["inputs"] == ["gri cutouts", "ugriz magnitudes"]
    assert entries["sdss-photoz"]["inputs"] == ["ugriz magnitudes + errors"]


def test_models_describes_a_model_directory(tmp_path, capsys):
    import shutil

    copy = tmp_path / "my-model"
    shutil.copytree(MODELS_DIR / "sim-photometry", copy)
    assert main(["models", str(copy)]) == 0
    out = capsys.readouterr().out
    assert f"{copy}  (directory" in out and "sim-default  (shipped" in out
    assert main(["models", str(tmp_path)]) == 2
    assert "no card.json" in capsys.readouterr().err
