"""astro_galflow: calibrated joint posteriors of galaxy physics from images and photometry.

Importing this package is cheap: it loads no plugin and no heavy library (torch, pyvo,
lsdb are imported where used). Start from :func:`astro_galflow.plugins.get_plugin_manager`
and :mod:`astro_galflow.pipeline`, or the ``galflow`` command.
"""

from importlib.metadata import PackageNotFoundError, version

from astro_galflow.plugins import hookimpl

try:
    __version__ = version("astro_galflow")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["hookimpl", "__version__"]
