"""The :class:`DataSource` base class every survey backend subclasses.

Data access is a method of a source (astroquery style), not a hook: a source knows its
survey's bands, pixel scale and archive, and returns tables in the host's input
convention (:mod:`astro_galflow.inputs`) with survey-native identifiers in
``source_id``.
"""

from __future__ import annotations

from typing import ClassVar

import astropy.units as u

from astro_galflow.exceptions import GalflowError, SourceError

__all__ = ["DataSource", "SourceError", "BandMismatchError"]


class BandMismatchError(GalflowError, ValueError):
    """The bands or pixel scale of a source do not match what a model was trained on."""


class DataSource:
    """Base class of survey backends.

    Subclasses set the class attributes and implement the query methods they support;
    unsupported methods raise :class:`NotImplementedError` with the source's name.

    Attributes
    ----------
    name : str
        Registry name (``"simulated"``, ``"sdss"`` ...).
    survey : str
        Value written to the output table's ``survey`` column.
    photometry_bands : tuple of str
        Bands of the catalog magnitudes, in wavelength order.
    image_bands : tuple of str
        Bands of the cutouts, in channel order.
    pixel_scale : `~astropy.units.Quantity`
        Cutout pixel scale (angle per pixel).
    """

    name: ClassVar[str] = ""
    survey: ClassVar[str] = ""
    photometry_bands: ClassVar[tuple[str, ...]] = ()
    image_bands: ClassVar[tuple[str, ...]] = ()
    pixel_scale: ClassVar[u.Quantity] = 0.396 * u.arcsec

    def query_region(self, coordinates, *, radius=None, width=None, height=None, **kwargs):
        """Catalog of galaxies in a cone (``radius``) or box (``width``/``height``).

        Returns
        -------
        astropy.table.QTable
            In the host's input convention.
        """
        raise NotImplementedError(f"source {self.name!r} does not support region queries")

    def query_objects(self, table, **kwargs):
        """Catalog rows for a list of objects (positions or identifiers)."""
        raise NotImplementedError(f"source {self.name!r} does not support object-list queries")

    def read_catalog(self, path):
        """Read a catalog file in this survey's native layout into the host's input convention."""
        raise NotImplementedError(f"source {self.name!r} does not read catalog files")

    def get_cutouts(self, table, **kwargs):
        """Cutouts for the rows of ``table``, shape ``(n, n_bands, 160, 160)``, float32."""
        raise NotImplementedError(f"source {self.name!r} does not provide cutouts")

    def check_compatible(self, *, bands, pixel_scale) -> None:
        """Raise :class:`BandMismatchError` unless this source's images match a model's.

        Parameters
        ----------
        bands : sequence of str
            Image bands the model was trained on, in channel order.
        pixel_scale : `~astropy.units.Quantity`
            Pixel scale the model was trained on.
        """
        if tuple(bands) != tuple(self.image_bands):
            raise BandMismatchError(
                f"source {self.name!r} provides image bands {self.image_bands} but the model "
                f"was trained on {tuple(bands)}"
            )
        if not u.isclose(self.pixel_scale, pixel_scale, rtol=1e-3):
            raise BandMismatchError(
                f"source {self.name!r} has pixel scale {self.pixel_scale} but the model was trained on {pixel_scale}"
            )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: bands {''.join(self.photometry_bands)}>"
