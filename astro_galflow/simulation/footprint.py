"""Sky footprint of the simulated survey: a RA/Dec box, sampled uniformly on the sphere."""

from __future__ import annotations

import numpy as np

from astro_galflow.exceptions import InputError

__all__ = ["DEFAULT_FOOTPRINT", "check_footprint", "sample_positions"]

#: RA 148-152 deg, Dec 0.2-4.2 deg: a 16 deg^2 patch around the COSMOS field, inside SDSS.
DEFAULT_FOOTPRINT = (148.0, 152.0, 0.2, 4.2)


def check_footprint(footprint) -> tuple[float, float, float, float]:
    """Validate ``(ra_min, ra_max, dec_min, dec_max)`` in degrees and return it as floats.

    Raises
    ------
    InputError
        If it does not have four finite values, ``ra_min >= ra_max``, ``dec_min >= dec_max``,
        RA is outside [0, 360] or Dec outside [-90, 90].
    """
    if footprint is None:
        return DEFAULT_FOOTPRINT
    try:
        values = tuple(float(v) for v in footprint)
    except (TypeError, ValueError):
        raise InputError(f"footprint {footprint!r} must be four numbers (ra_min, ra_max, dec_min, dec_max)") from None
    if len(values) != 4 or not np.all(np.isfinite(values)):
        raise InputError(f"footprint {footprint!r} must be four finite numbers (ra_min, ra_max, dec_min, dec_max)")
    ra0, ra1, dec0, dec1 = values
    if not (0.0 <= ra0 < ra1 <= 360.0):
        raise InputError(f"footprint RA range [{ra0}, {ra1}] must satisfy 0 <= ra_min < ra_max <= 360")
    if not (-90.0 <= dec0 < dec1 <= 90.0):
        raise InputError(f"footprint Dec range [{dec0}, {dec1}] must satisfy -90 <= dec_min < dec_max <= 90")
    return values


def sample_positions(rng, n: int, footprint) -> tuple[np.ndarray, np.ndarray]:
    """``n`` (ra, dec) in degrees, uniform per unit solid angle inside ``footprint``."""
    ra0, ra1, dec0, dec1 = check_footprint(footprint)
    ra = rng.uniform(ra0, ra1, n)
    sin_dec = rng.uniform(np.sin(np.radians(dec0)), np.sin(np.radians(dec1)), n)
    return ra, np.degrees(np.arcsin(sin_dec))
