"""The photometry encoder: colours and magnitudes (optionally their errors) as features.

The paper (Siddiqa et al. 2025, §2.3) feeds the observed colours u−g, g−r, r−i, i−z and
the apparent magnitudes to the flows' shared encoder. This encoder turns an input table
(:mod:`astro_galflow.inputs` convention) into that feature matrix and standardises it
with the training set's mean and standard deviation.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from astro_galflow.encoders.base import Encoder
from astro_galflow.inputs import SDSS_BANDS, photometry_features

__all__ = ["PhotometryEncoder", "photometry_feature_names", "table_photometry"]


def photometry_feature_names(bands=SDSS_BANDS, with_errors: bool = False) -> list[str]:
    """Names of the photometric features, in column order."""
    names = [f"{a}-{b}" for a, b in zip(bands[:-1], bands[1:])] + [f"mag_{b}" for b in bands]
    if with_errors:
        names += [f"magerr_{b}" for b in bands]
    return names


def table_photometry(table, bands=SDSS_BANDS, with_errors: bool = False) -> np.ndarray:
    """Raw photometric features ``(n, n_features)`` float32 of an input table."""
    features, errors = photometry_features(table, bands)
    if with_errors:
        features = np.concatenate([features, errors], axis=1)
    return features.astype(np.float32)


class PhotometryEncoder(Encoder, nn.Module):
    """Standardisation of colours + magnitudes (+ errors) with stored training statistics.

    Parameters
    ----------
    bands : tuple of str
        Photometric bands in wavelength order.
    with_errors : bool
        Append the magnitude errors to the features.
    """

    name = "photometry"
    input_kind = "photometry"

    def __init__(self, bands=SDSS_BANDS, with_errors: bool = False):
        super().__init__()
        self.bands, self.with_errors = tuple(bands), with_errors
        n = len(photometry_feature_names(self.bands, with_errors))
        self.register_buffer("mean", torch.zeros(n))
        self.register_buffer("std", torch.ones(n))

    def fit(self, features: np.ndarray) -> PhotometryEncoder:
        """Set the standardisation from raw training features (NaN rows ignored)."""
        self.mean.copy_(torch.from_numpy(np.nanmean(features, axis=0).astype(np.float32)))
        self.std.copy_(torch.from_numpy(np.maximum(np.nanstd(features, axis=0), 1e-6).astype(np.float32)))
        return self

    def table_features(self, table) -> np.ndarray:
        """Raw features of an input table (see :func:`table_photometry`)."""
        return table_photometry(table, self.bands, self.with_errors)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Standardised features."""
        return (features - self.mean) / self.std
