"""Approximate inversion of SkyServer colour JPEG cutouts to gri nanomaggie images.

SkyServer's ImgCutout JPEGs are display images, not measurements: the i, r and g
corrected frames are mapped to R, G and B, scaled, stretched with the colour-preserving
``asinh`` of Lupton et al. (2004, PASP 116, 133) (SDSS's FITS2JPEG adds undocumented
"modifications"), clipped to [0, 1] and quantised to 8 bits with lossy compression.
Nothing here recovers calibrated fluxes; the inversion is an explicit approximation:

1. ``x = rgb / 255``, channels reordered to g, r, i;
2. the Lupton stretch maps the mean intensity ``I`` of the scaled fluxes to
   ``I' = asinh(Q I) / Q`` and multiplies every channel by ``I' / I``, so it is undone by
   ``I = sinh(Q I') / Q`` and ``x_b <- x_b I / I'`` (``Q`` = :data:`DEFAULT_Q`, the value
   of Lupton et al.'s worked example, is an assumption: SkyServer does not publish it);
3. each band is divided by a per-band scale (display units per nanomaggie) that
   :func:`calibrate_band_scales` fits by matching a central 3-arcsec-diameter aperture to
   the spectroscopic fibre fluxes (``SPECOBJ.CALIBFLUX``) of galaxies with spectra.

What cannot be undone: negative sky noise was clipped to 0, pixels that hit 255 are
saturated, JPEG blocks smear faint structure, and ``Q`` is assumed, which bends the
surface-brightness profile between the faint wings and the core.
"""

from __future__ import annotations

import os

import numpy as np

from astro_galflow.exceptions import InputError

__all__ = [
    "DEFAULT_Q",
    "JPEG_BANDS",
    "SDSS_PIXEL_SCALE",
    "FIBRE_RADIUS_ARCSEC",
    "read_jpeg",
    "jpeg_to_linear",
    "aperture_flux",
    "calibrate_band_scales",
    "subtract_sky",
    "resample_cutout",
    "estimate_pixel_scale",
    "SDSS_MEDIAN_SEEING",
    "psf_fwhm_pixels",
]

#: Softening ``Q`` assumed for the Lupton et al. (2004) stretch (their worked example uses 8).
DEFAULT_Q = 8.0
#: Bands in the order the converted images use (RGB = i, r, g on SkyServer).
JPEG_BANDS = ("g", "r", "i")
#: Native SDSS imaging pixel scale in arcsec (Gunn et al. 1998, AJ 116, 3040).
SDSS_PIXEL_SCALE = 0.396
#: Radius of an SDSS-I/II spectroscopic fibre (3 arcsec diameter; York et al. 2000, AJ 120, 1579).
FIBRE_RADIUS_ARCSEC = 1.5
#: Median r-band seeing FWHM of SDSS imaging in arcsec (Stoughton et al. 2002, AJ 123, 485).
SDSS_MEDIAN_SEEING = 1.4


def read_jpeg(path) -> np.ndarray:
    """Read a colour JPEG as ``(h, w, 3)`` uint8 RGB.

    Raises
    ------
    InputError
        If the file is missing, unreadable or not a 3-channel image.
    """
    from PIL import Image, UnidentifiedImageError

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"JPEG cutout {path!r} does not exist")
    try:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB") if image.mode != "RGB" else image, dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as exc:
        raise InputError(f"JPEG cutout {path!r} cannot be read: {exc}") from exc
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InputError(f"JPEG cutout {path!r} has shape {rgb.shape}; expected (h, w, 3)")
    return rgb


def jpeg_to_linear(rgb: np.ndarray, *, q: float = DEFAULT_Q) -> np.ndarray:
    """Undo the Lupton ``asinh`` stretch: ``(h, w, 3)`` RGB uint8 -> ``(3, h, w)`` g, r, i float32.

    The result is in scaled display units (proportional to flux in each band up to the
    unknown per-band scale); see the module docstring for the assumptions.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InputError(f"RGB image has shape {rgb.shape}; expected (h, w, 3)")
    x = rgb[..., ::-1].astype(np.float64) / 255.0  # RGB = i, r, g -> g, r, i
    stretched = x.mean(axis=2)
    intensity = np.sinh(q * stretched) / q
    # Where the stretched intensity is 0 every channel is 0 and the ratio is irrelevant.
    ratio = np.divide(intensity, stretched, out=np.ones_like(stretched), where=stretched > 0)
    return np.moveaxis(x * ratio[..., None], 2, 0).astype(np.float32)


def aperture_flux(images: np.ndarray, radius_px: float) -> np.ndarray:
    """Sum of each band within ``radius_px`` of the image centre: ``(..., bands, h, w) -> (..., bands)``."""
    images = np.asarray(images, dtype=np.float64)
    h, w = images.shape[-2:]
    yy, xx = np.mgrid[0:h, 0:w]
    inside = (yy - (h - 1) / 2) ** 2 + (xx - (w - 1) / 2) ** 2 <= radius_px**2
    return images[..., inside].sum(axis=-1)


def calibrate_band_scales(linear: np.ndarray, fibre_flux: np.ndarray, *, pixel_scale: float = SDSS_PIXEL_SCALE):
    """Display units per nanomaggie in each band, from fibre fluxes of the same galaxies.

    Parameters
    ----------
    linear : numpy.ndarray, shape (n, bands, h, w)
        :func:`jpeg_to_linear` images centred on the galaxies.
    fibre_flux : numpy.ndarray, shape (n, bands)
        Fibre fluxes in nanomaggies (SDSS ``CALIBFLUX``: 3-arcsec-aperture fluxes).
    pixel_scale : float
        Arcsec per pixel of ``linear``.

    Returns
    -------
    scales : numpy.ndarray, shape (bands,)
        Median over galaxies of aperture sum / fibre flux.
    scatter_dex : numpy.ndarray, shape (bands,)
        Half the 16-84 percentile range of ``log10`` of that ratio: how far one global
        scale is from fitting every galaxy.

    Raises
    ------
    InputError
        If no galaxy has positive aperture and fibre fluxes in a band.
    """
    ratio = aperture_flux(linear, FIBRE_RADIUS_ARCSEC / pixel_scale) / np.asarray(fibre_flux, dtype=np.float64)
    scales, scatter = [], []
    for k in range(ratio.shape[1]):
        good = ratio[:, k][np.isfinite(ratio[:, k]) & (ratio[:, k] > 0)]
        if good.size == 0:
            raise InputError(f"band {k}: no galaxy with positive aperture and fibre flux to calibrate the JPEG scale")
        scales.append(np.median(good))
        lo, hi = np.percentile(np.log10(good), [16, 84])
        scatter.append(0.5 * (hi - lo))
    return np.asarray(scales), np.asarray(scatter)


def subtract_sky(linear: np.ndarray, border: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Subtract each band's median over a ``border``-pixel frame; return ``(image, robust sky sigma)``.

    SkyServer JPEGs carry a display pedestal (the sky is not at 0); the simulated cutouts
    are sky-subtracted, so the pedestal is removed. Sigma is 1.4826 x the frame's MAD.
    """
    linear = np.asarray(linear, dtype=np.float64)
    frame = np.ones(linear.shape[-2:], dtype=bool)
    frame[border:-border, border:-border] = False
    values = linear[:, frame]
    sky = np.median(values, axis=1)
    sigma = 1.4826 * np.median(np.abs(values - sky[:, None]), axis=1)
    return (linear - sky[:, None, None]).astype(np.float32), sigma


def resample_cutout(
    image: np.ndarray,
    pixel_scale: float,
    *,
    size: int = 160,
    target_scale: float = SDSS_PIXEL_SCALE,
    pad_sigma=None,
    seed: int = 0,
) -> np.ndarray:
    """Resample to ``target_scale`` and centre-crop or pad to ``(bands, size, size)``.

    Resampling is linear interpolation (:func:`scipy.ndimage.zoom`) conserving flux, so
    flux per pixel scales by ``(target_scale / pixel_scale)**2``. A result smaller than
    ``size`` is padded with Gaussian noise of ``pad_sigma`` per band (in the input's
    units per input pixel; zeros if None), seeded
    by ``seed``: invented sky, not data, which the caller must report.
    """
    image = np.asarray(image, dtype=np.float32)
    flux_factor = (target_scale / pixel_scale) ** 2
    if not np.isclose(pixel_scale, target_scale, rtol=1e-3):
        from scipy.ndimage import zoom

        zoom_factor = pixel_scale / target_scale
        image = zoom(image, (1, zoom_factor, zoom_factor), order=1) * np.float32(flux_factor)
    else:
        flux_factor = 1.0
    bands, h, w = image.shape
    if h < size or w < size:
        rng = np.random.default_rng(seed)
        # Interpolation samples rather than averages pixels, so the noise per pixel
        # scales with the flux factor like the signal does.
        sigma = np.zeros(bands) if pad_sigma is None else np.asarray(pad_sigma, dtype=np.float64) * flux_factor
        canvas = (rng.standard_normal((bands, max(h, size), max(w, size))) * sigma[:, None, None]).astype(np.float32)
        top, left = (canvas.shape[1] - h) // 2, (canvas.shape[2] - w) // 2
        canvas[:, top : top + h, left : left + w] = image
        image, h, w = canvas, canvas.shape[1], canvas.shape[2]
    top, left = (h - size) // 2, (w - size) // 2
    return np.ascontiguousarray(image[:, top : top + size, left : left + size])


def estimate_pixel_scale(fwhm_px, seeing_arcsec: float = SDSS_MEDIAN_SEEING) -> float:
    """Arcsec per pixel if the median of per-image smallest source FWHMs is the seeing.

    Compact galaxies are wider than the PSF, so this is an upper bound on the scale when
    the smallest sources are not stars. Returns NaN when no source was measured.
    """
    minima = [float(np.min(f)) for f in fwhm_px if len(f)]
    return seeing_arcsec / float(np.median(minima)) if minima else float("nan")


def psf_fwhm_pixels(image: np.ndarray, *, band: int = 1, exclude_radius: float = 20.0, box: int = 7):
    """FWHM in pixels of the most compact sources away from the centre, as a pixel-scale check.

    Finds local maxima of one band brighter than 10 times the image's robust noise and not
    the image maximum (possibly saturated), outside ``exclude_radius`` of the centre (the
    target galaxy); for each,
    FWHM = 2 sqrt(A / pi) with A the area above half the peak in a ``(2 box + 1)`` square.
    Stars are the most compact sources, so the smallest value estimates the seeing FWHM.

    Returns
    -------
    numpy.ndarray
        FWHM of every source found, sorted ascending (empty if none).
    """
    from scipy.ndimage import maximum_filter

    img = np.asarray(image, dtype=np.float64)[band]
    h, w = img.shape
    noise = 1.4826 * np.median(np.abs(img - np.median(img)))
    threshold = np.median(img) + 10 * max(noise, 1e-6)
    peaks = (img == maximum_filter(img, size=2 * box + 1)) & (img > threshold)
    top = img.max()
    fwhm = []
    for y, x in zip(*np.nonzero(peaks)):
        if (y - (h - 1) / 2) ** 2 + (x - (w - 1) / 2) ** 2 < exclude_radius**2:
            continue
        if y < box or x < box or y >= h - box or x >= w - box or img[y, x] >= top:
            continue
        stamp = img[y - box : y + box + 1, x - box : x + box + 1] - np.median(img)
        area = np.count_nonzero(stamp >= 0.5 * stamp[box, box])
        fwhm.append(2 * np.sqrt(area / np.pi))
    return np.sort(np.asarray(fwhm, dtype=np.float64))
