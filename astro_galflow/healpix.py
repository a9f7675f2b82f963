"""``_healpix_29``: the HATS/LSDB spatial index (HEALPix NESTED, order 29), via healpy.

Pure functions only. A pixel at a coarser order ``k`` is ``index >> (2 * (29 - k))``.
The values equal what :func:`hats.pixel_math.spatial_index.compute_spatial_index`
returns for the same positions (tested), so posterior tables join HATS catalogs as is.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SPATIAL_INDEX_COLUMN",
    "SPATIAL_INDEX_ORDER",
    "INVALID_INDEX",
    "compute_healpix_29",
    "healpix_29_to_order",
    "healpix_29_to_radec",
]

SPATIAL_INDEX_COLUMN = "_healpix_29"
SPATIAL_INDEX_ORDER = 29
#: Index written for rows whose position is missing or invalid (flagged ``BAD_POSITION``).
INVALID_INDEX = -1


def compute_healpix_29(ra_deg, dec_deg) -> np.ndarray:
    """NESTED order-29 HEALPix index of each position.

    Parameters
    ----------
    ra_deg, dec_deg : array-like
        ICRS right ascension and declination in degrees.

    Returns
    -------
    numpy.ndarray of int64
        :data:`INVALID_INDEX` where a coordinate is not finite or ``|dec| > 90``.
    """
    import healpy as hp

    ra = np.atleast_1d(np.asarray(ra_deg, dtype=np.float64))
    dec = np.atleast_1d(np.asarray(dec_deg, dtype=np.float64))
    if ra.shape != dec.shape:
        raise ValueError(f"ra and dec must have the same shape, got {ra.shape} and {dec.shape}")
    valid = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90.0)
    out = np.full(ra.shape, INVALID_INDEX, dtype=np.int64)
    if valid.any():
        nside = 1 << SPATIAL_INDEX_ORDER
        out[valid] = hp.ang2pix(nside, np.mod(ra[valid], 360.0), dec[valid], nest=True, lonlat=True)
    return out


def healpix_29_to_order(index, order: int) -> np.ndarray:
    """NESTED pixel at ``order`` (0-29) containing each order-29 index (-1 stays -1)."""
    if not 0 <= order <= SPATIAL_INDEX_ORDER:
        raise ValueError(f"order must be in 0..{SPATIAL_INDEX_ORDER}, got {order}")
    index = np.asarray(index, dtype=np.int64)
    return np.where(index < 0, INVALID_INDEX, index >> (2 * (SPATIAL_INDEX_ORDER - order)))


def healpix_29_to_radec(index) -> tuple[np.ndarray, np.ndarray]:
    """Centre (ra, dec) in degrees of each order-29 pixel."""
    import healpy as hp

    ra, dec = hp.pix2ang(1 << SPATIAL_INDEX_ORDER, np.asarray(index, dtype=np.int64), nest=True, lonlat=True)
    return ra, dec
