"""The VAE stage of ``galflow train``: the image VAE on a catalog's cutouts.

Training streams batches from the memory-mapped cutouts file (never loading it whole):
the ``train`` rows of :func:`~astro_galflow.training.data.split_of` are shuffled per epoch
with a seed derived from ``(seed, epoch)``, and the ``val`` rows give the early-stopping
loss. Adam with learning rate 1e-4, as in Siddiqa et al. (2025, §2.2).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from astro_galflow.cutouts import ASINH_SOFTENING, bad_cutout_mask
from astro_galflow.exceptions import InputError
from astro_galflow.model_card import write_card
from astro_galflow.training.data import SPLIT_METHOD, catalog_cutouts, iterate_images, read_catalog, split_of

__all__ = ["train_vae", "VAE_CARD_FORMAT"]

VAE_CARD_FORMAT = "astro_galflow-vae/1"


def train_vae(
    catalog_path,
    out,
    *,
    epochs: int = 30,
    patience: int = 5,
    batch_size: int = 32,
    lr: float = 1e-4,
    seed: int = 0,
    resume: bool = False,
    max_val: int = 2000,
    channels=(32, 64, 128),
    command: str = "",
    log=None,
) -> dict:
    """Train the image VAE and write ``out/vae.safetensors`` + ``out/card.json``; return the card.

    Parameters
    ----------
    max_val : int
        At most this many validation images are used for the early-stopping loss.
    """
    import torch

    from astro_galflow.encoders.vae import ImageVAE, scale_images, vae_loss
    from astro_galflow.model_card import save_weights
    from astro_galflow.training.checkpoints import Checkpoint
    from astro_galflow.training.loop import fit

    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    t_start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = read_catalog(catalog_path)
    cutouts, index = catalog_cutouts(table, catalog_path)
    split = split_of(table)
    train_idx = index[split == "train"]
    val_idx = index[split == "val"][:max_val]
    if len(train_idx) < 1 or len(val_idx) < 1:
        raise InputError(
            f"catalog {os.fspath(catalog_path)!r}: {len(train_idx)} training and {len(val_idx)} validation cutouts; need at least 1 of each"
        )
    torch.manual_seed(seed)
    vae = ImageVAE(cutouts.shape[1], channels=tuple(channels))
    optimizer = torch.optim.Adam(vae.parameters(), lr=lr)
    log(f"VAE: {len(train_idx)} training / {len(val_idx)} validation cutouts from {os.fspath(catalog_path)}")

    def epoch_loss(idx, train: bool):
        total, count = 0.0, 0
        for _, images in iterate_images(cutouts, idx, batch_size):
            images = images[~bad_cutout_mask(images)]
            if not len(images):
                continue
            x = scale_images(images)
            recon, mu, logvar = vae(x)
            loss = vae_loss(recon, x, mu, logvar)
            if train:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            total, count = total + loss.item() * len(x), count + len(x)
        return total / max(count, 1)

    def train_epoch(epoch):
        return epoch_loss(np.random.default_rng([seed, epoch]).permutation(train_idx), True)

    def validate():
        # A fixed generator makes the reparameterised draws, hence the loss, repeatable.
        state = torch.random.get_rng_state()
        torch.manual_seed(seed + 1)
        try:
            return epoch_loss(val_idx, False)
        finally:
            torch.random.set_rng_state(state)

    result = fit(
        vae,
        optimizer,
        train_epoch,
        validate,
        Checkpoint(out / "checkpoints"),
        epochs=epochs,
        patience=patience,
        resume=resume,
        label="[vae] ",
        log=log,
    )
    sha = save_weights(vae, out / "vae.safetensors")
    card = {
        "format": VAE_CARD_FORMAT,
        "architecture": {"n_bands": vae.n_bands, "latent_dim": vae.latent_dim, "channels": list(vae.channels)},
        "image": {
            "bands": list(table.meta.get("image_bands", ("g", "r", "i"))),
            "pixel_scale_arcsec": float(table.meta.get("pixel_scale_arcsec", 0.396)),
            "scaling": f"asinh(f / {ASINH_SOFTENING} nanomaggies) per pixel (astro_galflow.cutouts.asinh_scale)",
        },
        "sha256": {"vae.safetensors": sha},
        "data": {
            "catalog": os.fspath(catalog_path),
            "n_train": int(len(train_idx)),
            "n_val": int(len(val_idx)),
            "split": SPLIT_METHOD,
        },
        "metrics": result,
        "training": {
            "command": command,
            "seed": seed,
            "epochs": epochs,
            "patience": patience,
            "batch_size": batch_size,
            "learning_rate": lr,
            "optimizer": "Adam",
            "loss": "sum-over-pixels squared error + KL(q(z|x) || N(0, I)), batch mean",
            "wall_time_s": round(time.perf_counter() - t_start, 1),
            "torch_version": torch.__version__,
        },
    }
    write_card(out, card)
    log(f"VAE written to {os.fspath(out)} in {card['training']['wall_time_s']} s")
    return card
