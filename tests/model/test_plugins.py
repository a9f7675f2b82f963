"""The built-in encoder and head plugins: cheap to import, register their classes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import torch

from astro_galflow.encoders import plugin as encoders_plugin
from astro_galflow.encoders.base import Encoder
from astro_galflow.encoders.photometry import PhotometryEncoder, photometry_feature_names
from astro_galflow.registry import Registry
from astro_galflow.testing import make_input_table


def test_plugin_modules_do_not_import_torch():
    code = (
        "import sys, astro_galflow.heads.plugin, astro_galflow.encoders.plugin; sys.exit(int('torch' in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_encoders_registered():
    registry = Registry("encoder", Encoder, ("name", "input_kind"))
    encoders_plugin.galflow_register_encoders(registry=registry)
    assert registry.names() == ["photometry", "vae"]
    assert registry.get("vae").input_kind == "image"


def test_photometry_encoder_standardises_colours_and_magnitudes():
    table = make_input_table(50, seed=4)
    enc = PhotometryEncoder(with_errors=True)
    raw = enc.table_features(table)
    assert raw.shape == (50, len(photometry_feature_names(with_errors=True))) == (50, 14)
    np.testing.assert_allclose(raw[:, 0], (table["mag_u"] - table["mag_g"]).value, rtol=1e-6)
    enc.fit(raw)
    z = enc(torch.from_numpy(raw)).numpy()
    np.testing.assert_allclose(z[:, :9].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(z[:, :9].std(axis=0), 1, atol=1e-4)
