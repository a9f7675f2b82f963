"""The image VAE of Siddiqa et al. (2025, §2.2).

Encoder: three convolutions (kernel 4, stride 2, padding 1) take a 3×160×160 image to
20×20 feature maps, then fully connected layers give the latent mean μ ∈ R³² and log σ².
Decoder: a fully connected layer back to 20×20 maps and three transposed convolutions
to 3×160×160. Loss: squared reconstruction error summed over pixels plus the KL
divergence to N(0, I) summed over latents (Kingma & Welling 2014, arXiv:1312.6114), both
averaged over the batch. After training the encoder is frozen and μ, σ are features of
the flows.

Input images are :func:`astro_galflow.cutouts.asinh_scale` of the nanomaggie cutouts,
``asinh(f / 0.02 nmgy)``: linear in the sky noise, logarithmic in bright cores.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from astro_galflow.cutouts import ASINH_SOFTENING, CUTOUT_SIZE, asinh_scale
from astro_galflow.encoders.base import Encoder

__all__ = ["ImageVAE", "ImageFeatures", "LATENT_DIM", "vae_loss", "scale_images"]

LATENT_DIM = 32


def scale_images(images) -> torch.Tensor:
    """Nanomaggie cutouts ``(n, 3, 160, 160)`` to the VAE's float32 input tensor."""
    return torch.from_numpy(np.ascontiguousarray(asinh_scale(images)))


class ImageVAE(Encoder, nn.Module):
    """Convolutional VAE for asinh-scaled cutouts of shape (``n_bands``, 160, 160).

    Parameters
    ----------
    n_bands : int
        Image channels (3 for gri).
    latent_dim : int
        Dimension of μ and log σ² (32 in the paper).
    channels : tuple of int
        Output channels of the three convolutions.
    """

    name = "vae"
    input_kind = "image"

    def __init__(self, n_bands: int = 3, latent_dim: int = LATENT_DIM, channels: tuple[int, int, int] = (32, 64, 128)):
        super().__init__()
        self.n_bands, self.latent_dim, self.channels = n_bands, latent_dim, tuple(channels)
        c1, c2, c3 = self.channels
        side = CUTOUT_SIZE // 8
        self._side = side
        self.conv = nn.Sequential(
            nn.Conv2d(n_bands, c1, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(c1, c2, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(c2, c3, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Flatten(),
        )  # fmt: skip
        self.fc_mu = nn.Linear(c3 * side * side, latent_dim)
        self.fc_logvar = nn.Linear(c3 * side * side, latent_dim)
        self.fc_decode = nn.Linear(latent_dim, c3 * side * side)
        self.deconv = nn.Sequential(
            nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(c3, c2, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(c2, c1, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(c1, n_bands, 4, 2, 1),
        )  # fmt: skip

    @classmethod
    def for_model(cls, image: dict) -> ImageVAE:
        """The VAE a model card's ``architecture.image`` entry describes (weights not loaded)."""
        return cls(len(image["bands"]), image["latent_dim"], tuple(image["channels"]))

    def feature_module(self) -> ImageFeatures:
        """The pure ``cutouts -> features`` module the run compiles (:class:`ImageFeatures`)."""
        return ImageFeatures(self).eval()

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)``, each ``(n, latent_dim)``, of scaled images ``(n, bands, 160, 160)``."""
        h = self.conv(x)
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Scaled images ``(n, bands, 160, 160)`` from latents ``(n, latent_dim)``."""
        c3 = self.channels[2]
        return self.deconv(self.fc_decode(z).view(-1, c3, self._side, self._side))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(reconstruction, mu, logvar)`` with a reparameterised latent draw."""
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.decode(z), mu, logvar

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The flows' image features ``[mu, sigma]`` ``(n, 2 * latent_dim)``."""
        mu, logvar = self.encode(x)
        return torch.cat([mu, torch.exp(0.5 * logvar)], dim=-1)


def vae_loss(recon: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per-image summed squared error plus KL(q(z|x) || N(0, I)), averaged over the batch."""
    mse = ((recon - x) ** 2).flatten(1).sum(1)
    kl = -0.5 * (1.0 + logvar - mu * mu - torch.exp(logvar)).sum(1)
    return (mse + kl).mean()


class ImageFeatures(nn.Module):
    """Pure ``cutouts -> [mu, sigma]`` module: the scaling and the frozen encoder in one graph.

    Takes nanomaggie cutouts ``(n, bands, 160, 160)`` (what the pipeline holds), applies
    the :func:`~astro_galflow.cutouts.asinh_scale` scaling as a tensor operation and
    returns the flows' image features ``(n, 2 * latent_dim)``; backends may compile it
    like a sampler.
    """

    def __init__(self, vae: ImageVAE, softening: float = ASINH_SOFTENING):
        super().__init__()
        self.vae = vae
        self.softening = float(softening)

    def example_inputs(self, batch_size: int = 4) -> tuple[torch.Tensor]:
        """``(cutouts,)`` of representative shape and scale for tracing/export (fixed seed)."""
        generator = torch.Generator().manual_seed(0)
        shape = (batch_size, self.vae.n_bands, CUTOUT_SIZE, CUTOUT_SIZE)
        return (self.softening * torch.randn(shape, generator=generator),)

    def forward(self, cutouts: torch.Tensor) -> torch.Tensor:
        """Features ``(n, 2 * latent_dim)`` of nanomaggie cutouts."""
        return self.vae.features(torch.asinh(cutouts / self.softening))

    def features(self, cutouts: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`forward`."""
        return self.forward(cutouts)

    def split_preprocessing(self):
        """``(preprocess, module)``: the scaling as a numpy function and the network after it.

        ``module(torch.from_numpy(preprocess(cutouts)))`` equals ``self(cutouts)``. A
        backend that runs a graph (ONNX Runtime) exports ``module`` and applies
        ``preprocess`` on the host: ONNX Runtime's ``Asinh`` kernel is scalar, about
        1.2 ms an image on one core (two thirds of the encoder's time), numpy's
        vectorised ``arcsinh`` about 0.03 ms.
        """
        softening = self.softening

        def preprocess(cutouts: np.ndarray) -> np.ndarray:
            return asinh_scale(cutouts, softening)

        return preprocess, _ScaledImageFeatures(self.vae).eval()


class _ScaledImageFeatures(nn.Module):
    """The features of already scaled images (the graph half of :meth:`ImageFeatures.split_preprocessing`)."""

    def __init__(self, vae: ImageVAE):
        super().__init__()
        self.vae = vae

    def forward(self, scaled: torch.Tensor) -> torch.Tensor:
        return self.vae.features(scaled)
