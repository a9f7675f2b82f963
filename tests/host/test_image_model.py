"""The shipped image model through the pipeline: aligned cutouts, bad cutouts flagged, batching."""

import numpy as np
import pytest

from astro_galflow.config import GalflowConfig
from astro_galflow.exceptions import InputError
from astro_galflow.flags import PosteriorFlag
from astro_galflow.models import load_model
from astro_galflow.pipeline import infer_table
from astro_galflow.plugins import get_plugin_manager
from astro_galflow.sources.simulated import SimulatedSource
from astro_galflow.table import validate_posterior_table


@pytest.fixture(scope="module")
def rendered():
    catalog = SimulatedSource(seed=11).simulate(24)
    table = catalog.table.copy()
    table.remove_column("cutout_index")
    return table, np.array(catalog.cutouts)


def test_sim_default_with_aligned_cutouts_across_batches(rendered):
    table, cutouts = rendered
    cutouts[3] = np.nan
    cutouts[5, 1] = 0.0
    config = GalflowConfig(model="sim-default", n_samples=32, batch_size=8, backend="eager")
    out = infer_table(table, cutouts, config=config, pm=get_plugin_manager(load_entrypoints=False))
    validate_posterior_table(out)
    assert len(out) == 24
    flags = np.asarray(out["posterior_flags"])
    for row in (3, 5):
        assert flags[row] & PosteriorFlag.BAD_CUTOUT and flags[row] & PosteriorFlag.NO_POSTERIOR
    good = np.ones(24, bool)
    good[[3, 5]] = False
    assert np.isfinite(out["log_mstar_mean"].value[good]).all()
    assert out.meta["model_sha256"]["vae.safetensors"] == load_model("sim-default").card["sha256"]["vae.safetensors"]
    # the encoder is compiled through galflow_compile_head too, and the meta says what ran it
    assert out.meta["encoder_backend"]["name"] == "eager" and out.meta["encoder_backend"]["requested"] == "eager"


def test_misaligned_cutouts_are_refused(rendered):
    table, cutouts = rendered
    with pytest.raises(InputError, match="24 rows and no cutout_index column, but there are 10 cutouts"):
        infer_table(table, cutouts[:10], config=GalflowConfig(model="sim-default", n_samples=8, backend="eager"))


def test_tampered_weights_refuse_to_load(tmp_path):
    import shutil

    from astro_galflow.exceptions import ModelError
    from astro_galflow.models import MODELS_DIR

    copy = tmp_path / "sim-photometry"
    shutil.copytree(MODELS_DIR / "sim-photometry", copy)
    weights = copy / "member_0.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256"):
        load_model(copy)


def test_float16_cutouts_give_the_float32_posteriors(rendered):
    """Half-precision cutout files halve what a run reads from disk (issue 14); the shipped
    model's posteriors move by a small fraction of their width (the encoder computes in fp32)."""
    table, cutouts = rendered
    config = GalflowConfig(model="sim-default", n_samples=400, batch_size=16)
    pm = get_plugin_manager(load_entrypoints=False)
    full = infer_table(table, cutouts, config=config, pm=pm)
    half = infer_table(table, cutouts.astype(np.float16), config=config, pm=pm)
    np.testing.assert_array_equal(half["posterior_flags"], full["posterior_flags"])
    for name in ("log_mstar", "log_sfr", "redshift", "flux_halpha"):
        width = full[f"{name}_std"].value
        shift = np.abs(half[f"{name}_p50"].value - full[f"{name}_p50"].value) / width
        assert np.nanmax(shift) < 0.01, name
