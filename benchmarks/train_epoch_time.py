"""Seconds per training epoch of the VAE and flow stages, to size the shipped-model runs.

Simulates ``--n`` galaxies with cutouts, trains the VAE for ``--vae-epochs`` epochs and
the flows (image + photometry) for ``--flow-epochs`` epochs with ``--threads`` torch
threads, and writes the per-epoch times to a JSON file.

    python benchmarks/train_epoch_time.py --n 2000 --threads 1 --out benchmarks/results/train_epoch_time.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="galaxies to simulate")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--vae-epochs", type=int, default=1)
    parser.add_argument("--flow-epochs", type=int, default=5)
    parser.add_argument("--workdir", help="keep the simulated data and models here (default: a temporary folder)")
    parser.add_argument("--out", default="benchmarks/results/train_epoch_time.json")
    args = parser.parse_args(argv)

    import torch

    from astro_galflow.cutouts import cutouts_path_for
    from astro_galflow.sources.simulated import SimulatedSource
    from astro_galflow.training.flow_stage import train_flows
    from astro_galflow.training.vae_stage import train_vae

    torch.set_num_threads(args.threads)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="galflow-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    catalog = work / "sim.fits"
    t0 = time.perf_counter()
    SimulatedSource(seed=0).simulate(args.n, cutouts_path=cutouts_path_for(catalog)).write(catalog, overwrite=True)
    simulate_s = time.perf_counter() - t0

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    quiet = lambda line: None  # noqa: E731
    c0, t0 = cpu(), time.perf_counter()
    vae = train_vae(catalog, work / "vae", epochs=args.vae_epochs, patience=args.vae_epochs, log=quiet)
    vae_wall, vae_cpu = time.perf_counter() - t0, cpu() - c0
    c0, t0 = cpu(), time.perf_counter()
    flows = train_flows(
        catalog, work / "flows", vae_dir=work / "vae", epochs=args.flow_epochs, patience=args.flow_epochs, log=quiet
    )
    flow_wall, flow_cpu = time.perf_counter() - t0, cpu() - c0
    result = {
        "benchmark": "train_epoch_time",
        "n_galaxies": args.n,
        "threads": args.threads,
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__},
        "simulate_seconds": simulate_s,
        "vae": {
            "n_train": vae["data"]["n_train"],
            "n_val": vae["data"]["n_val"],
            "epoch_seconds": [h["seconds"] for h in vae["metrics"]["history"]],
            "stage_wall_seconds": vae_wall,
            "stage_cpu_seconds": vae_cpu,
        },
        "flows": {
            "n_train": flows["data"]["n_train"],
            "epoch_seconds": [h["seconds"] for h in flows["metrics"]["members"][0]["history"]],
            "stage_wall_seconds": flow_wall,
            "stage_cpu_seconds": flow_cpu,
        },
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
