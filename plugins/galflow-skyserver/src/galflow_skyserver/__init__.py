"""SDSS SkyServer CSV exports as an astro_galflow data source."""

from galflow_skyserver.source import SkyServerCSVSource

__all__ = ["SkyServerCSVSource"]
__version__ = "0.1.0"
