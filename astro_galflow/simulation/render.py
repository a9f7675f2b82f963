"""GalSim rendering of bulge + disk galaxies into gri cutouts at SDSS pixel scale and depth.

Each galaxy is drawn twice with GalSim (Rowe et al. 2015, A&C 10, 121): its sheared
exponential disk and its de Vaucouleurs bulge, each convolved with a Moffat PSF
(beta = 3.5, FWHM :data:`~astro_galflow.simulation.photometry.PSF_FWHM_ARCSEC`) at unit
flux. A band's image is their sum weighted by that band's disk and bulge fluxes, so the
bulge's redder colour makes real colour gradients at the cost of two draws per galaxy,
not six. Sky-subtracted SDSS noise is added: Gaussian sky noise plus the galaxy's own
Poisson noise (:mod:`astro_galflow.simulation.photometry`). Pixels are nanomaggies.
"""

from __future__ import annotations

import numpy as np

from astro_galflow.cutouts import CUTOUT_SIZE
from astro_galflow.simulation import photometry

__all__ = ["IMAGE_BANDS", "render_cutouts"]

IMAGE_BANDS = ("g", "r", "i")
_NOISE_STREAM = 0x5EED  # separates the image-noise streams from the catalog's draws


def render_cutouts(params: dict, out, *, seed: int, start: int = 0, progress: bool = False) -> None:
    """Render galaxies into ``out`` (``(n, 3, 160, 160)`` float32 array or memmap) in place.

    Parameters
    ----------
    params : dict of numpy.ndarray
        ``disk_hlr``, ``bulge_hlr`` (arcsec), ``disk_axis_ratio``, ``bulge_axis_ratio``,
        ``position_angle`` (deg), ``flux_disk`` and ``flux_bulge`` (``(n, 3)`` gri, nanomaggies).
    out : numpy.ndarray
        Written row by row, so a memmap streams to disk.
    seed : int
        Survey seed; galaxy ``k``'s noise comes from ``(seed, start + k)`` alone, so any
        chunking of the rendering gives the same images.
    start : int
        Index of the first galaxy (for the noise seeds).
    progress : bool
        Show a tqdm progress bar.
    """
    import galsim

    gsparams = galsim.GSParams(folding_threshold=1e-2, maxk_threshold=3e-3)
    psf = galsim.Moffat(beta=3.5, fwhm=photometry.PSF_FWHM_ARCSEC, gsparams=gsparams)
    image = galsim.ImageF(CUTOUT_SIZE, CUTOUT_SIZE, scale=photometry.PIXEL_SCALE_ARCSEC)
    sky_var = np.array([photometry.sky_sigma_nmgy(b) ** 2 for b in IMAGE_BANDS], np.float32)[:, None, None]
    e_per_nmgy = np.array([photometry.ELECTRONS_PER_NMGY[b] for b in IMAGE_BANDS], np.float32)[:, None, None]
    n = len(params["disk_hlr"])
    rows = range(n)
    if progress:
        from tqdm import tqdm

        rows = tqdm(rows, desc="rendering", unit="gal")
    for k in rows:
        beta = params["position_angle"][k] * galsim.degrees
        disk = galsim.Exponential(half_light_radius=params["disk_hlr"][k], gsparams=gsparams)
        disk = disk.shear(q=params["disk_axis_ratio"][k], beta=beta)
        # Truncating the de Vaucouleurs wings at 8 half-light radii keeps its FFT small;
        # flux and radius then describe the truncated profile, so the drawn flux is exact.
        r_b = params["bulge_hlr"][k]
        bulge = galsim.DeVaucouleurs(half_light_radius=r_b, trunc=8.0 * r_b, flux_untruncated=False, gsparams=gsparams)
        bulge = bulge.shear(q=params["bulge_axis_ratio"][k], beta=beta)
        disk_img = galsim.Convolve(disk, psf).drawImage(image=image).array.copy()
        bulge_img = galsim.Convolve(bulge, psf).drawImage(image=image).array
        model = (
            params["flux_disk"][k][:, None, None] * disk_img[None]
            + params["flux_bulge"][k][:, None, None] * bulge_img[None]
        ).astype(np.float32)
        rng = np.random.default_rng([seed, _NOISE_STREAM, start + k])
        sigma = np.sqrt(sky_var + np.clip(model, 0.0, None) / e_per_nmgy)
        out[k] = model + sigma * rng.standard_normal(model.shape, dtype=np.float32)
