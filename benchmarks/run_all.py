"""Run every CPU benchmark with its documented settings; JSON results go to benchmarks/results/.

    python benchmarks/run_all.py            # all (about 20-30 min on 2 idle cores)
    python benchmarks/run_all.py backends   # only some: backends, streaming, dask, render

Each benchmark is its own script (run it directly for other settings); this driver only
fixes the settings the docs quote, one after the other, so they do not compete for cores.
The GPU benchmark (``gpu_benchmark.py``) is not run here: it needs an NVIDIA GPU.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Relative to the repository root (the scripts run there), so the commands recorded in
# the JSON results name no path of this machine.
RESULTS = Path("benchmarks") / "results"

BENCHMARKS = {
    "backends": [
        "bench_backends.py",
        "--interleaved",
        "--repeats",
        "5",
        "--out",
        str(RESULTS / "cpu_interleaved.json"),
    ],
    "streaming": [
        "bench_streaming_memory.py",
        "--rows",
        "100000",
        "1000000",
        "--out",
        str(RESULTS / "streaming_memory.json"),
    ],
    "dask": [
        "bench_dask_throughput.py",
        "--rows",
        "200000",
        "--repeat",
        "2",
        "--out",
        str(RESULTS / "dask_throughput.json"),
    ],
    "render": ["simulation_render.py", "--n", "500", "--out", str(RESULTS / "simulation_render.json")],
}


def main(argv=None) -> int:
    """Run the named benchmarks (default: all); return the first non-zero exit code."""
    names = list(argv if argv is not None else sys.argv[1:]) or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names:
        script, *args = BENCHMARKS[name]
        print(f"== {name}: python benchmarks/{script} {' '.join(args)}", flush=True)
        code = subprocess.run([sys.executable, f"benchmarks/{script}", *args], cwd=ROOT, check=False).returncode
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
