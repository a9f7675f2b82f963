"""The image VAE: the paper's shapes, the loss, and the image scaling."""

from __future__ import annotations

import numpy as np
import torch

from astro_galflow.cutouts import asinh_scale
from astro_galflow.encoders.vae import LATENT_DIM, ImageFeatures, ImageVAE, scale_images, vae_loss


def test_paper_architecture_shapes():
    vae = ImageVAE().eval()
    convs = [m for m in vae.conv if isinstance(m, torch.nn.Conv2d)]
    assert [(c.kernel_size, c.stride, c.padding) for c in convs] == [((4, 4), (2, 2), (1, 1))] * 3
    x = torch.randn(2, 3, 160, 160)
    sizes = []
    h = x
    for m in vae.conv:
        h = m(h)
        if isinstance(m, torch.nn.Conv2d):
            sizes.append(h.shape[-1])
    assert sizes == [80, 40, 20]
    mu, logvar = vae.encode(x)
    assert mu.shape == logvar.shape == (2, LATENT_DIM) == (2, 32)
    recon, _, _ = vae(x)
    assert recon.shape == x.shape
    assert vae.features(x).shape == (2, 64)


def test_loss_is_mse_plus_kl():
    x = torch.zeros(1, 3, 4, 4)
    recon = torch.ones(1, 3, 4, 4)
    mu, logvar = torch.zeros(1, 2), torch.zeros(1, 2)
    assert vae_loss(recon, x, mu, logvar).item() == 48.0  # 48 pixels, KL of N(0, I) to itself is 0
    mu = torch.ones(1, 2)
    assert vae_loss(x, x, mu, logvar).item() == 1.0  # KL = 0.5 * sum(mu^2)


def test_scale_images_is_asinh_scale():
    images = np.random.default_rng(0).normal(0, 1, (2, 3, 160, 160)).astype(np.float32)
    np.testing.assert_array_equal(scale_images(images).numpy(), asinh_scale(images))


def test_image_features_module_matches_numpy_scaling():
    torch.manual_seed(0)
    vae = ImageVAE(channels=(4, 4, 4)).eval()
    (cutouts,) = ImageFeatures(vae).example_inputs(3)
    with torch.no_grad():
        got = ImageFeatures(vae)(cutouts)
        want = vae.features(scale_images(cutouts.numpy()))
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert got.shape == (3, 2 * LATENT_DIM)
