"""Cutouts from SIA services, and their preprocessing with photutils.

For each position, :class:`CutoutFetcher` finds one image per band with SIA (v1, or v2
over ObsCore where the archive offers it), downloads it (retrying transient faults,
rejecting truncated files), checks its pixel scale against the source's, cuts 160x160
pixels around the position and, with ``preprocess=True``, runs
:func:`preprocess_cutout`: background subtraction (sigma-clipped median of the pixels
outside detected sources), recentring on the galaxy's centroid, and masking of neighbours
found by segmentation with deblending (photutils; Bradley et al., photutils). Pixels are
nanomaggies (an image in nJy is divided by 3631 nJy per nanomaggy).
"""

from __future__ import annotations

import io
import warnings

import numpy as np

from astro_galflow.cutouts import CUTOUT_SIZE
from astro_galflow.exceptions import GalflowWarning, SourceError

__all__ = ["CutoutFetcher", "preprocess_cutout", "MissingImageWarning", "CorruptImageError"]

#: Nanomaggies per unit of the image BUNITs we understand (1 nanomaggy = 3631 nJy).
_UNIT_TO_NMGY = {"nanomaggy": 1.0, "nanomaggies": 1.0, "nmgy": 1.0, "njy": 1.0 / 3631.0}

#: Reference wavelengths (m) used to pick a band from SIAv2/ObsCore records, which carry
#: a spectral range but no filter name.
BAND_WAVELENGTH = {
    "u": 3.55e-7,
    "g": 4.77e-7,
    "r": 6.23e-7,
    "i": 7.63e-7,
    "z": 9.05e-7,
    "y": 1.0e-6,
    "R062": 6.2e-7,
    "Z087": 8.7e-7,
    "Y106": 1.06e-6,
    "J129": 1.29e-6,
    "H158": 1.58e-6,
    "F184": 1.84e-6,
    "K213": 2.13e-6,
}


class MissingImageWarning(GalflowWarning):
    """No image covers some rows in some band; their cutouts are NaN (flagged by the host)."""


class CorruptImageError(OSError):
    """A downloaded image is truncated or not a FITS image (retried as transient)."""


class CutoutFetcher:
    """Find, download and cut survey images around positions.

    Parameters
    ----------
    url : str
        SIA service URL (v1 query URL, or v2 base URL).
    bands : sequence of str
        Image bands, in channel order.
    pixel_scale : Quantity
        Expected pixel scale; images at another scale raise :class:`SourceError`.
    service : str
        Name for error messages.
    policy : astro_galflow.vo.tap.RetryPolicy
    session : requests.Session
    sia_version : {1, 2}
    collection : str, optional
        SIAv2 collection filter.
    size : int
        Cutout side in pixels.
    """

    def __init__(
        self, url, *, bands, pixel_scale, service, policy, session, sia_version=1, collection=None, size=CUTOUT_SIZE
    ):
        if sia_version not in (1, 2):
            raise ValueError(f"sia_version must be 1 or 2, got {sia_version!r}")
        self.url = url
        self.bands = tuple(bands)
        self.pixel_scale = pixel_scale
        self.service = f"{service} ({url})"
        self.policy = policy
        self.session = session
        self.sia_version = sia_version
        self.collection = collection
        self.size = size
        self._images = {}

    def _search_size_deg(self):
        return float(self.size * self.pixel_scale.to_value("deg")) / 4

    def payload(self, ra, dec) -> dict:
        """The SIA request for one position (what :meth:`find_images` sends)."""
        if self.sia_version == 1:
            return {"url": self.url, "POS": f"{ra},{dec}", "SIZE": self._search_size_deg(), "FORMAT": "image/fits"}
        params = {"url": self.url, "POS": f"CIRCLE {ra} {dec} {self._search_size_deg()}"}
        if self.collection:
            params["COLLECTION"] = self.collection
        return params

    def find_images(self, ra, dec) -> dict:
        """``{band: image URL}`` for the images covering (ra, dec)."""
        import pyvo
        from pyvo.utils.xml.exceptions import UnknownElementWarning

        from astro_galflow.vo.tap import with_retries

        def search():
            if self.sia_version == 1:
                svc = pyvo.dal.SIAService(self.url, session=self.session)
                return svc.search(pos=(ra, dec), size=self._search_size_deg(), format="image/fits")
            with warnings.catch_warnings():
                # pyvo's capabilities parser does not know every capability type a
                # service lists (DaCHS lists SIAv1 too) and says so; that is not our problem
                warnings.filterwarnings("ignore", message="Unknown xsi:type", category=UserWarning)
                warnings.simplefilter("ignore", UnknownElementWarning)
                svc = pyvo.dal.SIA2Service(self.url, session=self.session)
            return svc.search(pos=(ra, dec, self._search_size_deg()), collection=self.collection)

        records = with_retries(search, policy=self.policy, service=self.service, what=str(self.payload(ra, dec)))
        found = {}
        for rec in records:
            band = self._band_of(rec)
            if band in self.bands and band not in found:
                found[band] = rec.getdataurl()
        return found

    def _band_of(self, rec):
        if self.sia_version == 1:
            band = rec.bandpass_id
            return band.decode() if isinstance(band, bytes) else band
        lo, hi = float(rec["em_min"]), float(rec["em_max"])
        for band in self.bands:
            if lo <= BAND_WAVELENGTH.get(band, -1.0) <= hi:
                return band
        return None

    def image(self, url):
        """``(data in nanomaggies, WCS)`` of the image at ``url`` (downloaded once)."""
        if url not in self._images:
            from astro_galflow.vo.tap import with_retries

            self._images[url] = with_retries(
                lambda: self._download(url), policy=self.policy, service=self.service, what=f"GET {url}"
            )
        return self._images[url]

    def _download(self, url):
        from astropy.io import fits
        from astropy.wcs import WCS
        from astropy.wcs.utils import proj_plane_pixel_scales

        response = self.session.get(url)
        response.raise_for_status()
        expected = response.headers.get("Content-Length")
        content = response.content
        # a compressed transfer's Content-Length counts the compressed bytes
        encoded = response.headers.get("Content-Encoding", "identity") != "identity"
        if expected is not None and not encoded and len(content) != int(expected):
            raise CorruptImageError(f"{url}: got {len(content)} of {expected} bytes")
        try:
            with fits.open(io.BytesIO(content)) as hdul:
                hdu = next(h for h in hdul if h.data is not None and h.data.ndim == 2)
                data = np.asarray(hdu.data, dtype=np.float64)
                header = hdu.header
        except (OSError, StopIteration, TypeError, ValueError) as exc:
            raise CorruptImageError(f"{url} is not a readable FITS image: {exc}") from exc
        wcs = WCS(header)
        scale = proj_plane_pixel_scales(wcs).mean() * 3600.0
        want = self.pixel_scale.to_value("arcsec")
        if not np.isclose(scale, want, rtol=0.01):
            raise SourceError(f"{self.service}: image {url} has {scale:.4f} arcsec/pixel, expected {want}")
        unit = str(header.get("BUNIT", "nanomaggy")).strip().lower()
        if unit not in _UNIT_TO_NMGY:
            raise SourceError(f"{self.service}: image {url} has BUNIT {unit!r}; known: {', '.join(_UNIT_TO_NMGY)}")
        return data * _UNIT_TO_NMGY[unit], wcs

    def _cut(self, data, wcs, position):
        from astropy.nddata import Cutout2D, NoOverlapError

        try:
            cut = Cutout2D(data, position, (self.size, self.size), wcs=wcs, mode="partial", fill_value=np.nan)
        except NoOverlapError:
            return None
        return cut.data

    def cutouts(self, ra, dec, *, preprocess=True) -> np.ndarray:
        """float32 array ``(n, len(bands), size, size)``; NaN where no image covers a row."""
        from astropy.coordinates import SkyCoord

        ra = np.atleast_1d(np.asarray(ra, dtype=float))
        dec = np.atleast_1d(np.asarray(dec, dtype=float))
        out = np.full((len(ra), len(self.bands), self.size, self.size), np.nan, dtype=np.float32)
        missing = []
        for k, (a, d) in enumerate(zip(ra, dec)):
            if not (np.isfinite(a) and np.isfinite(d)):
                missing.append(k)
                continue
            urls = self.find_images(a, d)
            if set(urls) != set(self.bands):
                missing.append(k)
                continue
            frames = [self.image(urls[b]) for b in self.bands]
            position = SkyCoord(a, d, unit="deg")
            cube = [self._cut(data, wcs, position) for data, wcs in frames]
            if any(c is None for c in cube):
                missing.append(k)
                continue
            cube = np.stack(cube)
            if preprocess:
                shift = centroid_offset(cube)
                if np.hypot(*shift) > 0.5:
                    # recut every band around the galaxy's centroid, found on the first band's grid
                    wcs0 = frames[0][1]
                    x, y = wcs0.world_to_pixel(position)
                    centre = wcs0.pixel_to_world(float(x) + shift[0], float(y) + shift[1])
                    recut = [self._cut(data, wcs, centre) for data, wcs in frames]
                    if all(c is not None for c in recut):
                        cube = np.stack(recut)
                cube = preprocess_cutout(cube)
            out[k] = cube
        if missing:
            warnings.warn(
                f"{self.service}: no complete {'/'.join(self.bands)} image set for row(s) "
                f"{', '.join(map(str, missing[:20]))}{' ...' if len(missing) > 20 else ''}; their cutouts are NaN",
                MissingImageWarning,
                stacklevel=2,
            )
        return out


def _segment(cube):
    """Background-subtracted cube, its detection image, segmentation and the central label."""
    from astropy.stats import sigma_clipped_stats
    from photutils.segmentation import deblend_sources, detect_sources
    from photutils.utils.exceptions import NoDetectionsWarning

    cube = np.array(cube, dtype=np.float64)
    finite = np.isfinite(cube).all(axis=0)
    if finite.sum() < 10:
        return cube, np.zeros(cube.shape[1:]), None, 0
    rms = np.empty(len(cube))
    for b in range(len(cube)):
        _, median, std = sigma_clipped_stats(cube[b][finite], sigma=3.0, maxiters=10)
        cube[b] -= median
        rms[b] = std if std > 0 else 1.0
    detection = np.where(finite, (cube / rms[:, None, None]).sum(axis=0) / np.sqrt(len(cube)), 0.0)
    with warnings.catch_warnings():
        # "no sources found" is an answer here (an empty field), not a problem
        warnings.simplefilter("ignore", NoDetectionsWarning)
        segm = detect_sources(detection, 2.0, 10)
    if segm is None:
        return cube, detection, None, 0
    segm = deblend_sources(detection, segm, 10, progress_bar=False)
    size = cube.shape[-1]
    c = size // 2
    label = int(segm.data[c, c])
    if label == 0:
        # nearest segment to the centre
        yy, xx = np.nonzero(segm.data)
        nearest = np.argmin(np.hypot(xx - c, yy - c))
        label = int(segm.data[yy[nearest], xx[nearest]])
    return cube, detection, segm, label


def centroid_offset(cube) -> tuple[float, float]:
    """(dx, dy) in pixels from the cutout centre to the central galaxy's centroid."""
    _, detection, segm, label = _segment(cube)
    if segm is None:
        return (0.0, 0.0)
    weights = np.where(segm.data == label, np.clip(detection, 0, None), 0.0)
    total = weights.sum()
    if total <= 0:
        return (0.0, 0.0)
    yy, xx = np.indices(weights.shape)
    c = (cube.shape[-1] - 1) / 2
    return (float((xx * weights).sum() / total - c), float((yy * weights).sum() / total - c))


def preprocess_cutout(cube) -> np.ndarray:
    """Background-subtract a ``(bands, h, w)`` cutout and zero the pixels of neighbours.

    The background is the sigma-clipped median of each band; sources are detected at
    2 sigma (10 connected pixels) in the noise-weighted band sum and deblended; every
    segment other than the one at (or nearest to) the centre is set to zero (the
    background level). Missing pixels (outside the image) stay NaN.

    Returns
    -------
    numpy.ndarray
        float32, same shape.
    """
    cube, _, segm, label = _segment(cube)
    if segm is not None:
        neighbours = (segm.data != 0) & (segm.data != label)
        cube[:, neighbours] = 0.0
    return cube.astype(np.float32)
