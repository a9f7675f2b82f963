#!/usr/bin/env python3
"""Write the tables and images the CI DaCHS serves, mirroring the real survey schemas.

usage: gen_data.py REPO_DATA_DIR GAVO_INPUTS_DIR

Writes under GAVO_INPUTS_DIR (one folder per resource descriptor):

``galflow_sdss/data/{specphoto,photoobj,galspecinfo,galspecextra,galspecline}.csv``
    SDSS CAS tables (schema ``dbo``). Real rows from
    ``REPO_DATA_DIR/sdss_specphoto_galspecline.csv`` (see ``data/ORIGIN.md``); the
    columns that extract lacks are simulated, deterministically.
``galflow_rubin/data/object.csv``
    Rubin DP0.2 ``Object`` rows (fluxes in nJy), simulated, some with non-positive flux.
``galflow_roman/data/galaxies.csv``
    Roman simulated-catalog rows (AB magnitudes in WFI filters), simulated.
``galflow_img/data/*.fits``
    Single-band FITS images with a TAN WCS at each survey's pixel scale, in
    nanomaggies per pixel, around a few catalog galaxies (SDSS gri, LSST gri, Roman
    Y106/J129/H158), each with a neighbour galaxy the cutout preprocessing must mask.

Runs with Debian's python3 (numpy and astropy come with DaCHS) or any Python with them.
"""

import csv
import math
import os
import random
import sys

BANDS = "ugriz"
LSST_BANDS = "ugrizy"
ROMAN_BANDS = ("R062", "Z087", "Y106", "J129", "H158", "F184", "K213")

#: Field centres of the simulated surveys: DC2 (DP0.2) and the OpenUniverse 2024 area.
RUBIN_CENTRE = (62.0, -37.0)
ROMAN_CENTRE = (9.6, -44.0)

SDSS_PIXEL_ARCSEC = 0.396
LSST_PIXEL_ARCSEC = 0.2
ROMAN_PIXEL_ARCSEC = 0.11
IMAGE_SIZE = 220

#: Effective wavelengths (m) written into the image headers for SIA's bandpass columns.
WAVELENGTH = {
    "g": 4.77e-7,
    "r": 6.23e-7,
    "i": 7.63e-7,
    "Y106": 1.06e-6,
    "J129": 1.29e-6,
    "H158": 1.58e-6,
}


def _write_csv(path, header, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    os.replace(path + ".tmp", path)


def _num(x):
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else repr(x) if isinstance(x, float) else str(x)


def sdss_tables(src, outdir):
    """Write the five SDSS CAS tables; return the galaxy rows used for images."""
    rng = random.Random(4)
    with open(src, newline="") as f:
        rows = list(csv.DictReader(f))
    sp, po, info, extra, line = [], [], [], [], []
    seen = set()
    for r in rows:
        # the extract repeats a few spectra (re-observations joined twice); keys must be unique
        if r["specObjID"] in seen or r["objID"] in seen:
            continue
        seen.update((r["specObjID"], r["objID"]))
        fl = {k: (float(v) if v not in ("", None) else float("nan")) for k, v in r.items() if k != "class"}
        mgs = r["class"] == "GALAXY" and fl["petroMag_r"] - fl["extinction_r"] <= 17.77
        legacy_target1 = 64 if mgs else 0
        ext = [fl["extinction_" + b] for b in BANDS]
        dered = [fl["dered_" + b] for b in BANDS]
        sp.append(
            [
                r["specObjID"],
                r["objID"],
                r["ra"],
                r["dec"],
                r["z"],
                r["zErr"],
                r["zWarning"],
                r["class"],
                r["plate"],
                r["mjd"],
                r["fiberID"],
                r["type"],
                legacy_target1,
                r["petroMag_r"],
            ]
            + [r["modelMag_" + b] for b in BANDS]
            + [r["modelMagErr_" + b] for b in BANDS]
            + [r["extinction_" + b] for b in BANDS]
            + [r["dered_" + b] for b in BANDS]
        )
        po.append(
            [r["objID"], r["ra"], r["dec"], r["type"]]
            + [r["modelMag_" + b] for b in BANDS]
            + [r["modelMagErr_" + b] for b in BANDS]
            + [r["extinction_" + b] for b in BANDS]
            + [r["petroMag_r"], _num(round(1.0 + 3.0 * rng.random(), 3))]
        )
        # Simulated MPA-JHU quantities: a stellar mass from the FIREFLY one where given,
        # otherwise from the r-band luminosity; SFR from a main sequence; O/H from a
        # mass-metallicity relation for star-forming objects, -9999 otherwise (as MPA-JHU).
        z = max(fl["z"], 1e-3)
        firefly = fl.get("Chabrier_MILES_total_mass", float("nan"))
        if firefly == firefly and firefly > 0:
            lgm = math.log10(firefly) + rng.gauss(0, 0.1)
        else:
            dist_mpc = 4283.0 * z * (1 + z / 2)
            abs_r = dered[2] - 5 * math.log10(dist_mpc * 1e5)
            lgm = 10.0 - 0.4 * (abs_r + 21.0) + rng.gauss(0, 0.15)
        lgm = round(min(max(lgm, 7.5), 12.3), 4)
        sf = fl["h_alpha_flux"] > 3 * max(fl["h_alpha_flux_err"], 1e-3)
        sfr = round(0.76 * (lgm - 10.0) + (0.1 if sf else -1.2) + rng.gauss(0, 0.3), 4)
        oh = round(-1.492 + 1.847 * lgm - 0.08026 * lgm**2 + rng.gauss(0, 0.1), 4) if sf else -9999.0
        vdisp = round(max(30.0, 10 ** (0.3 * (lgm - 11.0) + 2.3 + rng.gauss(0, 0.05))), 2)
        info.append(
            [
                r["specObjID"],
                r["ra"],
                r["dec"],
                r["z"],
                vdisp,
                round(0.05 * vdisp, 2),
                "GALAXY" if mgs else ("QSO" if r["class"] == "QSO" else "SPECIAL"),
                r["class"],
                r["plate"],
                r["mjd"],
                r["fiberID"],
                round(ext[2] / 2.285, 5),
            ]
        )
        extra.append(
            [r["specObjID"], 1 if sf else -1]
            + [round(lgm + d, 4) for d in (-0.1, 0.0, 0.1)]
            + [round(sfr + d, 4) for d in (-0.3, 0.0, 0.3)]
            + [round(sfr - lgm, 4)]
            + ([round(oh + d, 4) for d in (-0.05, 0.0, 0.05)] if sf else [-9999.0] * 3)
        )
        line.append(
            [r["specObjID"], r["sigma_balmer"], r["sigma_forbidden"]]
            + [
                r[k]
                for k in (
                    "h_alpha_flux",
                    "h_alpha_flux_err",
                    "h_beta_flux",
                    "h_beta_flux_err",
                    "nii_6584_flux",
                    "nii_6584_flux_err",
                    "oiii_5007_flux",
                    "oiii_5007_flux_err",
                )
            ]
        )
    d = os.path.join(outdir, "galflow_sdss", "data")
    _write_csv(
        os.path.join(d, "specphoto.csv"),
        [
            "specobjid",
            "objid",
            "ra",
            "dec",
            "z",
            "zerr",
            "zwarning",
            "class",
            "plate",
            "mjd",
            "fiberid",
            "type",
            "legacy_target1",
            "petromag_r",
        ]
        + ["modelmag_" + b for b in BANDS]
        + ["modelmagerr_" + b for b in BANDS]
        + ["extinction_" + b for b in BANDS]
        + ["dered_" + b for b in BANDS],
        sp,
    )
    _write_csv(
        os.path.join(d, "photoobj.csv"),
        ["objid", "ra", "dec", "type"]
        + ["modelmag_" + b for b in BANDS]
        + ["modelmagerr_" + b for b in BANDS]
        + ["extinction_" + b for b in BANDS]
        + ["petromag_r", "petror50_r"],
        po,
    )
    _write_csv(
        os.path.join(d, "galspecinfo.csv"),
        [
            "specobjid",
            "ra",
            "dec",
            "z",
            "v_disp",
            "v_disp_err",
            "targettype",
            "spectrotype",
            "plateid",
            "mjd",
            "fiberid",
            "e_bv_sfd",
        ],
        info,
    )
    _write_csv(
        os.path.join(d, "galspecextra.csv"),
        [
            "specobjid",
            "bptclass",
            "lgm_tot_p16",
            "lgm_tot_p50",
            "lgm_tot_p84",
            "sfr_tot_p16",
            "sfr_tot_p50",
            "sfr_tot_p84",
            "specsfr_tot_p50",
            "oh_p16",
            "oh_p50",
            "oh_p84",
        ],
        extra,
    )
    _write_csv(
        os.path.join(d, "galspecline.csv"),
        [
            "specobjid",
            "sigma_balmer",
            "sigma_forbidden",
            "h_alpha_flux",
            "h_alpha_flux_err",
            "h_beta_flux",
            "h_beta_flux_err",
            "nii_6584_flux",
            "nii_6584_flux_err",
            "oiii_5007_flux",
            "oiii_5007_flux_err",
        ],
        line,
    )
    # images for the first MGS galaxies in specObjID order, so that the first page of a
    # training-set build has cutouts
    mgs = sorted((s for s in sp if s[12] == 64 and 0 < float(s[4]) <= 0.3 and s[6] == "0"), key=lambda s: int(s[0]))
    return [(float(s[2]), float(s[3]), [float(x) for x in s[-4:-1]]) for s in mgs[:4]]


def _sim_field(rng, centre, n, half_width):
    ra0, dec0 = centre
    for _ in range(n):
        dec = dec0 + half_width * (2 * rng.random() - 1)
        ra = ra0 + half_width * (2 * rng.random() - 1) / math.cos(math.radians(dec0))
        yield ra, dec


def rubin_table(outdir, n=400):
    """Write DP0.2-like ``Object`` rows; return two galaxy targets for images."""
    rng = random.Random(5)
    rows, targets = [], []
    for k, (ra, dec) in enumerate(_sim_field(rng, RUBIN_CENTRE, n, 0.25)):
        r = 19.0 + 5.0 * rng.random()
        mags = {"u": r + 1.6, "g": r + 0.7, "r": r, "i": r - 0.35, "z": r - 0.55, "y": r - 0.65}
        fluxes = []
        for b in LSST_BANDS:
            f = 10 ** ((31.4 - mags[b] + rng.gauss(0, 0.02)) / 2.5)  # AB zero point of nJy
            err = 0.02 * f + 30.0
            if k % 50 == 7 and b == "u":
                f = -abs(rng.gauss(0, err))  # forced-photometry noise: non-positive flux
            fluxes += [round(f, 3), round(err, 3)]
        primary = 1 if k % 40 != 3 else 0
        rows.append(
            [1609780000000000000 + k, round(ra, 7), round(dec, 7), primary, 1.0, round(0.01 + 0.02 * rng.random(), 4)]
            + fluxes
        )
        if k < 2:
            targets.append((ra, dec, [mags[b] for b in "gri"]))
    header = ["objectid", "coord_ra", "coord_dec", "detect_isprimary", "refextendedness", "ebv"]
    for b in LSST_BANDS:
        header += [b + "_cmodelflux", b + "_cmodelfluxerr"]
    _write_csv(os.path.join(outdir, "galflow_rubin", "data", "object.csv"), header, rows)
    return targets


def roman_table(outdir, n=300):
    """Write Roman simulated-catalog rows; return two targets for images."""
    rng = random.Random(6)
    rows, targets = [], []
    for k, (ra, dec) in enumerate(_sim_field(rng, ROMAN_CENTRE, n, 0.2)):
        h = 20.0 + 5.0 * rng.random()
        z = round(0.05 + 2.0 * rng.random(), 4)
        mags = [h + 0.8, h + 0.5, h + 0.3, h + 0.15, h, h - 0.1, h - 0.2]
        rows.append(
            [20240000000 + k, round(ra, 7), round(dec, 7), z] + [round(m + rng.gauss(0, 0.01), 4) for m in mags]
        )
        if k < 2:
            targets.append((ra, dec, [mags[2], mags[3], mags[4]]))
    header = ["galaxy_id", "ra", "dec", "redshift"] + ["mag_" + b.lower() for b in ROMAN_BANDS]
    _write_csv(os.path.join(outdir, "galflow_roman", "data", "galaxies.csv"), header, rows)
    return targets


def _galaxy(shape, x0, y0, flux, r_e):
    import numpy as np

    yy, xx = np.indices(shape, dtype=float)
    rr = np.hypot(xx - x0, yy - y0)
    prof = np.exp(-1.678 * rr / r_e)  # exponential disc, r_e the half-light radius
    return flux * prof / prof.sum()


def images(outdir, survey, targets, bands, pixel_arcsec, seed):
    """Write one FITS image per (target, band), target slightly off-centre."""
    import numpy as np
    from astropy.io import fits
    from astropy.wcs import WCS

    rng = np.random.default_rng(seed)
    d = os.path.join(outdir, "galflow_img", "data")
    os.makedirs(d, exist_ok=True)
    shape = (IMAGE_SIZE, IMAGE_SIZE)
    for t, (ra, dec, mags) in enumerate(targets):
        # the image centre is offset from the galaxy so that recentring is exercised
        cra = ra + (5 * pixel_arcsec / 3600) / math.cos(math.radians(dec))
        cdec = dec - 3 * pixel_arcsec / 3600
        w = WCS(naxis=2)
        w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        w.wcs.crval = [cra, cdec]
        w.wcs.crpix = [IMAGE_SIZE / 2 + 0.5, IMAGE_SIZE / 2 + 0.5]
        w.wcs.cdelt = [-pixel_arcsec / 3600, pixel_arcsec / 3600]
        w.wcs.cunit = ["deg", "deg"]
        w.wcs.radesys = "ICRS"
        x0, y0 = w.all_world2pix([[ra, dec]], 0)[0]
        r_e = 2.5 / pixel_arcsec
        for band, mag in zip(bands, mags):
            sky_noise = 0.02 * (SDSS_PIXEL_ARCSEC / pixel_arcsec)
            img = _galaxy(shape, x0, y0, 10 ** ((22.5 - mag) / 2.5), r_e)
            img += _galaxy(
                shape,
                x0 + 40 / pixel_arcsec * 0.396,
                y0 - 30 / pixel_arcsec * 0.396,
                10 ** ((22.5 - mag - 0.5) / 2.5),
                0.6 * r_e,
            )
            img += 0.1 + rng.normal(0, sky_noise, shape)  # sky pedestal the cutouts must remove
            hdr = w.to_header()
            hdr["FILTER"] = band
            hdr["DATE-OBS"] = f"2024-01-{1 + t:02d}T03:00:00"
            hdr["OBJECT"] = f"{survey}-{t}"
            hdr["SURVEY"] = survey
            hdr["BUNIT"] = "nanomaggy"
            hdr["WAVEREF"] = WAVELENGTH[band]
            hdr["WAVEMIN"] = WAVELENGTH[band] * 0.9
            hdr["WAVEMAX"] = WAVELENGTH[band] * 1.1
            name = os.path.join(d, f"{survey}_{t}_{band}.fits")
            fits.PrimaryHDU(data=img.astype("float32"), header=hdr).writeto(name, overwrite=True)


def main(argv):
    data_dir, outdir = argv[1], argv[2]
    sdss_targets = sdss_tables(os.path.join(data_dir, "sdss_specphoto_galspecline.csv"), outdir)
    images(outdir, "sdss", sdss_targets, "gri", SDSS_PIXEL_ARCSEC, 1)
    images(outdir, "lsst", rubin_table(outdir), "gri", LSST_PIXEL_ARCSEC, 2)
    images(outdir, "roman", roman_table(outdir), ("Y106", "J129", "H158"), ROMAN_PIXEL_ARCSEC, 3)
    print("wrote tables and images under", outdir)


if __name__ == "__main__":
    main(sys.argv)
