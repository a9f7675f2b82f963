"""Built-in plugin registering the image VAE and photometry encoders.

The encoder modules import torch, so they are imported inside the hook: importing this
module (which the plugin manager does at start-up) stays cheap.
"""

from __future__ import annotations

from astro_galflow.plugins import hookimpl


@hookimpl
def galflow_register_encoders(registry):
    """Register the ``vae`` and ``photometry`` encoders."""
    from astro_galflow.encoders.photometry import PhotometryEncoder
    from astro_galflow.encoders.vae import ImageVAE

    registry.add(ImageVAE)
    registry.add(PhotometryEncoder)
