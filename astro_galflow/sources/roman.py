"""Roman Space Telescope simulated data at IRSA, through TAP and SIA.

Until Roman flies, IRSA serves simulated catalogs and images (the OpenUniverse 2024
Roman–Rubin simulations, Troxel et al. 2023/OpenUniverse collaboration). The catalog
table and its column names are configuration (``conf.catalog_table``): the defaults
mirror the project's test server and are **not verified** against IRSA's schema.

Simulated truth magnitudes carry no Galactic extinction, so the table says
``meta["extinction_corrected"] = True``.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy import config as _config

from astro_galflow.plugins import hookimpl
from astro_galflow.sources.vo import VOSource, float_column

__all__ = ["RomanSource", "Conf", "conf"]

#: WFI imaging filters, in wavelength order.
BANDS = ("R062", "Z087", "Y106", "J129", "H158", "F184", "K213")


class Conf(_config.ConfigNamespace):
    """Configuration of the Roman source."""

    tap_url = _config.ConfigItem("https://irsa.ipac.caltech.edu/TAP", "IRSA TAP service.")
    sia_url = _config.ConfigItem("https://irsa.ipac.caltech.edu/SIA", "IRSA SIA (v2) service.")
    sia_version = _config.ConfigItem(2, "SIA protocol version of sia_url (1 or 2).")
    sia_collection = _config.ConfigItem("", "SIAv2 collection of the images (empty: any).")
    catalog_table = _config.ConfigItem("openuniverse2024.roman_galaxies", "Simulated galaxy catalog table.")
    data_release = _config.ConfigItem("openuniverse2024", "Simulation release.")
    timeout = _config.ConfigItem(120.0, "Seconds per HTTP request.")
    retries = _config.ConfigItem(3, "Retries of a transient failure.")
    backoff = _config.ConfigItem(1.0, "First retry wait in seconds (doubles each retry).")
    row_limit = _config.ConfigItem(100000, "MAXREC of catalog queries.")


conf = Conf()


class RomanSource(VOSource):
    """Roman WFI photometry and Y106/J129/H158 cutouts at 0.11 arcsec per pixel."""

    name = "roman"
    survey = "Roman"
    service_name = "IRSA (Roman)"
    photometry_bands = BANDS
    image_bands = ("Y106", "J129", "H158")
    pixel_scale = 0.11 * u.arcsec
    id_column = "galaxy_id"
    truth_columns = {"redshift": "redshift"}
    conf = conf

    def catalog_table(self) -> str:
        from astro_galflow.vo import adql

        return adql.identifier(conf.catalog_table)

    def select_list(self) -> list[str]:
        return ["p.galaxy_id AS galaxy_id", "p.ra AS ra", "p.dec AS dec"] + [
            f"p.mag_{b.lower()} AS m_{b.lower()}" for b in BANDS
        ]

    def to_inputs(self, raw):
        out = self._base_table(raw, id_col="galaxy_id", extinction_corrected=True)
        out["source_id"] = np.asarray(raw["galaxy_id"], dtype=np.int64)
        for b in BANDS:
            out[f"mag_{b}"] = float_column(raw[f"m_{b.lower()}"]) * u.mag
        return out


@hookimpl
def galflow_register_sources(registry):
    """Register :class:`RomanSource`."""
    registry.add(RomanSource)
