"""Virtual Observatory plumbing shared by the survey sources.

Submodules (import the one you need; none imports pyvo at import time):

:mod:`~astro_galflow.vo.adql`
    ADQL built from validated, quoted values.
:mod:`~astro_galflow.vo.tap`
    Running TAP queries with timeouts, retries with backoff, overflow detection and
    errors that name the service and the query.
:mod:`~astro_galflow.vo.images`
    SIA image search and download, and cutout preprocessing with photutils.
:mod:`~astro_galflow.vo.crossmatch`
    Cross-matching any table against a TAP service by upload.
:mod:`~astro_galflow.vo.training_set`
    The SDSS training-set builder.
"""
