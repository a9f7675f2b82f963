"""Truth draws of a Main-Galaxy-Sample-like population.

Galaxies are drawn from the stellar mass function in the comoving volume out to
z = 0.3 (Planck 2018 cosmology, :data:`astropy.cosmology.Planck18`), given a star
formation rate, bulge + disk stellar populations, colours through the SDSS filters
(mapped onto real SDSS colours, :mod:`~astro_galflow.simulation.empirical`) and sizes,
observed with the real SDSS error model and Galactic-extinction residuals, and kept when the observed r magnitude is
brighter than the Main Galaxy Sample limit r < 17.77 (Strauss et al. 2002, AJ 124,
1810). Everything follows from one :class:`numpy.random.Generator`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from astro_galflow.simulation import empirical, lines, morphology, photometry, relations, sed
from astro_galflow.simulation.footprint import sample_positions

__all__ = ["MGS_R_LIMIT", "Z_MIN", "Z_MAX", "M_SUN_R", "draw_population", "mass_to_light_r"]

MGS_R_LIMIT = 17.77
Z_MIN, Z_MAX = 0.005, 0.3
#: Absolute AB magnitude of the Sun in SDSS r (Willmer 2018, ApJS 236, 47).
M_SUN_R = 4.65
_LOG_M_RANGE = (8.0, 12.5)
#: Flux-weighted wavelengths of the SDSS filters (Fukugita et al. 1996, AJ 111, 1748), Angstrom.
_BAND_WAVELENGTH = np.array([3551.0, 4686.0, 6166.0, 7480.0, 8932.0])
#: Mean log10(1/q) of randomly inclined disks of intrinsic thickness 0.2.
_MEAN_LOG_INV_Q = 0.313
#: Fraction of the total light a Petrosian magnitude recovers: 98% for an exponential
#: disk, 80% for a de Vaucouleurs bulge (Blanton et al. 2001, AJ 121, 2358).
_PETROSIAN_DISK, _PETROSIAN_BULGE = 0.98, 0.80
_BANDS = sed.BANDS


@lru_cache(maxsize=1)
def cosmology_tables() -> dict[str, np.ndarray]:
    """Planck18 distances, ages and volume element tabulated on a fine redshift grid."""
    from astropy.cosmology import Planck18

    z = np.linspace(0.0, 0.35, 701)
    zz = np.maximum(z, 1e-6)
    return {
        "z": z,
        "d_lum_mpc": Planck18.luminosity_distance(zz).value,
        "d_ang_mpc": Planck18.angular_diameter_distance(zz).value,
        "age_gyr": Planck18.age(z).value,
        "dv_dz": Planck18.differential_comoving_volume(zz).value,
    }


def _interp(name: str, z):
    tab = cosmology_tables()
    return np.interp(z, tab["z"], tab[name])


def mass_to_light_r(rest_g_minus_r):
    """log M*/L_r (solar units) from rest-frame g - r.

    Bell et al. (2003, ApJS 149, 289, Table 7): ``log M/L_r = -0.306 + 1.097 (g - r)``
    for their "diet Salpeter" IMF, lowered by 0.15 dex to the Kroupa IMF of the other
    relations (Bell et al. 2003, section 2.4).
    """
    return -0.306 + 1.097 * np.asarray(rest_g_minus_r, float) - 0.15


class _RedshiftMassSampler:
    """Joint (z, log M*) draws restricted to galaxies that could pass the magnitude limit.

    Drawing from the full mass function would waste most draws on dwarfs far too faint
    for r < 17.77; below ``log_m_min(z)`` (the mass of the bluest, lowest-M/L galaxy at
    r = 18.77, a margin for face-on disks bluer than the template and for noise) no
    galaxy can be selected, so the sampler skips it exactly.
    """

    def __init__(self, grid: sed.KCorrectionGrid):
        self.grid = grid
        self.z_edges = np.linspace(Z_MIN, Z_MAX, 591)
        zc = 0.5 * (self.z_edges[1:] + self.z_edges[:-1])
        self.log_m = np.linspace(*_LOG_M_RANGE, 2001)
        phi = relations.stellar_mass_function(self.log_m)
        dm = self.log_m[1] - self.log_m[0]
        # Number above each mass, from the top: N(>M) decreasing with M.
        self.n_above = np.concatenate([np.cumsum((0.5 * (phi[1:] + phi[:-1]) * dm)[::-1])[::-1], [0.0]])
        self.m_min = self.limit_mass(grid, zc)
        n_eligible = np.interp(self.m_min, self.log_m, self.n_above)
        w = _interp("dv_dz", zc) * n_eligible
        self.p = w / w.sum()

    @staticmethod
    def limit_mass(grid, z):
        weights = sed.mixture_weights(np.full(np.size(z), 3.0))
        log_ml = mass_to_light_r(grid.rest_colour(weights))
        dm = 5.0 * np.log10(_interp("d_lum_mpc", z) * 1e5)
        k = -2.5 * np.log10(grid.band_flux(weights, z)[:, _BANDS.index("r")])
        # r = M_sun - 2.5 (log M - log M/L) + DM + K, solved for log M at r = limit + 1.
        log_m = (M_SUN_R + dm + k - (MGS_R_LIMIT + 1.0)) / 2.5 + log_ml
        return np.clip(log_m, _LOG_M_RANGE[0], _LOG_M_RANGE[1] - 0.5)

    def draw(self, rng, n):
        k = rng.choice(self.p.size, size=n, p=self.p)
        z = self.z_edges[k] + rng.random(n) * (self.z_edges[k + 1] - self.z_edges[k])
        top = np.interp(self.limit_mass(self.grid, z), self.log_m, self.n_above)
        target = rng.random(n) * top
        log_m = np.interp(target, self.n_above[::-1], self.log_m[::-1])
        return z, log_m


def _component_fluxes(grid, log_mass, t, z, dm):
    """Observed ugriz fluxes (nanomaggies) of a stellar component of type ``t``."""
    w = sed.mixture_weights(t)
    log_lr = log_mass - mass_to_light_r(grid.rest_colour(w))
    abs_r = M_SUN_R - 2.5 * log_lr
    return photometry.mag_to_nmgy(abs_r + dm)[:, None] * grid.band_flux(w, z)


def _draw_batch(rng, sampler, grid, m, map_colours=True):
    z, log_mstar = sampler.draw(rng, m)
    quenched = rng.random(m) < relations.quenched_fraction(log_mstar)
    log_ms = relations.main_sequence_log_sfr(log_mstar, _interp("age_gyr", z))
    log_sfr = np.where(
        quenched,
        log_ms + relations.QUENCHED_OFFSET_DEX + rng.normal(0.0, relations.QUENCHED_SCATTER_DEX, m),
        log_ms + rng.normal(0.0, relations.SFMS_SCATTER_DEX, m),
    )
    # Bulge mass fractions: bulge-dominated quenched galaxies (mean 0.67), disk-dominated
    # star formers (mean 0.23), as in SDSS bulge + disk decompositions (Mendel et al.
    # 2014, ApJS 210, 3).
    bulge_mass_frac = np.where(quenched, rng.beta(4.0, 2.0, m), rng.beta(1.5, 5.0, m))
    log_m_bulge = log_mstar + np.log10(np.clip(bulge_mass_frac, 1e-4, None))
    log_m_disk = log_mstar + np.log10(np.clip(1.0 - bulge_mass_frac, 1e-4, None))
    # Old, metal-rich bulges look like the E template; a disk's type follows its
    # specific SFR: E at log sSFR = -11.5, Sbc at -10.0, Scd at -9.3, Im at -8.7
    # (per yr), anchors placed so that the blue cloud's g - r matches the SDSS MGS
    # (``python -m astro_galflow.simulation.compare``).
    t_bulge = np.abs(rng.normal(0.0, 0.1, m))
    ssfr_disk = log_sfr - log_m_disk
    t_disk = np.interp(ssfr_disk, [-11.5, -10.0, -9.3, -8.7], [0.0, 1.0, 2.0, 3.0]) + rng.normal(0.0, 0.2, m)
    dm = 5.0 * np.log10(_interp("d_lum_mpc", z) * 1e5)
    f_bulge = _component_fluxes(grid, log_m_bulge, t_bulge, z, dm)
    f_disk = _component_fluxes(grid, log_m_disk, t_disk, z, dm)
    # Inclined disks are dustier along the line of sight (slab geometry; Driver et al.
    # 2007, MNRAS 379, 1022). The CWW templates are spectra of typical, randomly
    # inclined galaxies, so only the departure from the mean inclination is added:
    # the stellar share of the Garn & Best (2010) attenuation times
    # 1.5 (log10(1/q) - <log10(1/q)>), on the Calzetti curve at each band's rest
    # wavelength (negative for face-on disks, which are bluer than the template).
    cos_i = rng.random(m)
    disk_q = np.sqrt((1.0 - 0.2**2) * cos_i**2 + 0.2**2)
    a_ha = np.clip(relations.halpha_attenuation(log_mstar) + rng.normal(0.0, 0.28, m), 0.0, None)
    ebv = np.where(quenched, 0.0, relations.stellar_ebv(a_ha) * 1.5 * (np.log10(1.0 / disk_q) - _MEAN_LOG_INV_Q))
    k_rest = relations.calzetti_k(_BAND_WAVELENGTH[None, :] / (1.0 + z[:, None]))
    f_disk = f_disk * 10.0 ** (-0.4 * ebv[:, None] * k_rest)
    flux = f_bulge + f_disk

    r_kpc = relations.half_light_radius_kpc(log_mstar, quenched) * np.exp(
        rng.normal(0.0, 1.0, m) * relations.size_scatter_ln(log_mstar, quenched)
    )
    hlr = r_kpc / (_interp("d_ang_mpc", z) * 1e3) * 206264.806
    if map_colours:
        f_bulge, f_disk, flux, errors, residual_dust, ebv_sfd = _sdss_photometry(rng, z, f_bulge, f_disk)
    else:
        # The template photometry alone, with the physical error model: what the
        # empirical maps are fitted to (astro_galflow.simulation.empirical).
        errors = np.stack([photometry.flux_error_nmgy(flux[:, b], hlr, band) for b, band in enumerate(_BANDS)], axis=1)
        residual_dust, ebv_sfd = np.ones_like(flux), np.zeros(m)
    observed = (flux + rng.normal(0.0, 1.0, flux.shape) * errors) * residual_dust
    r = _BANDS.index("r")
    petrosian = _PETROSIAN_BULGE * f_bulge[:, r] + _PETROSIAN_DISK * f_disk[:, r]
    keep = observed[:, r] * petrosian / flux[:, r] > photometry.mag_to_nmgy(MGS_R_LIMIT)
    keep &= np.all(observed > 0, axis=1)
    batch = {
        "redshift": z,
        "log_mstar": log_mstar,
        "log_sfr": log_sfr,
        "quenched": quenched,
        "disk_axis_ratio": disk_q,
        "flux_true": flux,
        "flux_bulge": f_bulge,
        "flux_obs": observed,
        "flux_err": errors,
        "half_light_radius": hlr,
        "half_light_radius_kpc": r_kpc,
        "ebv_sfd": ebv_sfd,
    }
    return {k: v[keep] for k, v in batch.items()}


def _sdss_photometry(rng, z, f_bulge, f_disk):
    """Real-SDSS colours, errors and Galactic-dust residuals (:mod:`~.empirical`) of template fluxes.

    Returns the rescaled bulge, disk and total true fluxes, the flux errors, the factor
    the residual of the SFD extinction correction multiplies observed fluxes by, and the
    map ``E(B-V)``.
    """
    model = empirical.load_model()
    flux = f_bulge + f_disk
    offsets = np.array([photometry.SDSS_MINUS_AB[b] for b in _BANDS])
    mags = photometry.nmgy_to_mag(flux) + offsets
    colours = empirical.map_colours(model, z, empirical.scatter_colours(rng, mags[:, :-1] - mags[:, 1:]))
    new = np.empty_like(mags)
    new[:, 2] = mags[:, 2]
    new[:, 1] = new[:, 2] + colours[:, 1]
    new[:, 0] = new[:, 1] + colours[:, 0]
    new[:, 3] = new[:, 2] - colours[:, 2]
    new[:, 4] = new[:, 3] - colours[:, 3]
    # Bulge and disk keep their shares of each band, so r-band structure is unchanged.
    scale = 10.0 ** (-0.4 * (new - mags))
    f_bulge, f_disk = f_bulge * scale, f_disk * scale
    flux = f_bulge + f_disk
    errors = empirical.magnitude_errors(rng, model, new, z) * flux / (2.5 / np.log(10.0))
    ebv_map, ebv_true = empirical.draw_ebv(rng, model, len(z))
    residual = 10.0 ** (-0.4 * empirical.SF11_COEFFICIENTS[None, :] * (ebv_true - ebv_map)[:, None])
    return f_bulge, f_disk, flux, errors, residual, ebv_map


def _add_structure(rng, g):
    n = len(g["redshift"])
    r = _BANDS.index("r")
    g["bulge_fraction"] = g["flux_bulge"][:, r] / g["flux_true"][:, r]
    g["disk_hlr"] = morphology.disk_radius(g["half_light_radius"], g["bulge_fraction"])
    g["bulge_hlr"] = morphology.BULGE_TO_DISK_RADIUS * g["disk_hlr"]
    # Mildly flattened bulges (early-type q ~ 0.75 +- 0.15, Padilla & Strauss 2008).
    g["bulge_axis_ratio"] = np.clip(rng.normal(0.75, 0.15, n), 0.3, 1.0)
    g["position_angle"] = rng.uniform(0.0, 180.0, n)


def _add_spectroscopy(rng, g):
    n = len(g["redshift"])
    g["velocity_dispersion"] = relations.velocity_dispersion(g["log_mstar"]) * 10.0 ** rng.normal(
        0.0, relations.SIGMA_SCATTER_DEX, n
    )
    g["log_mbh"] = relations.black_hole_mass(g["velocity_dispersion"])
    g["oh_12"] = relations.mass_metallicity(g["log_mstar"]) + rng.normal(0.0, relations.MZR_SCATTER_DEX, n)
    fwhm = photometry.PSF_FWHM_ARCSEC
    bf = g["bulge_fraction"]
    fib_disk = morphology.fiber_fraction(g["disk_hlr"], fwhm)
    fib_all = (1.0 - bf) * fib_disk + bf * morphology.fiber_fraction(g["bulge_hlr"], fwhm)
    fiber_r = g["flux_true"][:, _BANDS.index("r")] * fib_all
    true = lines.line_fluxes(
        rng,
        log_mstar=g["log_mstar"],
        log_sfr=g["log_sfr"],
        oh_12=g["oh_12"],
        redshift=g["redshift"],
        d_lum_mpc=_interp("d_lum_mpc", g["redshift"]),
        sf_fiber_fraction=fib_disk,
        fiber_flux_r_nmgy=fiber_r,
    )
    g.update(true)
    g["metallicity_detectable"], _ = lines.metallicity_detectable(rng, true, lines.line_errors(fiber_r, g["redshift"]))


def draw_population(n: int, rng, *, footprint=None, map_colours: bool = True) -> dict[str, np.ndarray]:
    """Draw ``n`` galaxies that pass the Main Galaxy Sample selection.

    Parameters
    ----------
    n : int
        Number of selected galaxies.
    rng : numpy.random.Generator
        Source of every random number (the result is a function of its state and ``n``).
    footprint : tuple of 4 float, optional
        ``(ra_min, ra_max, dec_min, dec_max)`` in degrees; default
        :data:`~astro_galflow.simulation.footprint.DEFAULT_FOOTPRINT`.
    map_colours : bool
        Give the galaxies real-SDSS colours, magnitude errors and Galactic-dust residuals
        (:mod:`~astro_galflow.simulation.empirical`; the default). False keeps the bare
        template colours and the physical error model of
        :mod:`~astro_galflow.simulation.photometry`: what the empirical maps are fitted to.

    Returns
    -------
    dict of numpy.ndarray
        Truth and observed quantities, one entry per row (fluxes in nanomaggies,
        ``flux_*`` arrays of shape ``(n, 5)`` in ugriz order).
    """
    grid = sed.default_grid()
    sampler = _sampler(grid)
    parts = []
    have = 0
    batch = max(2048, 3 * n)
    while have < n:
        part = _draw_batch(rng, sampler, grid, batch, map_colours)
        parts.append(part)
        have += len(part["redshift"])
    g = {k: np.concatenate([p[k] for p in parts])[:n] for k in parts[0]}
    g["ra"], g["dec"] = sample_positions(rng, n, footprint)
    _add_structure(rng, g)
    _add_spectroscopy(rng, g)
    return g


@lru_cache(maxsize=1)
def _sampler(grid) -> _RedshiftMassSampler:
    return _RedshiftMassSampler(grid)
