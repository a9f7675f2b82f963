"""Fit the empirical SDSS photometry model the simulated survey ships with.

Writes ``astro_galflow/data/sdss_photometry_model.json``
(:mod:`astro_galflow.simulation.empirical`): colour quantile maps in redshift bins, the
magnitude-error model and the E(B-V) sight lines, from the ``train`` split of the real MGS
rows and the SpecPhoto extracts in ``--data-dir``::

    python studies/fit_sdss_photometry_model.py --data-dir ../shared/data/sdss
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from astro_galflow.simulation import photometry
from astro_galflow.simulation.empirical import (
    MODEL_FILE,
    SF11_COEFFICIENTS,
    TRANSFER_STEPS,
    colours_of,
    fit,
    scatter_colours,
)
from astro_galflow.simulation.population import draw_population


def _real_inputs(data_dir: Path):
    from astropy.table import Table, vstack

    from astro_galflow.realdata.photoz_set import load_photoz_set

    t = load_photoz_set(data_dir, sources=("mgs",))
    t = t[t["split"] == "train"]
    mags = np.stack([np.asarray(t[f"mag_{b}"].value) for b in "ugriz"], axis=1)
    errs = np.stack([np.asarray(t[f"magerr_{b}"].value) for b in "ugriz"], axis=1)
    ok = np.all(np.isfinite(errs) & (errs > 0), axis=1)
    files = [data_dir / "skyserver_mpajhu_sample" / f for f in ("specphoto.csv", "specphotoall.csv")]
    sp = vstack([Table.read(f, format="ascii.csv")["specObjID", "class", "extinction_r"] for f in files])
    sp = sp[np.asarray(sp["class"]).astype(str) == "GALAXY"]
    _, first = np.unique(np.asarray(sp["specObjID"]), return_index=True)
    ebv = np.asarray(sp["extinction_r"], float)[first] / SF11_COEFFICIENTS[2]
    ebv = ebv[np.isfinite(ebv) & (ebv >= 0)]
    return np.asarray(t["redshift"], float)[ok], mags[ok], errs[ok], ebv, int(ok.sum())


def _rounded(value):
    if isinstance(value, float):
        return round(value, 5)
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def main(argv=None) -> int:
    """Fit and write the model; see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="python studies/fit_sdss_photometry_model.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--data-dir", type=Path, required=True, help="the SDSS extracts (../shared/data/sdss)")
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("-n", type=int, default=40000, help="simulated galaxies for the simulated quantiles")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument(
        "--transfer-steps",
        type=int,
        default=TRANSFER_STEPS,
        help="rotations of the colour transfer (default %(default)s; 1 = one quantile map per colour)",
    )
    args = parser.parse_args(argv)

    real_z, real_mags, real_errs, ebv, n_real = _real_inputs(args.data_dir)
    g = draw_population(args.n, np.random.default_rng(args.seed), map_colours=False)
    sim_mags = photometry.nmgy_to_mag(g["flux_true"]) + np.array(list(photometry.SDSS_MINUS_AB.values()))
    sim_colours = scatter_colours(np.random.default_rng(args.seed + 1), colours_of(sim_mags))
    model = fit(
        g["redshift"], sim_colours, real_z, real_mags, real_errs, ebv, seed=args.seed, n_steps=args.transfer_steps
    )
    model["provenance"] = {
        "command": "python studies/fit_sdss_photometry_model.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "real_rows": f"SDSS_MGS.train, split == train ({n_real} rows)",
        "ebv_rows": f"SpecPhoto samples, class GALAXY ({ebv.size} sight lines)",
        "simulated_rows": args.n,
    }
    args.out.write_text(json.dumps(_rounded(model)) + "\n")
    print(f"wrote {args.out} ({n_real} real rows, {ebv.size} sight lines, {args.n} simulated)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
