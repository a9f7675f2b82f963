"""Readers of the real SDSS extracts into the host's input convention, and the real photo-z set.

* :mod:`~astro_galflow.realdata.readers` — one reader per file format in the project's
  ``../shared/data/sdss/`` folder (see its README).
* :mod:`~astro_galflow.realdata.photoz_set` — the combined, de-duplicated redshift set
  with its deterministic train/validation/test split.
* :mod:`~astro_galflow.realdata.skyserver_jpeg` — approximate inversion of SkyServer
  colour JPEG cutouts to gri nanomaggie images.

The studies that use them (the photo-z benchmark, the real-data checks of the simulated
models) are scripts in the repository's ``studies/`` folder, not part of the package.
"""

from astro_galflow.realdata.readers import (
    read_mgs_photoz,
    read_mpajhu_joined,
    read_photoz_hw,
    read_skyserver_dr14,
)

__all__ = ["read_mgs_photoz", "read_skyserver_dr14", "read_photoz_hw", "read_mpajhu_joined"]
