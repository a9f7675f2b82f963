"""The issue-15 probes of posteriors, printed as JSON: run under two checkouts to compare.

::

    PYTHONPATH=. python studies/issue15_probes.py

1. ``sim-photometry`` on a colour combination no training galaxy has, each colour inside
   its training range (u-g 0.75, g-r 1.45, r-i 0.12, i-z 0.46, r 17): flags, redshift
   p16/p50/p84 and log M* median/std.
2. ``sdss-photoz`` with ``magerr_r = 1``: the lowest redshift median and p16 over 64
   galaxies of :func:`astro_galflow.testing.tables.make_input_table`.
"""

from __future__ import annotations

import json

import astropy.units as u
import numpy as np

from astro_galflow.models import load_model
from astro_galflow.testing.tables import make_input_table


def _row(ug, gr, ri, iz, r):
    mags = {"r": r, "g": r + gr}
    mags["u"], mags["i"] = mags["g"] + ug, r - ri
    mags["z"] = mags["i"] - iz
    table = make_input_table(1, seed=0)
    for band, value in mags.items():
        table[f"mag_{band}"] = [value] * u.mag
        table[f"magerr_{band}"] = [0.02] * u.mag
    return table


def main() -> dict:
    """Run both probes; return their numbers."""
    model = load_model("sim-photometry")
    post = model.posterior_samples(_row(0.75, 1.45, 0.12, 0.46, 17.0), n_samples=1000, seed=0)
    z, mstar = post.samples["redshift"][0], post.samples["log_mstar"][0]
    report = {
        "colour_probe": {
            "flags": int(post.flags[0]),
            "ood_score": float(post.columns["ood_score"][0]) if "ood_score" in post.columns else None,
            "z_p16_p50_p84": [round(float(v), 3) for v in np.percentile(z, [16, 50, 84])],
            "log_mstar_median_std": [round(float(np.median(mstar)), 2), round(float(mstar.std()), 2)],
        }
    }
    photoz = load_model("sdss-photoz")
    table = make_input_table(64, seed=4)
    for band in "ugriz":
        table[f"magerr_{band}"] = np.full(len(table), 0.03) * u.mag
    table["magerr_r"] = np.ones(len(table)) * u.mag
    post = photoz.posterior_samples(table, n_samples=1000, seed=0)
    z = post.samples["redshift"]
    report["huge_error_probe"] = {
        "min_z_median": round(float(np.median(z, axis=1).min()), 3),
        "min_z_p16": round(float(np.percentile(z, 16, axis=1).min()), 3),
        "share_flagged": float(np.mean(post.flags != 0)),
    }
    return report


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
