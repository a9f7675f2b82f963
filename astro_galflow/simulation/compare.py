"""Compare the simulated survey with the real SDSS Main Galaxy Sample file.

Run as ``python -m astro_galflow.simulation.compare --out docs/_static/simulated_vs_mgs``
to write ``<out>.json`` (KS statistics, medians and quantiles of z, r and the four
adjacent colours) and ``<out>.png`` (histograms). The real sample is
``SDSS_MGS.train`` of MLZ (Carrasco Kind & Brunner 2013): 5,000 MGS galaxies with
spectroscopic redshifts and extinction-corrected model magnitudes. The metallicity
detectability is checked against the ~200 MGS-like galaxies of the SkyServer
SpecPhoto x galSpecLine sample (:func:`mpajhu_line_detection`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from astro_galflow.simulation.footprint import check_footprint
from astro_galflow.simulation.lines import below_maximum_starburst
from astro_galflow.simulation.survey import simulate_survey

__all__ = ["QUANTITIES", "read_mgs", "quantities_of", "compare", "mpajhu_line_detection", "main"]

QUANTITIES = ("redshift", "r", "u-g", "g-r", "r-i", "i-z")
_SDSS_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sdss"
_DEFAULT_MGS = _SDSS_DATA / "mgs_photoz" / "SDSS_MGS.train"
_DEFAULT_LINES = _SDSS_DATA / "skyserver_mpajhu_sample" / "joined_specphoto_galspecline.csv"
_LINE_COLUMNS = ("h_alpha", "h_beta", "nii_6584", "oiii_5007")


def read_mgs(path) -> dict[str, np.ndarray]:
    """z, ugriz and their errors from the MLZ ``SDSS_MGS.train`` file."""
    data = np.loadtxt(path, comments="#", usecols=range(15))
    # Columns 11-15 are the u, g, r, i, z errors (the header line lacks the "eu" label).
    return {"redshift": data[:, 0], "mags": data[:, 1:6], "magerrs": data[:, 10:15]}


def quantities_of(redshift, mags) -> dict[str, np.ndarray]:
    """The compared quantities from redshifts and an ``(n, 5)`` ugriz magnitude array."""
    return {
        "redshift": np.asarray(redshift, float),
        "r": mags[:, 2],
        "u-g": mags[:, 0] - mags[:, 1],
        "g-r": mags[:, 1] - mags[:, 2],
        "r-i": mags[:, 2] - mags[:, 3],
        "i-z": mags[:, 3] - mags[:, 4],
    }


def compare(sim: dict, real: dict) -> dict:
    """Two-sample KS statistic, medians and 5/25/75/95% quantiles of each quantity."""
    from scipy.stats import ks_2samp

    out = {}
    for name in QUANTITIES:
        s, r = sim[name], real[name]
        out[name] = {
            "ks_statistic": round(float(ks_2samp(s, r).statistic), 4),
            "median_sim": round(float(np.median(s)), 4),
            "median_mgs": round(float(np.median(r)), 4),
            "quantiles": [5, 25, 75, 95],
            "quantiles_sim": [round(float(q), 4) for q in np.percentile(s, [5, 25, 75, 95])],
            "quantiles_mgs": [round(float(q), 4) for q in np.percentile(r, [5, 25, 75, 95])],
        }
    return out


def mpajhu_line_detection(path) -> dict:
    """Line-error medians and the metallicity-detectable fraction of real MGS-like spectra.

    Rows of the SkyServer SpecPhoto x MPA-JHU galSpecLine join with 0.005 < z <= 0.3 and
    extinction-corrected Petrosian r < 17.77 (the MGS target cut); "detectable" is the simulation's criterion (all four lines at
    S/N > 3 and below the Kewley et al. 2001 line).
    """
    from astropy.table import Table

    t = Table.read(path, format="ascii.csv")
    z = np.asarray(t["z"], float)
    petro_r = np.asarray(t["petroMag_r"], float) - np.asarray(t["extinction_r"], float)
    rows = (z > 0.005) & (z <= 0.3) & (petro_r < 17.77)
    flux = {c: np.asarray(t[f"{c}_flux"], float)[rows] for c in _LINE_COLUMNS}
    err = {c: np.asarray(t[f"{c}_flux_err"], float)[rows] for c in _LINE_COLUMNS}
    snr_ok = np.all([flux[c] > 3.0 * err[c] for c in _LINE_COLUMNS], axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        bpt = below_maximum_starburst(flux["nii_6584"] / flux["h_alpha"], flux["oiii_5007"] / flux["h_beta"])
    return {
        "n": int(rows.sum()),
        "median_flux_err": {c: round(float(np.median(err[c][err[c] > 0])), 3) for c in _LINE_COLUMNS},
        "all_lines_snr_gt_3": round(float(snr_ok.mean()), 4),
        "metallicity_detectable_fraction": round(float((snr_ok & bpt).mean()), 4),
    }


def _figure(sim, real, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(10, 5.6), constrained_layout=True)
    for ax, name in zip(axes.flat, QUANTITIES):
        lo, hi = np.percentile(np.concatenate([sim[name], real[name]]), [0.5, 99.5])
        bins = np.linspace(lo, hi, 40)
        ax.hist(real[name], bins=bins, density=True, histtype="stepfilled", alpha=0.4, label="SDSS MGS")
        ax.hist(sim[name], bins=bins, density=True, histtype="step", lw=1.6, label="simulated")
        ax.set_xlabel(name)
    axes.flat[0].legend(frameon=False)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output prefix (writes <out>.json and <out>.png)")
    parser.add_argument("--mgs", default=str(_DEFAULT_MGS), help="path of SDSS_MGS.train")
    parser.add_argument(
        "--lines", default=str(_DEFAULT_LINES), help="path of joined_specphoto_galspecline.csv ('' to skip)"
    )
    parser.add_argument("-n", type=int, default=20000, help="simulated galaxies (default 20000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    table = simulate_survey(args.n, seed=args.seed, footprint=check_footprint(None), render_images=False).table
    mags = np.stack([np.asarray(table[f"mag_{b}"].value) for b in "ugriz"], axis=1)
    sim = quantities_of(np.asarray(table["redshift"]), mags)
    mgs = read_mgs(args.mgs)
    real = quantities_of(mgs["redshift"], mgs["mags"])
    result = {
        "command": f"python -m astro_galflow.simulation.compare --out {args.out} -n {args.n} --seed {args.seed}",
        "n_simulated": len(table),
        "n_mgs": len(mgs["redshift"]),
        "quenched_fraction": round(float(np.mean(table["quenched"])), 4),
        "metallicity_detectable_fraction": round(float(np.mean(table["metallicity_detectable"])), 4),
        "statistics": compare(sim, real),
        "median_magerr_sim": {b: round(float(np.median(table[f"magerr_{b}"].value)), 4) for b in "ugriz"},
        "median_magerr_mgs": {b: round(float(np.median(mgs["magerrs"][:, k])), 4) for k, b in enumerate("ugriz")},
    }
    if args.lines:
        result["mpajhu_mgs_like"] = mpajhu_line_detection(args.lines)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    _figure(sim, real, out.with_suffix(".png"))
    for name, stats in result["statistics"].items():
        print(
            f"{name:9s} KS {stats['ks_statistic']:.3f}  median sim {stats['median_sim']:.3f}  MGS {stats['median_mgs']:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
