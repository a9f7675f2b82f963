"""Cutout arrays: on-disk layout, validation and the image scaling the encoders see.

Cutouts live beside their catalog as one ``.npy`` file of float32 with shape
``(n, n_bands, 160, 160)``, opened memory-mapped so that a 50k-galaxy training set
(15 GB) never has to fit in RAM. The catalog's ``cutout_index`` column gives the row of
each galaxy's cutout; ``meta["cutouts_file"]`` names the file relative to the catalog.

Pixel values are calibrated fluxes in nanomaggies per pixel (SDSS's linear flux unit;
22.5 - 2.5 log10(f) is the AB magnitude). The network sees :func:`asinh_scale` of them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from astro_galflow.exceptions import InputError

__all__ = [
    "CUTOUT_SIZE",
    "ASINH_SOFTENING",
    "open_cutouts",
    "create_cutouts",
    "bad_cutout_mask",
    "asinh_scale",
    "cutouts_path_for",
]

CUTOUT_SIZE = 160

#: Softening of :func:`asinh_scale` in nanomaggies per pixel: about the SDSS r-band sky
#: noise per pixel, so noise maps to ~unit scale and galaxy cores are compressed.
ASINH_SOFTENING = 0.02


def cutouts_path_for(catalog_path) -> Path:
    """Default cutouts file beside ``catalog_path`` (``cat.fits`` -> ``cat.cutouts.npy``)."""
    catalog_path = Path(catalog_path)
    return catalog_path.with_name(catalog_path.name.split(".")[0] + ".cutouts.npy")


def create_cutouts(path, n: int, n_bands: int = 3, size: int = CUTOUT_SIZE) -> np.memmap:
    """Create a writable float32 cutouts file of ``n`` images, memory-mapped."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, n_bands, size, size))


def open_cutouts(path, *, n_bands: int | None = None, size: int = CUTOUT_SIZE) -> np.ndarray:
    """Open a cutouts file read-only and memory-mapped, checking its shape.

    Raises
    ------
    InputError
        Naming the file when it is missing, not a regular file, unreadable, truncated or
        of the wrong shape.
    """
    from astro_galflow.safe_files import regular_file

    # no size limit: np.load checks the file holds what its header declares
    path = regular_file(path, what="cutouts file")
    try:
        arr = np.load(path, mmap_mode="r")
    except (ValueError, OSError) as exc:
        raise InputError(f"cutouts file {os.fspath(path)!r} cannot be read: {exc}") from exc
    if arr.ndim != 4 or arr.shape[-2:] != (size, size) or (n_bands is not None and arr.shape[1] != n_bands):
        want = f"(n, {n_bands if n_bands is not None else 'bands'}, {size}, {size})"
        raise InputError(f"cutouts file {os.fspath(path)!r} has shape {arr.shape}; expected {want}")
    return arr


def bad_cutout_mask(images: np.ndarray) -> np.ndarray:
    """True for images that cannot be encoded: any non-finite pixel, or a constant band.

    Parameters
    ----------
    images : numpy.ndarray, shape (n, bands, h, w)
    """
    images = np.asarray(images)
    if images.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    flat = images.reshape(images.shape[0], images.shape[1], -1)
    # Two reductions, no temporaries: a NaN pixel makes its band's max and min NaN, an
    # infinite one makes the max +inf or the min -inf, so a non-finite extreme marks
    # every image with a non-finite pixel (an isfinite mask and masked copies cost 3x).
    highest = flat.max(axis=2)
    lowest = flat.min(axis=2)
    nonfinite = ~(np.isfinite(highest) & np.isfinite(lowest)).all(axis=1)
    with np.errstate(invalid="ignore"):
        constant = (highest <= lowest).any(axis=1)
    return nonfinite | constant


def asinh_scale(images: np.ndarray, softening: float = ASINH_SOFTENING) -> np.ndarray:
    """Per-pixel ``asinh(f / softening)``: linear in the noise, logarithmic in bright cores.

    Lupton et al. (1999, AJ 118, 1406) ``asinh`` magnitudes motivate it: it keeps the
    sky noise and the galaxy core on one float32 scale a network can learn from.
    """
    return np.arcsinh(np.asarray(images, dtype=np.float32) / np.float32(softening))
