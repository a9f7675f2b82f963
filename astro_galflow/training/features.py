"""Feature matrices of a training catalog: photometry, and VAE latents streamed from cutouts."""

from __future__ import annotations

import numpy as np

from astro_galflow.cutouts import bad_cutout_mask
from astro_galflow.encoders.photometry import photometry_feature_names, table_photometry
from astro_galflow.training.data import catalog_cutouts, iterate_images

__all__ = ["catalog_features", "latent_feature_names"]


def latent_feature_names(latent_dim: int) -> list[str]:
    """Names of the image features ``mu_0.. , sigma_0..``."""
    return [f"mu_{k}" for k in range(latent_dim)] + [f"sigma_{k}" for k in range(latent_dim)]


def catalog_features(table, catalog_path, *, bands, with_errors: bool, vae=None, batch_size: int = 64, log=None):
    """Raw features of every row and their names.

    Parameters
    ----------
    vae : ImageVAE, optional
        Frozen encoder; when given, ``[mu, sigma]`` of each row's cutout (read in
        batches from the memory map) come first. Rows with a bad cutout get NaN.

    Returns
    -------
    features : numpy.ndarray, shape (n, F), float32
    names : list of str
    """
    phot = table_photometry(table, bands, with_errors)
    names = photometry_feature_names(bands, with_errors)
    if vae is None:
        return phot, names
    import torch

    from astro_galflow.encoders.vae import scale_images

    cutouts, index = catalog_cutouts(table, catalog_path)
    latents = np.full((len(table), 2 * vae.latent_dim), np.nan, dtype=np.float32)
    with torch.inference_mode():
        for done, (rows, images) in enumerate(iterate_images(cutouts, index, batch_size)):
            good = ~bad_cutout_mask(images)
            if good.any():
                latents[rows[good]] = vae.features(scale_images(images[good])).numpy()
            if log and done % 20 == 0:
                log(f"encoded {rows[-1] + 1}/{len(table)} cutouts")
    return np.concatenate([latents, phot], axis=1), latent_feature_names(vae.latent_dim) + names
