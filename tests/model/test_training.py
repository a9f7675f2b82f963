"""Training smoke tests on tiny catalogs: CLI, model bundles, resume, ensembles, images."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.table import QTable

from astro_galflow.cli import main
from astro_galflow.exceptions import InputError, ModelError
from astro_galflow.flags import PosteriorFlag
from astro_galflow.models import available_models, load_model
from astro_galflow.training.flow_stage import train_flows
from astro_galflow.training.vae_stage import train_vae

TINY = {"context_dim": 16, "n_couplings": 2, "flow_hidden": 8}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    from .conftest import _write_catalog

    return _write_catalog(tmp_path_factory.mktemp("catalog"), 120, cutouts=True)


def test_cli_gaussian_baseline_end_to_end(catalog, tmp_path, capsys):
    out = tmp_path / "baseline"
    code = main(["train", "flows", str(catalog), "--photometry-only", "--head", "gaussian", "--out", str(out),
                 "--epochs", "3", "--parameters", "redshift,log_mstar", "--quiet"])  # fmt: skip
    assert code == 0
    card = json.loads((out / "card.json").read_text())
    assert card["architecture"]["head"] == "gaussian"
    assert card["architecture"]["parameters"] == ["log_mstar", "redshift"]
    assert card["training"]["command"].startswith("galflow train flows")
    assert set(card["metrics"]["validation"]) == {"log_mstar", "redshift"}
    model = load_model(out)
    table = QTable.read(catalog)[:10]
    post = model.posterior_samples(table, n_samples=32, seed=3)
    assert set(post.samples) == {"log_mstar", "redshift"}
    assert all(s.shape == (10, 32) and s.dtype == np.float32 for s in post.samples.values())
    again = model.posterior_samples(table, n_samples=32, seed=3)
    np.testing.assert_array_equal(again.samples["redshift"], post.samples["redshift"])
    other = model.posterior_samples(table, n_samples=32, seed=4)
    assert not np.array_equal(other.samples["redshift"], post.samples["redshift"])
    assert post.flags.dtype == np.int64 and post.flags.shape == (10,)


def test_cli_usage_errors(catalog, tmp_path, capsys):
    assert main(["train", "flows", str(catalog), "--out", str(tmp_path / "m")]) == 2
    assert "--vae" in capsys.readouterr().err
    assert (
        main(
            ["train", "flows", str(catalog), "--photometry-only", "--parameters", "mass", "--out", str(tmp_path / "m")]
        )
        == 2
    )
    assert "mass" in capsys.readouterr().err
    assert (
        main(["train", "flows", str(tmp_path / "missing.ecsv"), "--photometry-only", "--out", str(tmp_path / "m")]) == 2
    )
    assert "missing.ecsv" in capsys.readouterr().err


def test_flow_ensemble_physical_samples_and_uncertainty_columns(catalog, tmp_path):
    card = train_flows(catalog, tmp_path / "ens", ensemble=2, epochs=2, architecture=TINY, log=lambda line: None)
    assert len(card["metrics"]["members"]) == 2
    model = load_model(tmp_path / "ens")
    assert model.parameters[:4] == ("log_mstar", "log_sfr", "redshift", "log_mbh")
    table = QTable.read(catalog)[:8]
    post = model.posterior_samples(table, n_samples=20, seed=0)
    assert (post.samples["flux_halpha"] > -1).all()  # log1p space mapped back to fluxes
    for p in model.parameters:
        total = post.samples[p].astype(np.float64).var(axis=1)
        ale, epi = post.columns[f"{p}_std_aleatoric"], post.columns[f"{p}_std_epistemic"]
        np.testing.assert_allclose(ale.astype(np.float64) ** 2 + epi.astype(np.float64) ** 2, total, rtol=1e-3)
    prob = post.columns["oh_12_detectable_probability"]
    assert prob.shape == (8,) and ((prob >= 0) & (prob <= 1)).all()
    sampler = model.samplers()["joint"]
    assert set(model.samplers()) == {"joint"}
    features, eps = sampler.example_inputs(3, 4)
    assert sampler(features, eps).shape == (3, 4, len(model.parameters))


def test_outside_training_domain_is_flagged(catalog, tmp_path):
    train_flows(catalog, tmp_path / "m", head="gaussian", parameters=["redshift"], epochs=1, log=lambda line: None)
    model = load_model(tmp_path / "m")
    table = QTable.read(catalog)[:3]
    table["mag_r"][1] = table["mag_r"][1] + 8 * table["mag_r"].unit
    flags = model.posterior_samples(table, n_samples=4, seed=0).flags
    assert list(flags & PosteriorFlag.OUTSIDE_TRAINING_DOMAIN) == [0, PosteriorFlag.OUTSIDE_TRAINING_DOMAIN, 0]


def test_resume_continues_from_checkpoint(catalog, tmp_path):
    lines = []
    train_flows(
        catalog, tmp_path / "r", parameters=["redshift"], epochs=2, patience=5, architecture=TINY, log=lines.append
    )
    card = train_flows(catalog, tmp_path / "r", parameters=["redshift"], epochs=4, patience=5, architecture=TINY,
                       resume=True, log=lines.append)  # fmt: skip
    assert any("resuming after epoch 2" in line for line in lines)
    history = card["metrics"]["members"][0]["history"]
    assert [h["epoch"] for h in history] == [0, 1, 2, 3]


def test_early_stopping_stops(catalog, tmp_path):
    card = train_flows(catalog, tmp_path / "e", parameters=["redshift"], epochs=50, patience=0, lr=0.0,
                       architecture=TINY, log=lambda line: None)  # fmt: skip
    member = card["metrics"]["members"][0]
    assert member["stopped_early"] and member["epochs_run"] == 2


def test_sha256_mismatch_refuses_to_load(catalog, tmp_path):
    train_flows(catalog, tmp_path / "m", head="gaussian", parameters=["redshift"], epochs=1, log=lambda line: None)
    load_model(tmp_path / "m")
    weights = tmp_path / "m" / "member_0.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256"):
        load_model(tmp_path / "m")


def test_unknown_model_name():
    with pytest.raises(ModelError, match="no model"):
        load_model("no-such-model")
    assert isinstance(available_models(), list)


def test_image_model_vae_then_flows(catalog, tmp_path):
    vae_card = train_vae(
        catalog, tmp_path / "vae", epochs=1, batch_size=16, max_val=8, channels=(4, 4, 4), log=lambda line: None
    )
    assert vae_card["image"]["bands"] == ["g", "r", "i"]
    card = train_flows(catalog, tmp_path / "img", vae_dir=tmp_path / "vae", parameters=["redshift", "log_mstar"],
                       epochs=1, architecture=TINY, log=lambda line: None)  # fmt: skip
    assert card["features"]["names"][:2] == ["mu_0", "mu_1"] and len(card["features"]["names"]) == 64 + 9
    model = load_model(tmp_path / "img")
    assert model.requires_cutouts and model.image_bands == ("g", "r", "i")
    assert model.pixel_scale.to_value("arcsec") == pytest.approx(0.396)
    table = QTable.read(catalog)[:4]
    cutouts = np.load(catalog.with_name("train.cutouts.npy"), mmap_mode="r")[:4]
    post = model.posterior_samples(table, cutouts, n_samples=5, seed=1)
    assert post.samples["redshift"].shape == (4, 5)
    with pytest.raises(InputError, match="cutouts"):
        model.posterior_samples(table, None, n_samples=5, seed=1)
    with pytest.raises(InputError, match="shape"):
        model.posterior_samples(table, cutouts[:, :2], n_samples=5, seed=1)


def test_heartbeat_reports_long_passes_only():
    from astro_galflow.training.loop import Heartbeat

    lines = []
    quiet = Heartbeat(lines.append, "[vae] epoch 1 training cutouts", 100)
    quiet.update(50)
    assert lines == []  # a pass shorter than `every` seconds prints nothing
    beat = Heartbeat(lines.append, "[vae] epoch 1 training cutouts", 100, every=0.0)
    beat.update(25)
    beat.update(25)
    assert lines[0].startswith("[vae] epoch 1 training cutouts: 25/100 (25 %)")
    assert lines[1].startswith("[vae] epoch 1 training cutouts: 50/100 (50 %)")
