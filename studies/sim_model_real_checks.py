"""Real-data checks of the simulation-trained models: reported, never tuned for.

Two checks of what the domain shift from the simulated survey to SDSS does:

* **lines** -- the photometry-only model's emission-line posteriors against MPA-JHU
  galSpecLine fluxes (Brinchmann et al. 2004, MNRAS 351, 1151) of the real galaxies in
  ``skyserver_mpajhu_sample/joined_specphoto_galspecline.csv`` with z <= 0.3 and all four
  lines > 0: R², Spearman rho, bias, NMAD and 68/95 % interval coverage in ``log1p`` space;
* **images** -- the 13 SkyServer JPEG cutouts, inverted to approximate gri nanomaggies
  (:mod:`astro_galflow.realdata.skyserver_jpeg`), resampled to the model's 0.396 arcsec/px
  and fed through the image model's VAE: pixel statistics and VAE latents against
  simulated cutouts (Mahalanobis distance to the simulated latent distribution), and, for
  the 10 galaxies with DR7 spectra, the full image + photometry posteriors against the
  spectroscopic redshift, the McConnell & Ma (2013) black-hole mass from the velocity
  dispersion and the spectroscopic line fits. The 13 galaxies have no model magnitudes
  in our files, so the full model gets **proxy photometry**: the spectra's fibre fluxes
  (``CALIBFLUX``, 3-arcsec apertures, not extinction-corrected), fainter than total
  magnitudes; those posteriors test plausibility and robustness, not accuracy.

Run from the repository root::

    python studies/sim_model_real_checks.py --out benchmarks/results/sim_model_real_checks
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import QTable

from astro_galflow.exceptions import GalflowWarning, InputError
from astro_galflow.flags import PosteriorFlag
from astro_galflow.params import LINE_FLUX_UNIT
from astro_galflow.realdata import skyserver_jpeg as sj

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the studies folder: its _paths module
from _paths import SHARED_SDSS  # noqa: E402

__all__ = [
    "LINES",
    "MIN_RESOLVED_SIGMA",
    "log_mbh_mcconnell_ma",
    "read_spectra",
    "add_portsmouth_masses",
    "convert_jpeg_cutouts",
    "interval_metrics",
    "mahalanobis",
    "check_lines",
    "line_galaxies",
    "check_images",
    "main",
]

#: Parameter name -> (MPA-JHU galSpecLine column stem, DR7 spZline LINENAME).
LINES = {
    "flux_halpha": ("h_alpha", "H_alpha"),
    "flux_hbeta": ("h_beta", "H_beta"),
    "flux_nii_6584": ("nii_6584", "[N_II] 6583"),
    "flux_oiii_5007": ("oiii_5007", "[O_III] 5007"),
}


#: Velocity dispersions below this (km/s) are unresolved by the SDSS spectrographs
#: (instrumental dispersion ~70 km/s; SDSS DR7 documentation of ``VDISP``).
MIN_RESOLVED_SIGMA = 70.0


def log_mbh_mcconnell_ma(sigma_kms) -> np.ndarray:
    """Black-hole mass from velocity dispersion: ``8.32 + 5.64 log10(sigma / 200 km/s)``.

    McConnell & Ma (2013, ApJ 764, 184), their fit to all galaxies (log M_BH in M_sun).
    """
    sigma = np.asarray(sigma_kms, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sigma > 0, 8.32 + 5.64 * np.log10(sigma / 200.0), np.nan)


def read_spectra(spectra_dir) -> dict:
    """Read DR7 ``spec-*.fits`` files: ``{objID: dict}`` with z, sigma, log_mbh, lines, fibre fluxes.

    Line fluxes are spZline ``LINEAREA`` (1e-17 erg/s/cm², Gaussian fits to the spectrum
    *without* stellar-continuum subtraction, unlike MPA-JHU), NaN where the fit failed
    (``LINEAREA_ERR <= 0``) or the flux is not positive (the selection of the MPA-JHU check);
    ``log_mbh`` is NaN where ``VDISP`` < :data:`MIN_RESOLVED_SIGMA`; ``calibflux`` is
    ``CALIBFLUX`` (ugriz fibre fluxes, nanomaggies).
    """
    from astropy.io import fits

    spectra_dir = Path(spectra_dir)
    files = sorted(spectra_dir.glob("spec-*.fits"))
    if not files:
        raise InputError(f"no spec-*.fits files in {os.fspath(spectra_dir)!r}")
    out = {}
    for path in files:
        with fits.open(path) as hdul:
            try:
                spec, zline = hdul["SPECOBJ"].data[0], hdul["SPZLINE"].data
            except KeyError as exc:
                raise InputError(f"{os.fspath(path)!r}: no {exc} extension") from None
            names = [str(n).strip() for n in zline["LINENAME"]]
            lines = {}
            for param, (_, spz) in LINES.items():
                k = names.index(spz)
                good = zline["LINEAREA_ERR"][k] > 0 and zline["LINEAREA"][k] > 0
                lines[param] = float(zline["LINEAREA"][k]) if good else float("nan")
            sigma = float(spec["VDISP"])
            resolved = sigma >= MIN_RESOLVED_SIGMA
            out[str(spec["BESTOBJID"]).strip()] = {
                "file": path.name,
                "ra": float(spec["PLUG_RA"]),
                "dec": float(spec["PLUG_DEC"]),
                "redshift": float(spec["Z"]),
                "velocity_dispersion": sigma,
                "log_mbh": float(log_mbh_mcconnell_ma(sigma)) if resolved else float("nan"),
                "calibflux": np.asarray(spec["CALIBFLUX"], dtype=np.float64),
                **lines,
            }
    return out


def add_portsmouth_masses(spectra: dict, efeds_path, *, radius_arcsec: float = 2.0) -> int:
    """Add ``log_mstar`` (Portsmouth, Maraston et al. 2013) to spectra within ``radius_arcsec`` of an eFEDS row.

    ``efeds/sdss_efeds.csv`` has positions and stellar masses but no magnitudes. Entries
    without a match get NaN. Returns the number matched.
    """
    from astropy.coordinates import SkyCoord
    from astropy.table import Table

    table = Table.read(efeds_path, format="ascii.csv")
    keys = list(spectra)
    for key in keys:
        spectra[key]["log_mstar"] = float("nan")
    if not keys or len(table) == 0:
        return 0
    ours = SkyCoord([spectra[k]["ra"] for k in keys], [spectra[k]["dec"] for k in keys], unit="deg")
    theirs = SkyCoord(np.asarray(table["ra"], float), np.asarray(table["dec"], float), unit="deg")
    index, sep, _ = ours.match_to_catalog_sky(theirs)
    matched = 0
    for key, row, distance in zip(keys, index, sep.arcsec):
        mass = float(table["Mstar"][row])
        if distance <= radius_arcsec and mass > 0:
            spectra[key]["log_mstar"] = float(np.log10(mass))
            matched += 1
    return matched


def convert_jpeg_cutouts(image_dir, spectra: dict, *, pixel_scale: float | None = None, seed: int = 0) -> dict:
    """Convert every ``<objID>.jpeg`` in ``image_dir`` to a ``(3, 160, 160)`` gri nanomaggie cutout.

    Steps: :func:`~astro_galflow.realdata.skyserver_jpeg.jpeg_to_linear`, sky pedestal
    removal, pixel scale (``pixel_scale`` or estimated from the most compact sources
    assuming SDSS median seeing), per-band scale fitted to the fibre fluxes of the galaxies
    in ``spectra`` (1 display unit per nanomaggie if none match), flux-conserving resampling
    to 0.396 arcsec/px and padding with Gaussian sky noise.

    Returns
    -------
    dict
        ``ids`` (list of objID str), ``cutouts`` ``(n, 3, 160, 160)`` float32 at 0.396
        arcsec/px, ``naive`` (the same images taken as if already at 0.396 arcsec/px,
        centre-cropped, for the scale-sensitivity check), ``pixel_scale``,
        ``pixel_scale_source``, ``psf_fwhm_px`` (smallest source FWHM per image),
        ``band_scales``, ``band_scale_scatter_dex``, ``n_calibrators``, ``jpeg_shape``.
    """
    image_dir = Path(image_dir)
    paths = sorted(image_dir.glob("*.jpeg")) + sorted(image_dir.glob("*.jpg"))
    if not paths:
        raise InputError(f"no .jpeg cutouts in {os.fspath(image_dir)!r}")
    ids = [p.stem for p in paths]
    rgbs = [sj.read_jpeg(p) for p in paths]
    skysub = [sj.subtract_sky(sj.jpeg_to_linear(rgb)) for rgb in rgbs]
    linear = [im for im, _ in skysub]
    fwhm = [sj.psf_fwhm_pixels(im) for im in linear]
    source = "given"
    if pixel_scale is None:
        pixel_scale, source = (
            sj.estimate_pixel_scale(fwhm),
            "estimated: SDSS median seeing / median smallest-source FWHM",
        )
        if not np.isfinite(pixel_scale):
            pixel_scale, source = sj.SDSS_PIXEL_SCALE, "assumed 0.396 (no compact source found)"
    calib = [k for k, i in enumerate(ids) if i in spectra]
    if calib:
        fibre = np.stack([spectra[ids[k]]["calibflux"][1:4] for k in calib])
        scales, scatter = sj.calibrate_band_scales(np.stack([linear[k] for k in calib]), fibre, pixel_scale=pixel_scale)
    else:
        scales, scatter = np.ones(3), np.full(3, np.nan)
    cutouts, naive = [], []
    for k, (im, sigma) in enumerate(skysub):
        flux = im / scales[:, None, None].astype(np.float32)
        cutouts.append(sj.resample_cutout(flux, pixel_scale, pad_sigma=sigma / scales, seed=seed + k))
        naive.append(sj.resample_cutout(flux, sj.SDSS_PIXEL_SCALE, pad_sigma=sigma / scales, seed=seed + k))
    return {
        "ids": ids,
        "cutouts": np.stack(cutouts),
        "naive": np.stack(naive),
        "pixel_scale": float(pixel_scale),
        "pixel_scale_source": source,
        "psf_fwhm_px": [float(f[0]) if len(f) else None for f in fwhm],
        "band_scales": scales.tolist(),
        "band_scale_scatter_dex": scatter.tolist(),
        "n_calibrators": len(calib),
        "jpeg_shape": list(rgbs[0].shape),
    }


def interval_metrics(truth, samples) -> dict:
    """Point and interval metrics of posterior ``samples`` ``(n, S)`` against ``truth`` ``(n,)``.

    The point estimate is the posterior median. R² is ``1 - SSE / SST`` about the truth's
    mean; bias is the median residual; NMAD is 1.4826 x the median absolute deviation of
    the residuals; coverage is the fraction of truths inside the central 68 / 95 % intervals.
    No truths give ``{"n": 0}``.
    """
    from scipy.stats import spearmanr

    truth = np.asarray(truth, dtype=np.float64)
    samples = np.asarray(samples, dtype=np.float64)
    if truth.size == 0:
        return {"n": 0}
    point = np.median(samples, axis=1)
    resid = point - truth
    lo68, hi68, lo95, hi95 = np.percentile(samples, [16, 84, 2.5, 97.5], axis=1)
    sst = np.sum((truth - truth.mean()) ** 2)
    return {
        "n": int(truth.size),
        "r2": float(1 - np.sum(resid**2) / sst) if sst > 0 else float("nan"),
        "spearman": float(spearmanr(point, truth).statistic) if truth.size > 2 else float("nan"),
        "bias": float(np.median(resid)),
        "nmad": float(1.4826 * np.median(np.abs(resid - np.median(resid)))),
        "coverage68": float(np.mean((truth >= lo68) & (truth <= hi68))),
        "coverage95": float(np.mean((truth >= lo95) & (truth <= hi95))),
    }


def mahalanobis(x, reference, ridge: float = 1e-3) -> np.ndarray:
    """Mahalanobis distance of rows of ``x`` to the mean/covariance of ``reference`` rows.

    ``ridge`` x the mean variance is added to the covariance diagonal so a reference
    smaller than the dimension still gives a finite distance.
    """
    reference = np.asarray(reference, dtype=np.float64)
    mean = reference.mean(axis=0)
    cov = np.cov(reference, rowvar=False)
    cov = cov + ridge * np.trace(cov) / cov.shape[0] * np.eye(cov.shape[0])
    diff = np.asarray(x, dtype=np.float64) - mean
    return np.sqrt(np.einsum("ij,ij->i", diff @ np.linalg.inv(cov), diff))


def _config(model_name, n_samples, seed):
    from astro_galflow.config import GalflowConfig

    return GalflowConfig(model=model_name, n_samples=n_samples, seed=seed, backend="eager", store_samples=True)


def _infer(table, cutouts, model, n_samples, seed):
    """Posterior table; the proxy photometry's missing-extinction warning is expected and recorded in the flags."""
    from astro_galflow.pipeline import infer_table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GalflowWarning)
        return infer_table(table, cutouts, config=_config(model.name, n_samples, seed), model=model)


def _flag_rate(posterior, flag) -> float:
    flags = np.asarray(posterior["posterior_flags"], dtype=np.int64)
    return float(np.mean((flags & int(flag)) != 0)) if flags.size else float("nan")


def _log1p_samples(posterior, param) -> np.ndarray:
    return np.log1p(np.asarray(posterior[f"{param}_samples"].to_value(LINE_FLUX_UNIT), dtype=np.float64))


def line_galaxies(mpajhu_path, *, z_max: float = 0.3):
    """The MPA-JHU galaxies :func:`check_lines` uses: z <= ``z_max`` and all four lines > 0, in file order."""
    from astro_galflow.realdata.readers import read_mpajhu_joined

    table = read_mpajhu_joined(mpajhu_path)
    keep = np.asarray(table["redshift"]) <= z_max
    for param in LINES:
        keep &= np.asarray(table[param].to_value(LINE_FLUX_UNIT)) > 0
    table = table[keep]
    if len(table) == 0:
        raise InputError(f"{os.fspath(mpajhu_path)!r}: no galaxy with z <= {z_max} and all four lines > 0")
    return table


def check_lines(model, mpajhu_path, *, n_samples: int = 500, seed: int = 0, z_max: float = 0.3) -> tuple[dict, dict]:
    """Line-flux posteriors of a photometry model against MPA-JHU fluxes; ``(metrics, arrays for plots)``.

    The arrays are ``{line: (truth, samples)}`` in the row order of :func:`line_galaxies`.
    """
    table = line_galaxies(mpajhu_path, z_max=z_max)
    posterior = _infer(table, None, model, n_samples, seed)
    metrics = {
        "model": model.name,
        "n_galaxies": len(table),
        "selection": f"class GALAXY, z <= {z_max}, all four MPA-JHU line fluxes > 0",
        "outside_training_domain_rate": _flag_rate(posterior, PosteriorFlag.OUTSIDE_TRAINING_DOMAIN),
        "space": "log1p(flux / 1e-17 erg/s/cm2)",
        "lines": {},
    }
    arrays = {}
    for param in LINES:
        if f"{param}_samples" not in posterior.colnames:
            continue
        truth = np.log1p(np.asarray(table[param].to_value(LINE_FLUX_UNIT), dtype=np.float64))
        samples = _log1p_samples(posterior, param)
        metrics["lines"][param] = interval_metrics(truth, samples)
        arrays[param] = (truth, samples)
    if "redshift_samples" in posterior.colnames:
        metrics["redshift"] = interval_metrics(np.asarray(table["redshift"]), np.asarray(posterior["redshift_samples"]))
    return metrics, arrays


def _pixel_stats(cutouts) -> dict:
    cutouts = np.asarray(cutouts, dtype=np.float64)
    total = cutouts.sum(axis=(2, 3))
    border = np.concatenate(
        [cutouts[..., :16, :].reshape(len(cutouts), 3, -1), cutouts[..., -16:, :].reshape(len(cutouts), 3, -1)], axis=2
    )
    return {
        "total_flux_nmgy_median": np.median(total, axis=0).tolist(),
        "total_mag_median": (22.5 - 2.5 * np.log10(np.clip(np.median(total, axis=0), 1e-9, None))).tolist(),
        "peak_nmgy_median": np.median(cutouts.max(axis=(2, 3)), axis=0).tolist(),
        "border_sigma_nmgy_median": np.median(
            1.4826 * np.median(np.abs(border - np.median(border, axis=2, keepdims=True)), axis=2), axis=0
        ).tolist(),
        "negative_fraction": float(np.mean(cutouts < 0)),
    }


def _latents(model, cutouts) -> np.ndarray:
    import torch

    encoder = model.image_encoder()
    with torch.inference_mode():
        return np.asarray(encoder(torch.from_numpy(np.ascontiguousarray(cutouts, dtype=np.float32))), dtype=np.float64)


def _proxy_table(ids, spectra) -> QTable:
    """Input table of the galaxies with spectra, ugriz from fibre fluxes (see the module docstring)."""
    from astro_galflow.inputs import SDSS_BANDS, mag_column

    rows = [i for i in ids if i in spectra]
    table = QTable()
    table["source_id"] = np.asarray(rows)
    table["ra"] = np.asarray([spectra[i]["ra"] for i in rows]) * u.deg
    table["dec"] = np.asarray([spectra[i]["dec"] for i in rows]) * u.deg
    flux = np.stack([spectra[i]["calibflux"] for i in rows])
    with np.errstate(divide="ignore", invalid="ignore"):
        mags = np.where(flux > 0, 22.5 - 2.5 * np.log10(flux), np.nan)
    for k, band in enumerate(SDSS_BANDS):
        table[mag_column(band)] = mags[:, k] * u.mag
    table["cutout_index"] = np.asarray([ids.index(i) for i in rows])
    table.meta["extinction_corrected"] = False
    return table


def _full_model(model, table, cutouts, spectra, n_samples, seed) -> dict:
    """Full-model posteriors of the proxy-photometry table against the spectra's truths."""
    posterior = _infer(table, cutouts, model, n_samples, seed)
    features = model.features(table, cutouts[np.asarray(table["cutout_index"])])
    n_image = 2 * model.image_encoder().vae.latent_dim
    outside = model.outside_domain_features(features)
    truth_cols = {"redshift": "redshift", "log_mbh": "log_mbh", **{p: p for p in LINES}}
    per_param, per_galaxy = {}, {str(i): {} for i in table["source_id"]}
    for param, key in truth_cols.items():
        if f"{param}_samples" not in posterior.colnames:
            continue
        truth = np.asarray([spectra[i][key] for i in table["source_id"]], dtype=np.float64)
        if param in LINES:
            samples, truth = _log1p_samples(posterior, param), np.log1p(truth)
        else:
            samples = np.asarray(posterior[f"{param}_samples"], dtype=np.float64)
        ok = np.isfinite(truth)
        per_param[param] = interval_metrics(truth[ok], samples[ok])
        for k, i in enumerate(table["source_id"]):
            known = round(float(truth[k]), 3) if ok[k] else None
            per_galaxy[str(i)][param] = [known, round(float(np.median(samples[k])), 3)]
    for param in ("log_mstar", "log_sfr"):
        if f"{param}_samples" in posterior.colnames:
            med = np.median(np.asarray(posterior[f"{param}_samples"], dtype=np.float64), axis=1)
            for k, i in enumerate(table["source_id"]):
                known = spectra[str(i)].get(param, float("nan"))
                known = round(float(known), 3) if np.isfinite(known) else None
                per_galaxy[str(i)][param] = [known, round(float(med[k]), 3)]
    return {
        "n_galaxies": len(table),
        "photometry": "SPECOBJ CALIBFLUX fibre fluxes as ugriz (3-arcsec apertures, not extinction-corrected): "
        "a proxy, not model magnitudes",
        "outside_training_domain_rate": _flag_rate(posterior, PosteriorFlag.OUTSIDE_TRAINING_DOMAIN),
        "outside_rate_image_features": float(outside[:, :n_image].any(axis=1).mean()),
        "outside_rate_photometry_features": float(outside[:, n_image:].any(axis=1).mean()),
        "all_finite": bool(all(np.isfinite(np.asarray(posterior[f"{p}_mean"])).all() for p in model.parameters)),
        "metrics": per_param,
        "per_galaxy_truth_vs_median": per_galaxy,
    }


def check_images(
    model, converted: dict, spectra: dict, reference, *, n_samples: int = 500, seed: int = 0
) -> tuple[dict, dict]:
    """VAE and full-model checks of converted JPEG cutouts against simulated ``reference`` cutouts.

    Parameters
    ----------
    model : GalflowModel
        An image model.
    converted : dict
        :func:`convert_jpeg_cutouts` output.
    spectra : dict
        :func:`read_spectra` output.
    reference : numpy.ndarray
        Simulated cutouts ``(m, 3, 160, 160)``, ``m >= 4``, from the training distribution:
        the first half fits the latent mean and covariance, the second half calibrates
        the distances.
    """
    if not model.requires_cutouts:
        raise InputError(f"model {model.name!r} has no image encoder")
    if len(reference) < 4:
        raise InputError(f"need at least 4 simulated reference cutouts, got {len(reference)}")
    cutouts = converted["cutouts"]
    ref_lat = _latents(model, reference)
    real_lat, naive_lat = _latents(model, cutouts), _latents(model, converted["naive"])
    # The JPEG's sky noise is far below SDSS's; adding noise at the simulated sky level
    # shows how much of the latent shift that alone causes.
    sim_stats = _pixel_stats(reference)
    sky = np.asarray(sim_stats["border_sigma_nmgy_median"], dtype=np.float32)[None, :, None, None]
    noisy = cutouts + np.random.default_rng(seed).standard_normal(cutouts.shape).astype(np.float32) * sky
    noisy_lat = _latents(model, noisy)
    d = ref_lat.shape[1] // 2  # features are [mu, sigma]; the distance uses mu
    # Mean and covariance from one half of the reference; the other half gives the
    # distances simulated galaxies unseen by that fit reach, for a fair comparison.
    half = len(ref_lat) // 2
    ref_mu, held_mu = ref_lat[:half, :d], ref_lat[half:, :d]
    ref_md = mahalanobis(held_mu, ref_mu)
    real_md, naive_md = mahalanobis(real_lat[:, :d], ref_mu), mahalanobis(naive_lat[:, :d], ref_mu)
    noisy_md = mahalanobis(noisy_lat[:, :d], ref_mu)
    n_image_features = ref_lat.shape[1]
    fmin, fmax = (bound[:n_image_features] for bound in model.feature_range)
    margin = 0.05 * (fmax - fmin)

    def image_ood(lat):
        return float(np.mean(((lat < fmin - margin) | (lat > fmax + margin)).any(axis=1)))

    metrics = {
        "model": model.name,
        "n_images": len(converted["ids"]),
        "conversion": {
            k: converted[k]
            for k in (
                "pixel_scale",
                "pixel_scale_source",
                "psf_fwhm_px",
                "band_scales",
                "band_scale_scatter_dex",
                "n_calibrators",
                "jpeg_shape",
            )
        },
        "cutout_shape": list(cutouts.shape),
        "pixel_stats": {
            "real": _pixel_stats(cutouts),
            "real_naive_scale": _pixel_stats(converted["naive"]),
            "simulated": sim_stats,
        },
        "latent_mahalanobis": {
            "reference": f"mean/covariance of the VAE mean latents of {half} simulated cutouts; simulated percentiles from {len(held_mu)} others",
            "simulated_p50_p95_p99": np.percentile(ref_md, [50, 95, 99]).tolist(),
            "real": dict(zip(converted["ids"], real_md.round(3).tolist())),
            "real_median": float(np.median(real_md)),
            "real_fraction_above_sim_p99": float(np.mean(real_md > np.percentile(ref_md, 99))),
            "naive_scale_median": float(np.median(naive_md)),
            "with_simulated_sky_noise_median": float(np.median(noisy_md)),
        },
        "image_features_outside_training_range_rate": {
            "real": image_ood(real_lat),
            "naive_scale": image_ood(naive_lat),
            "with_simulated_sky_noise": image_ood(noisy_lat),
            "simulated": image_ood(ref_lat),
        },
    }
    arrays = {"ref_md": ref_md, "real_md": real_md, "naive_md": naive_md, "noisy_md": noisy_md}
    table = _proxy_table(converted["ids"], spectra)
    if len(table):
        metrics["full_model_proxy_photometry"] = _full_model(model, table, cutouts, spectra, n_samples, seed)
        metrics["full_model_proxy_photometry_with_simulated_sky_noise"] = _full_model(
            model, table, noisy, spectra, n_samples, seed
        )
    return metrics, arrays


def _plots(out: Path, line_arrays: dict, image_arrays: dict, converted: dict, reference) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from astro_galflow.cutouts import asinh_scale

    written = []
    if line_arrays:
        fig, axes = plt.subplots(1, len(line_arrays), figsize=(3.2 * len(line_arrays), 3.2))
        for ax, (param, (truth, samples)) in zip(np.atleast_1d(axes), line_arrays.items()):
            med = np.median(samples, axis=1)
            lo, hi = np.percentile(samples, [16, 84], axis=1)
            ax.errorbar(truth, med, yerr=[med - lo, hi - med], fmt=".", ms=3, alpha=0.5, lw=0.5)
            lim = [min(truth.min(), med.min()), max(truth.max(), med.max())]
            ax.plot(lim, lim, "k--", lw=0.8)
            ax.set_xlabel(f"MPA-JHU log1p({param})")
            ax.set_ylabel("predicted (median, 68 %)")
        fig.tight_layout()
        fig.savefig(out / "lines_real_vs_predicted.png", dpi=110)
        plt.close(fig)
        written.append("lines_real_vs_predicted.png")
    if image_arrays:
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
        ax.hist(image_arrays["ref_md"], bins=30, density=True, alpha=0.6, label="simulated")
        for key, colour, label in (
            ("real_md", "r", "real, resampled"),
            ("noisy_md", "g", "real + simulated sky noise"),
            ("naive_md", "m", 'real taken as 0.396"/px'),
        ):
            ax.hist(image_arrays[key], bins=15, density=True, histtype="step", color=colour, label=label)
        ax.legend(fontsize=6)
        ax.set_xlabel("Mahalanobis distance of VAE mean latent")
        fig.tight_layout()
        fig.savefig(out / "latent_mahalanobis.png", dpi=110)
        plt.close(fig)
        n = min(6, len(converted["ids"]))
        fig, axes = plt.subplots(3, n, figsize=(1.8 * n, 5.6))
        rows = (converted["cutouts"][:n], converted["naive"][:n], np.asarray(reference[:n]))
        for r, (label, images) in enumerate(zip(("real, resampled", 'real as 0.396"/px', "simulated"), rows)):
            for c in range(n):
                ax = axes[r, c]
                ax.imshow(asinh_scale(images[c][1]), origin="lower", cmap="gray", vmin=-2, vmax=8)
                ax.set_xticks([])
                ax.set_yticks([])
            axes[r, 0].set_ylabel(label, fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "cutouts_real_vs_simulated.png", dpi=90)
        plt.close(fig)
        written += ["latent_mahalanobis.png", "cutouts_real_vs_simulated.png"]
    return written


def main(argv=None) -> int:
    """Run both checks and write ``metrics.json`` and PNGs to ``--out``; returns an exit code."""
    parser = argparse.ArgumentParser(prog="python studies/sim_model_real_checks.py", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, default=SHARED_SDSS, help="SDSS extracts (default: %(default)s)")
    parser.add_argument("--photometry-model", default="sim-photometry")
    parser.add_argument("--image-model", default="sim-default")
    parser.add_argument("--n-samples", type=int, default=500)
    parser.add_argument("--n-reference", type=int, default=400, help="simulated galaxies rendered as the reference")
    parser.add_argument("--pixel-scale", type=float, default=None, help="arcsec/px of the JPEGs (default: estimate)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    import torch

    from astro_galflow.models import load_model
    from astro_galflow.sources.simulated import SimulatedSource

    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    data = args.data_dir
    command = "python studies/sim_model_real_checks.py " + " ".join(sys.argv[1:] if argv is None else argv)
    results = {"command": command}
    line_metrics, line_arrays = check_lines(
        load_model(args.photometry_model),
        data / "skyserver_mpajhu_sample" / "joined_specphoto_galspecline.csv",
        n_samples=args.n_samples,
        seed=args.seed,
    )
    results["lines_photometry_model"] = line_metrics
    spectra = read_spectra(data / "cutouts_spectra" / "spectra")
    efeds = data / "efeds" / "sdss_efeds.csv"
    results["portsmouth_mass_matches"] = add_portsmouth_masses(spectra, efeds) if efeds.is_file() else 0
    converted = convert_jpeg_cutouts(
        data / "cutouts_spectra" / "images", spectra, pixel_scale=args.pixel_scale, seed=args.seed
    )
    reference = SimulatedSource(seed=args.seed + 1).simulate(args.n_reference).cutouts
    image_metrics, image_arrays = check_images(
        load_model(args.image_model),
        converted,
        spectra,
        np.asarray(reference),
        n_samples=args.n_samples,
        seed=args.seed,
    )
    results["images_image_model"] = image_metrics
    results["figures"] = _plots(args.out, line_arrays, image_arrays, converted, reference)
    (args.out / "metrics.json").write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
