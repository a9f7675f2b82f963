"""SDSS through TAP: the CAS ``PhotoObj``/``SpecPhoto`` tables and MPA-JHU ``galSpec*``.

Configuration lives in ``astro_galflow.sources.sdss.conf`` (an astropy
:class:`~astropy.config.ConfigNamespace`, settable in ``astro_galflow.cfg`` or at run
time, e.g. ``conf.tap_url = ...``); every item can also be given to the constructor.
The default service URLs are the NOIRLab Astro Data Lab's public TAP service; set
``conf.schema`` to wherever that service keeps the CAS tables (``dbo`` on a CAS mirror).

Magnitudes are CAS model magnitudes (``modelMag_<band>``), returned raw with the SFD
``extinction_<band>`` columns (``meta["extinction_corrected"] = False``) so that the
host applies the correction (Stoughton et al. 2002, AJ 123, 485).
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy import config as _config

from astro_galflow.plugins import hookimpl
from astro_galflow.sources.vo import VOSource, float_column

__all__ = ["SDSSSource", "Conf", "conf"]

BANDS = ("u", "g", "r", "i", "z")


class Conf(_config.ConfigNamespace):
    """Configuration of the SDSS source."""

    tap_url = _config.ConfigItem("https://datalab.noirlab.edu/tap", "TAP service holding the SDSS CAS tables.")
    sia_url = _config.ConfigItem("", "SIA service of SDSS gri frames (none by default).")
    sia_version = _config.ConfigItem(1, "SIA protocol version of sia_url (1 or 2).")
    sia_collection = _config.ConfigItem("", "SIAv2 collection of the images (empty: any).")
    schema = _config.ConfigItem("sdss_dr17", "Schema of the CAS tables on the TAP service.")
    data_release = _config.ConfigItem("DR17", "SDSS data release.")
    timeout = _config.ConfigItem(60.0, "Seconds per HTTP request.")
    retries = _config.ConfigItem(3, "Retries of a transient failure.")
    backoff = _config.ConfigItem(1.0, "First retry wait in seconds (doubles each retry).")
    row_limit = _config.ConfigItem(50000, "MAXREC of catalog queries.")


conf = Conf()


class SDSSSource(VOSource):
    """SDSS photometry (PhotoObj galaxies) and gri cutouts at 0.396 arcsec per pixel.

    Parameters
    ----------
    schema : str, optional
        Schema of the CAS tables (default ``conf.schema``).
    **kwargs
        Service overrides, see :class:`~astro_galflow.sources.vo.VOSource`.
    """

    name = "sdss"
    #: The paper's training set (MPA-JHU labels) can be built from this archive.
    paper_training_set = True
    survey = "SDSS"
    service_name = "SDSS"
    photometry_bands = BANDS
    image_bands = ("g", "r", "i")
    pixel_scale = 0.396 * u.arcsec
    id_column = "objID"
    conf = conf

    def __init__(self, *, schema=None, **kwargs):
        super().__init__(**kwargs)
        self.schema = schema or conf.schema

    def table_name(self, table: str) -> str:
        """Qualified, validated name of CAS table ``table`` (e.g. ``"SpecPhoto"``)."""
        from astro_galflow.vo import adql

        return adql.identifier(f"{self.schema}.{table}" if self.schema else table)

    def catalog_table(self) -> str:
        return self.table_name("PhotoObj")

    def select_list(self) -> list[str]:
        cols = ["p.objID AS objid", "p.ra AS ra", "p.dec AS dec"]
        for b in BANDS:
            cols += [f"p.modelMag_{b} AS mag_{b}", f"p.modelMagErr_{b} AS magerr_{b}", f"p.extinction_{b} AS ext_{b}"]
        return cols

    def conditions(self) -> list[str]:
        return ["p.type = 3"]  # PhotoObj type 3 = GALAXY

    def to_inputs(self, raw):
        out = self._base_table(raw, id_col="objid", extinction_corrected=False)
        out["source_id"] = np.asarray(raw["objid"], dtype=np.int64)
        for b in BANDS:
            out[f"mag_{b}"] = float_column(raw[f"mag_{b}"]) * u.mag
            out[f"magerr_{b}"] = float_column(raw[f"magerr_{b}"]) * u.mag
            out[f"extinction_{b}"] = float_column(raw[f"ext_{b}"]) * u.mag
        return out


@hookimpl
def galflow_register_sources(registry):
    """Register :class:`SDSSSource`."""
    registry.add(SDSSSource)
