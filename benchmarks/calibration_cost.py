"""Cost of applying a model's post-hoc calibration to its posterior samples.

Run from the repository root::

    python benchmarks/calibration_cost.py --out benchmarks/results/calibration_cost.json

Times :meth:`astro_galflow.calibration.QuantileRecalibration.apply` with the calibration of
the shipped ``sim-default`` (nine parameters) on ``(batch, S, 9)`` float32 samples, median
of ``--repeats`` calls, and reports milliseconds per galaxy.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_backends import wall_times  # noqa: E402


def main(argv=None) -> int:
    from astro_galflow.models import load_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("calibration_cost.json"))
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    model = load_model("sim-default")
    samples = np.random.default_rng(0).normal(size=(args.batch, args.samples, len(model.parameters)))
    samples = samples.astype(np.float32)
    seconds = float(np.median(wall_times(lambda: model.calibration.apply(samples, model.parameters), args.repeats)))
    report = {
        "command": " ".join(["python", *sys.argv]),
        "batch": args.batch,
        "samples": args.samples,
        "parameters": len(model.parameters),
        "ms_per_galaxy": 1e3 * seconds / args.batch,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
