"""Rubin Observatory (LSST) through the Rubin Science Platform's TAP and SIA services.

Catalog rows come from the data release's ``Object`` table (DP0.2:
``dp02_dc2_catalogs.Object``; DP1: ``dp1.Object``), whose cModel fluxes are in nJy.
They become AB magnitudes ``m = 31.4 - 2.5 log10(f / nJy)`` (AB zero point 3631 Jy,
Oke & Gunn 1983) with errors ``1.0857 sigma_f / f``; a non-positive flux gives a NaN
magnitude, which the host flags ``BAD_PHOTOMETRY``. Galactic extinction is
``R_b * ebv`` with the ``R_b`` of :data:`EXTINCTION_COEFFICIENTS`.

The access token is read from ``RUBIN_TOKEN`` or ``ACCESS_TOKEN`` and sent only as a
bearer header; it is never logged or shown.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy import config as _config

from astro_galflow.plugins import hookimpl
from astro_galflow.sources.vo import VOSource, float_column

__all__ = ["LSSTSource", "Conf", "conf", "EXTINCTION_COEFFICIENTS", "flux_to_mag"]

BANDS = ("u", "g", "r", "i", "z", "y")

#: A_b / E(B-V) for the LSST filters: the Schlafly & Finkbeiner (2011, ApJ 737, 103)
#: reddening law integrated over the LSST throughputs, as tabulated for DP0.2 by
#: rubin_sim's ``DustValues`` (values rounded to 0.01; not verified against a release).
EXTINCTION_COEFFICIENTS = {"u": 4.76, "g": 3.66, "r": 2.70, "i": 2.06, "z": 1.59, "y": 1.31}

#: AB magnitude of 1 nJy: 2.5 log10(3631 Jy / 1 nJy).
AB_NJY_ZEROPOINT = 31.4


class Conf(_config.ConfigNamespace):
    """Configuration of the LSST source."""

    tap_url = _config.ConfigItem("https://data.lsst.cloud/api/tap", "Rubin Science Platform TAP service.")
    sia_url = _config.ConfigItem("https://data.lsst.cloud/api/sia/dp02", "Rubin Science Platform SIA service.")
    sia_version = _config.ConfigItem(2, "SIA protocol version of sia_url (1 or 2).")
    sia_collection = _config.ConfigItem("", "SIAv2 collection of the images (empty: any).")
    data_release = _config.ConfigItem("dp02", "Data preview: dp02 or dp1.")
    object_table = _config.ConfigItem(
        "", "Object table; empty: the data release's (dp02_dc2_catalogs.Object, dp1.Object)."
    )
    timeout = _config.ConfigItem(120.0, "Seconds per HTTP request.")
    retries = _config.ConfigItem(3, "Retries of a transient failure.")
    backoff = _config.ConfigItem(1.0, "First retry wait in seconds (doubles each retry).")
    row_limit = _config.ConfigItem(100000, "MAXREC of catalog queries.")


conf = Conf()

_RELEASE_TABLES = {"dp02": "dp02_dc2_catalogs.Object", "dp1": "dp1.Object"}


def flux_to_mag(flux_njy, flux_err_njy):
    """AB magnitudes and errors from fluxes in nJy; NaN where the flux is not positive."""
    f = np.asarray(flux_njy, dtype=float)
    e = np.asarray(flux_err_njy, dtype=float)
    positive = f > 0
    safe = np.where(positive, f, 1.0)
    mag = np.where(positive, AB_NJY_ZEROPOINT - 2.5 * np.log10(safe), np.nan)
    err = np.where(positive, 2.5 / np.log(10) * e / safe, np.nan)
    return mag, err


class LSSTSource(VOSource):
    """Rubin Object-table photometry (ugrizy) and gri cutouts at 0.2 arcsec per pixel."""

    name = "lsst"
    survey = "LSST"
    service_name = "Rubin Science Platform"
    photometry_bands = BANDS
    image_bands = ("g", "r", "i")
    pixel_scale = 0.2 * u.arcsec
    position_columns = ("coord_ra", "coord_dec")
    token_env = ("RUBIN_TOKEN", "ACCESS_TOKEN")
    id_column = "objectId"
    conf = conf

    def catalog_table(self) -> str:
        from astro_galflow.exceptions import InputError
        from astro_galflow.vo import adql

        if conf.object_table:
            return adql.identifier(conf.object_table)
        try:
            return _RELEASE_TABLES[self.data_release.lower()]
        except KeyError:
            raise InputError(
                f"unknown Rubin data release {self.data_release!r}; known: {', '.join(_RELEASE_TABLES)} "
                "(or set conf.object_table)"
            ) from None

    def select_list(self) -> list[str]:
        cols = ["p.objectId AS objectid", "p.coord_ra AS ra", "p.coord_dec AS dec", "p.ebv AS ebv"]
        for b in BANDS:
            cols += [f"p.{b}_cModelFlux AS flux_{b}", f"p.{b}_cModelFluxErr AS fluxerr_{b}"]
        return cols

    def conditions(self) -> list[str]:
        return ["p.detect_isPrimary = 1", "p.refExtendedness = 1"]

    def to_inputs(self, raw):
        out = self._base_table(raw, id_col="objectid", extinction_corrected=False)
        out["source_id"] = np.asarray(raw["objectid"], dtype=np.int64)
        ebv = float_column(raw["ebv"])
        for b in BANDS:
            mag, err = flux_to_mag(float_column(raw[f"flux_{b}"]), float_column(raw[f"fluxerr_{b}"]))
            out[f"mag_{b}"] = mag * u.mag
            out[f"magerr_{b}"] = err * u.mag
            out[f"extinction_{b}"] = EXTINCTION_COEFFICIENTS[b] * ebv * u.mag
        return out


@hookimpl
def galflow_register_sources(registry):
    """Register :class:`LSSTSource`."""
    registry.add(LSSTSource)
