"""The shipped ``sim-default`` model on a CUDA device against the CPU default, end to end.

One prepared command for a GPU machine (no GalSim or healpy needed)::

    python benchmarks/gpu_model_check.py --out gpu_model_check.json

Loads ``sim-default`` twice, compiles it through the host's ``galflow_compile_head`` hook
with ``backend="auto"`` on ``cpu`` (ONNX Runtime) and on ``cuda`` (CUDA graphs, eager
encoder), draws ``S`` posterior samples for the same rows, cutouts and seed with
:meth:`~astro_galflow.models.GalflowModel.posterior_samples` -- the path ``galflow infer``
takes -- and reports the largest difference of the p16/p50/p84 summaries in units of the
posterior standard deviation, with the wall time of each device. The cutouts are smooth
exponential blobs with sky noise at SDSS-like depth (not simulated galaxies: this checks
the numerics of the GPU path, not the science).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def _cutouts(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:160, :160] - 79.5
    radius = np.hypot(xx, yy)
    scale = rng.uniform(3, 12, n)[:, None, None, None]
    amplitude = rng.uniform(0.5, 5.0, n)[:, None, None, None] * np.array([0.6, 1.0, 1.3])[None, :, None, None]
    images = amplitude * np.exp(-radius[None, None] / scale)
    return (images + rng.normal(0, 0.02, images.shape)).astype(np.float32)


def _summaries(samples: dict) -> tuple[np.ndarray, np.ndarray]:
    stacked = np.stack([samples[p] for p in sorted(samples)], axis=-1)  # (n, S, D)
    quantiles = np.quantile(stacked, [0.16, 0.5, 0.84], axis=1)
    return quantiles, stacked.std(axis=1)


def _run(device: str, table, cutouts, args) -> tuple[dict, float, str]:
    from astro_galflow.backends.selection import describe_backend
    from astro_galflow.config import GalflowConfig
    from astro_galflow.run import InferenceRun

    config = GalflowConfig(model=args.model, n_samples=args.samples, device=device, batch_size=args.batch_size)
    with InferenceRun(config) as run:
        model, compiled = run.model, run.compiled
    model.posterior_samples(table[:8], cutouts[:8], n_samples=args.samples, seed=1, compiled=compiled)  # warm-up
    start = time.perf_counter()
    result = model.posterior_samples(
        table, cutouts, n_samples=args.samples, seed=args.seed, compiled=compiled, batch_size=args.batch_size
    )
    return result.samples, time.perf_counter() - start, describe_backend(config, compiled)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("gpu_model_check.json"))
    parser.add_argument("--model", default="sim-default")
    parser.add_argument("-n", "--rows", type=int, default=512)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--devices", nargs="+", default=["cpu", "cuda"])
    args = parser.parse_args(argv)

    from astro_galflow.testing.tables import make_input_table

    table = make_input_table(args.rows, seed=args.seed)
    cutouts = _cutouts(args.rows, args.seed)
    report = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "rows": args.rows, "samples": args.samples}
    summaries = {}
    for device in args.devices:
        samples, seconds, backend = _run(device, table, cutouts, args)
        summaries[device] = _summaries(samples)
        report[device] = {"seconds": seconds, "galaxies_per_s": args.rows / seconds, "backend": backend}
        print(json.dumps({device: report[device]}, default=str), flush=True)
    if len(summaries) == 2:
        (q_a, std_a), (q_b, _) = summaries.values()
        shift = np.abs(q_a - q_b) / std_a[None]
        report["max_quantile_shift_sigma"] = float(shift.max())
        report["median_quantile_shift_sigma"] = float(np.median(shift))
        print(json.dumps({k: report[k] for k in ("max_quantile_shift_sigma", "median_quantile_shift_sigma")}))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
