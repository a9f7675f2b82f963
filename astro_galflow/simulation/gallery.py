"""A figure of simulated gri cutouts with their truth, for the documentation.

Run as ``python -m astro_galflow.simulation.gallery --out docs/_static/simulated_cutouts.png``.
Colours use the Lupton et al. (2004, PASP 116, 133) asinh stretch of
:func:`astro_galflow.cutouts.asinh_scale` on i, r, g as red, green, blue.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from astro_galflow.simulation.footprint import check_footprint
from astro_galflow.simulation.survey import simulate_survey

__all__ = ["main"]


def main(argv=None) -> int:
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("-n", type=int, default=12, help="number of galaxies (default 12)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from astro_galflow.cutouts import asinh_scale

    catalog = simulate_survey(args.n, seed=args.seed, footprint=check_footprint(None))
    t = catalog.table
    ncol = 6
    nrow = int(np.ceil(args.n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.0 * ncol, 2.25 * nrow), constrained_layout=True)
    for k, ax in enumerate(np.atleast_1d(axes).flat):
        ax.set_axis_off()
        if k >= args.n:
            continue
        rgb = asinh_scale(catalog.cutouts[k, ::-1]).transpose(1, 2, 0)
        ax.imshow(np.clip(rgb / 10.0, 0.0, 1.0), origin="lower")
        ax.set_title(
            f"z={t['redshift'][k]:.3f} r={t['mag_r'][k].value:.1f}\n"
            f"logM={t['log_mstar'][k].value:.1f} B/T={t['bulge_fraction'][k]:.2f}",
            fontsize=7,
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=100)
    plt.close(fig)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
