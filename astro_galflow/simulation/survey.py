"""Assemble a simulated survey: truth draws -> input-convention table -> rendered cutouts."""

from __future__ import annotations

import time

import astropy.units as u
import numpy as np
from astropy.table import QTable

from astro_galflow.cutouts import CUTOUT_SIZE, create_cutouts
from astro_galflow.exceptions import InputError
from astro_galflow.params import LINE_PARAMETERS, get_parameter
from astro_galflow.simulation import photometry, render
from astro_galflow.simulation.catalog import SimulatedCatalog
from astro_galflow.simulation.footprint import check_footprint
from astro_galflow.simulation.population import MGS_R_LIMIT, draw_population
from astro_galflow.simulation.sed import BANDS

__all__ = ["simulate_survey", "render_params"]

_TRUTH = ("redshift", "log_mstar", "log_sfr", "log_mbh", "oh_12", *LINE_PARAMETERS)


def _build_table(g: dict, *, seed: int, footprint) -> QTable:
    n = len(g["redshift"])
    table = QTable()
    table["source_id"] = np.arange(n, dtype=np.int64)
    table["ra"] = g["ra"] * u.deg
    table["dec"] = g["dec"] * u.deg
    observed, errors = g["flux_obs"], g["flux_err"]
    for b, band in enumerate(BANDS):
        ab = 22.5 - 2.5 * np.log10(observed[:, b])
        table[f"mag_{band}"] = (ab + photometry.SDSS_MINUS_AB[band]) * u.mag
    for b, band in enumerate(BANDS):
        table[f"magerr_{band}"] = (2.5 / np.log(10.0) * errors[:, b] / observed[:, b]) * u.mag
    for name in _TRUTH:
        table[name] = g[name] * get_parameter(name).unit
    table["metallicity_detectable"] = g["metallicity_detectable"]
    table["velocity_dispersion"] = g["velocity_dispersion"] * (u.km / u.s)
    table["quenched"] = g["quenched"]
    table["bulge_fraction"] = g["bulge_fraction"]
    table["half_light_radius"] = g["half_light_radius"] * u.arcsec
    table["half_light_radius_kpc"] = g["half_light_radius_kpc"] * u.kpc
    table["disk_axis_ratio"] = g["disk_axis_ratio"]
    table["bulge_axis_ratio"] = g["bulge_axis_ratio"]
    table["position_angle"] = g["position_angle"] * u.deg
    # SFD E(B-V) of the drawn sight line: the magnitudes are already corrected with it.
    table["ebv_sfd"] = g["ebv_sfd"] * u.mag
    for b, band in enumerate(BANDS):
        table[f"flux_true_{band}"] = g["flux_true"][:, b] * u.nanomaggy
    for b, band in enumerate(BANDS):
        table[f"flux_bulge_{band}"] = g["flux_bulge"][:, b] * u.nanomaggy
    table["cutout_index"] = np.arange(n, dtype=np.int64)
    table.meta.update(
        {
            "survey": "simulated",
            "seed": int(seed),
            "footprint": ",".join(f"{v:g}" for v in check_footprint(footprint)),
            "r_limit": MGS_R_LIMIT,
            "extinction_corrected": True,
            "bands": "".join(BANDS),
            "image_bands": "".join(render.IMAGE_BANDS),
        }
    )
    return table


def render_params(table) -> dict[str, np.ndarray]:
    """What :func:`~astro_galflow.simulation.render.render_cutouts` needs, from a catalog table."""
    from astro_galflow.simulation import morphology

    bands = render.IMAGE_BANDS
    total = np.stack([np.asarray(table[f"flux_true_{b}"].value) for b in bands], axis=1)
    bulge = np.stack([np.asarray(table[f"flux_bulge_{b}"].value) for b in bands], axis=1)
    hlr = np.asarray(table["half_light_radius"].to_value(u.arcsec))
    disk_hlr = morphology.disk_radius(hlr, np.asarray(table["bulge_fraction"]))
    return {
        "disk_hlr": disk_hlr,
        "bulge_hlr": morphology.BULGE_TO_DISK_RADIUS * disk_hlr,
        "disk_axis_ratio": np.asarray(table["disk_axis_ratio"]),
        "bulge_axis_ratio": np.asarray(table["bulge_axis_ratio"]),
        "position_angle": np.asarray(table["position_angle"].to_value(u.deg)),
        "flux_disk": total - bulge,
        "flux_bulge": bulge,
    }


def simulate_survey(
    n: int, *, seed: int = 0, footprint=None, render_images: bool = True, cutouts_path=None, progress: bool = False
) -> SimulatedCatalog:
    """Draw ``n`` Main-Galaxy-Sample-like galaxies and (optionally) render their cutouts.

    See :meth:`astro_galflow.sources.simulated.SimulatedSource.simulate`.
    """
    if int(n) != n or n < 1:
        raise InputError(f"number of galaxies n={n!r} must be a positive integer")
    n = int(n)
    g = draw_population(n, np.random.default_rng(seed), footprint=footprint)
    table = _build_table(g, seed=seed, footprint=footprint)
    if not render_images:
        return SimulatedCatalog(table=table, cutouts=None)
    if cutouts_path is None:
        cutouts = np.empty((n, len(render.IMAGE_BANDS), CUTOUT_SIZE, CUTOUT_SIZE), dtype=np.float32)
    else:
        cutouts = create_cutouts(cutouts_path, n, n_bands=len(render.IMAGE_BANDS))
    start = time.perf_counter()
    render.render_cutouts(render_params(table), cutouts, seed=seed, progress=progress)
    seconds = time.perf_counter() - start
    if isinstance(cutouts, np.memmap):
        cutouts.flush()
    return SimulatedCatalog(table=table, cutouts=cutouts, render_seconds=seconds)
