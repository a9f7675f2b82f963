"""Rendering and population-draw throughput of the simulated survey; writes JSON.

Usage: ``python benchmarks/simulation_render.py [--n 500] [--out benchmarks/results/simulation_render.json]``.
Run on one core (``OMP_NUM_THREADS=1``); numbers depend on the machine and its load.
"""

import argparse
import json
import platform
import time
from pathlib import Path

from astro_galflow.sources.simulated import SimulatedSource


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--out", default="benchmarks/results/simulation_render.json")
    args = parser.parse_args()
    source = SimulatedSource(seed=0)
    source.simulate(10)  # warm-up: GalSim import, K-correction and cosmology tables
    start = time.perf_counter()
    source.simulate(20 * args.n, render=False)
    draw_s = time.perf_counter() - start
    catalog = source.simulate(args.n)
    result = {
        "machine": platform.processor() or platform.machine(),
        "n_rendered": args.n,
        "render_galaxies_per_s": args.n / catalog.render_seconds,
        "n_drawn": 20 * args.n,
        "draw_galaxies_per_s": 20 * args.n / draw_s,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
