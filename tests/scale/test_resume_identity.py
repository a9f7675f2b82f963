"""Issue 15: a resume never mixes models, calibrations, inputs or settings; the refusal names the flag."""

from __future__ import annotations

import json
import shutil

import pytest
from safetensors.torch import load_file, save_file

from astro_galflow.config import GalflowConfig
from astro_galflow.exceptions import GalflowError, InputError
from astro_galflow.model_card import sha256_of
from astro_galflow.models import load_model
from astro_galflow.run import InferenceRun
from astro_galflow.scale.stream import stream_infer
from astro_galflow.testing.tables import make_input_table


def _crash_at(monkeypatch, row):
    """Make the run fail on the batch whose first row is catalog row ``row`` (source_id ``row + 1``)."""
    real = InferenceRun._draw_batch

    def failing(self, table, *args, **kwargs):
        if int(table["source_id"][0]) == row + 1:
            raise GalflowError("simulated crash")
        return real(self, table, *args, **kwargs)

    monkeypatch.setattr(InferenceRun, "_draw_batch", failing)
    return real


def _replace_weights(directory):
    """Model B in model A's directory: member 0 scaled, its card hash updated (a valid model)."""
    path = directory / "member_0.safetensors"
    state = {k: v * 1.5 if v.is_floating_point() else v for k, v in load_file(path).items()}
    save_file(state, path)
    card = json.loads((directory / "card.json").read_text())
    card["sha256"]["member_0.safetensors"] = sha256_of(path)
    (directory / "card.json").write_text(json.dumps(card))


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("weights", "--model (its weights)"),
        ("calibration", "--no-calibration"),
        ("input", "input catalog"),
        ("n_samples", "--n-samples"),
        ("backend", "--backend"),
    ],
)
def test_resume_under_any_difference_is_refused_naming_it(
    tmp_path, tiny_model_dir, scale_pm, monkeypatch, change, named
):
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_dir, ignore=shutil.ignore_patterns("checkpoints"))
    catalog = tmp_path / "cat.parquet"
    make_input_table(300, seed=2).write(catalog)
    out = tmp_path / "post.parquet"
    config = GalflowConfig(model=str(model_dir), n_samples=16, seed=3, batch_size=64, backend="eager")
    real = _crash_at(monkeypatch, 128)
    with pytest.raises(GalflowError, match="simulated crash"):
        stream_infer(catalog, out, config=config, chunk_rows=128, progress=False, pm=scale_pm)
    monkeypatch.setattr(InferenceRun, "_draw_batch", real)

    if change == "weights":
        _replace_weights(model_dir)  # same --model string, other weights
    elif change == "calibration":
        config = GalflowConfig(**{**config.__dict__, "calibrate": False})
    elif change == "input":
        make_input_table(300, seed=9).write(catalog, overwrite=True)
    elif change == "n_samples":
        config = GalflowConfig(**{**config.__dict__, "n_samples": 32})
    else:
        config = GalflowConfig(**{**config.__dict__, "backend": "auto"})
    with pytest.raises(InputError) as info:
        stream_infer(catalog, out, config=config, chunk_rows=128, resume=True, progress=False, pm=scale_pm)
    message = str(info.value)
    assert named in message and "--overwrite" in message and "=True" not in message
    assert "\n" not in message
    assert not out.exists()


def test_same_run_resumes_with_a_reloaded_model(tmp_path, tiny_model_dir, scale_pm, monkeypatch):
    catalog = tmp_path / "cat.parquet"
    make_input_table(300, seed=2).write(catalog)
    out = tmp_path / "post.parquet"
    config = GalflowConfig(model=str(tiny_model_dir), n_samples=16, seed=3, batch_size=64, backend="eager")
    real = _crash_at(monkeypatch, 128)
    with pytest.raises(GalflowError):
        stream_infer(catalog, out, config=config, chunk_rows=128, progress=False, pm=scale_pm)
    monkeypatch.setattr(InferenceRun, "_draw_batch", real)
    stream_infer(
        catalog,
        out,
        config=config,
        chunk_rows=128,
        resume=True,
        progress=False,
        pm=scale_pm,
        model=load_model(tiny_model_dir),
    )
    assert out.exists()
