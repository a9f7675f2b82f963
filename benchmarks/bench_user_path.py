"""The user path: ``galflow infer`` timed as a process, beside the kernel it is built on.

One command::

    python benchmarks/bench_user_path.py --out benchmarks/results/user_path_cpu.json

simulates the input catalogs once (``galflow simulate``, into ``--workdir``) and, for each
case ``MODEL:ROWS`` (default: ``sim-photometry`` at 2k, 20k and 200k photometry-only rows,
``sim-default`` at 2k rows with cutouts, ``sdss-photoz`` at 2k and 20k rows), runs
``galflow infer CATALOG OUT.parquet --model MODEL --no-progress`` as a child process and
records

* wall seconds from process start to exit (the output file is written then) and
  galaxies/s end to end;
* seconds to the first written row: when the first Parquet part of the streaming engine
  (``OUT.parquet.parts/part-*.parquet``) or the output itself appears, polled every 20 ms;
* peak resident memory of the child (``ru_maxrss`` of ``os.wait4``) and its CPU seconds;
* ``cold``: the first run with an empty export cache (a fresh ``GALFLOW_CACHE_DIR``, so
  the ONNX exports are made), then ``--repeats`` ``warm`` runs sharing that cache.

Beside it, the kernel: each shipped model's compiled sampler alone (the backend
``auto`` picks, features drawn around the training mean, ``S = --n-samples``), timed in a
child process the same way ``bench_backends.py`` times its flow, and the figures
``bench_backends.py`` last committed (``benchmarks/results/cpu_interleaved.json``) for the
random-weight single network. Runs follow each other, never overlap; on a shared machine
quote the medians and the ratios of one run. ``PYTHONPATH`` is passed on, so the same
command measures another checkout (the JSON records which).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

DEFAULT_CASES = (
    "sim-photometry:2000",
    "sim-photometry:20000",
    "sim-photometry:200000",
    "sim-default:2000",
    "sdss-photoz:2000",
    "sdss-photoz:20000",
)
IMAGE_MODELS = ("sim-default",)
KERNEL_RESULTS = Path("benchmarks") / "results" / "cpu_interleaved.json"

KERNEL_CHILD = r"""
import json, sys, time
import numpy as np, torch
from astro_galflow.config import GalflowConfig
from astro_galflow.models import load_model
from astro_galflow.run import InferenceRun
name, n, s, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
model = load_model(name)
with InferenceRun(GalflowConfig(model=name, n_samples=s), model=model) as run:
    sampler = run.compiled["joint"]
feats = model.card["features"]
rng = np.random.default_rng(0)
x = torch.from_numpy((np.asarray(feats["mean"]) + 0.5 * np.asarray(feats["std"]) * rng.standard_normal((n, len(feats["mean"])))).astype(np.float32))
eps = torch.randn((n, s, len(model.parameters)), generator=torch.Generator().manual_seed(0))
with torch.inference_mode():
    sampler(x, eps)
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); sampler(x, eps); times.append(time.perf_counter() - t)
print(json.dumps({"times_s": times, "galaxies_per_s": n / float(np.median(times))}))
"""


def _galflow() -> list[str]:
    return [sys.executable, "-m", "astro_galflow"]


def make_inputs(workdir: Path, cases) -> dict[str, Path]:
    """Simulated catalogs for the cases (``galflow simulate``; reused when present)."""
    workdir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for model, rows in cases:
        images = model in IMAGE_MODELS
        path = workdir / f"{'img' if images else 'phot'}{rows}.parquet"
        if not path.exists():
            cmd = [*_galflow(), "simulate", str(path), "-n", str(rows), "--seed", str(rows)]
            if not images:
                cmd.append("--no-images")
            subprocess.run(cmd, check=True, capture_output=True)
        paths[(model, rows)] = path
    return paths


def _first_part(out: Path, stop: threading.Event, started: float, found: dict) -> None:
    parts = out.with_name(out.name + ".parts")
    while not stop.is_set():
        if out.exists() or (parts.is_dir() and any(parts.glob("part-*.parquet"))):
            found["seconds"] = time.perf_counter() - started
            return
        time.sleep(0.02)


def time_infer(catalog: Path, model: str, out: Path, cache: Path, n_samples: int, extra=()) -> dict:
    """Run ``galflow infer`` once in a child; wall, first-row, CPU seconds and peak RSS."""
    env = {**os.environ, "GALFLOW_CACHE_DIR": str(cache)}
    cmd = [*_galflow(), "infer", str(catalog), str(out), "--model", model, "-n", str(n_samples)]
    cmd += ["--no-progress", "--overwrite", *extra]
    out.unlink(missing_ok=True)
    stop, found = threading.Event(), {}
    started = time.perf_counter()
    with open(out.with_suffix(".log"), "w") as log:
        # cwd: ``python -m`` puts the working directory first on sys.path; a neutral one
        # lets PYTHONPATH choose the checkout measured
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=out.parent)
        watcher = threading.Thread(target=_first_part, args=(out, stop, started, found), daemon=True)
        watcher.start()
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    stop.set()
    watcher.join()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed; see {out.with_suffix('.log')}")
    return {
        "wall_s": wall,
        "first_row_s": found.get("seconds", wall),
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


def kernel(model: str, n: int, n_samples: int, repeats: int, cache: Path) -> dict:
    """The compiled sampler of ``model`` alone, ``n`` galaxies per call, in a child process."""
    env = {**os.environ, "GALFLOW_CACHE_DIR": str(cache)}
    args = [model, str(n), str(n_samples), str(repeats)]
    out = subprocess.run(
        [sys.executable, "-c", KERNEL_CHILD, *args], env=env, check=True, capture_output=True, cwd=cache
    )
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def _committed_kernel(root: Path) -> dict | None:
    path = root / KERNEL_RESULTS
    if not path.is_file():
        return None
    report = json.loads(path.read_text())
    rates = {
        f"{r['mode']} batch {r['batch']}": r["galaxies_per_s"].get("onnxruntime") for r in report.get("interleaved", [])
    }
    return {"source": str(KERNEL_RESULTS), "command": report.get("command"), "onnxruntime_galaxies_per_s": rates}


def _parse_case(text: str) -> tuple[str, int]:
    model, _, rows = text.rpartition(":")
    return model, int(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/user_path_cpu.json"))
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "galflow-user-path")
    parser.add_argument("--cases", nargs="+", default=list(DEFAULT_CASES), help="MODEL:ROWS (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=2, help="warm runs per case (default 2)")
    parser.add_argument(
        "--warm-repeats-large", type=int, default=1, help="warm runs of cases above 50,000 rows (default 1)"
    )
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-cache runs (one unrecorded warm-up run)")
    parser.add_argument(
        "--cache-dir", type=Path, help="export cache of the warm runs, kept (default: a fresh one, removed)"
    )
    parser.add_argument("-n", "--n-samples", type=int, default=1000)
    parser.add_argument("--kernel-batch", type=int, default=256, help="galaxies per kernel call (default 256)")
    parser.add_argument(
        "--no-kernel", action="store_true", help="skip the kernel (it needs the run API of astro_galflow.run)"
    )
    parser.add_argument("--label", default="", help="free text stored in the JSON (e.g. the commit measured)")
    parser.add_argument("--print", nargs="+", type=Path, metavar="JSON", help="only print the tables of these reports")
    args = parser.parse_args(argv)
    if args.print:
        for path in args.print:
            report = json.loads(path.read_text())
            print(f"{path}: {report['label']} (load {report['machine']['load_average_before'][0]:.1f} before)")
            print(table(report))
        return 0

    root = Path(__file__).resolve().parent.parent
    cases = [_parse_case(c) for c in args.cases]
    load_before = os.getloadavg()
    started = time.time()
    inputs = make_inputs(args.workdir, cases)
    caches = {}
    results, kernels = [], {}
    scratch = Path(tempfile.mkdtemp(prefix="galflow-user-path-"))
    try:
        for model, rows in cases:
            out = scratch / f"{model}-{rows}.parquet"
            entry = {"model": model, "rows": rows, "cutouts": model in IMAGE_MODELS, "runs": []}
            if model not in caches:
                caches[model] = args.cache_dir or Path(tempfile.mkdtemp(prefix="cache-", dir=scratch))
                if not args.no_cold:
                    fresh = Path(tempfile.mkdtemp(prefix="cold-", dir=scratch))
                    cold = time_infer(inputs[(model, rows)], model, out, fresh, args.n_samples)
                    entry["runs"].append({"cache": "cold", **cold})
                    print(f"{model} {rows} cold: {cold}", flush=True)
                    shutil.copytree(fresh, caches[model], dirs_exist_ok=True)
                else:
                    # one unrecorded run per model fills the cache with its exports (a shared
                    # --cache-dir holding another model's exports is not warm for this one)
                    time_infer(inputs[(model, rows)], model, out, caches[model], args.n_samples)
            repeats = args.repeats if rows <= 50_000 else args.warm_repeats_large
            for _ in range(repeats):
                warm = time_infer(inputs[(model, rows)], model, out, caches[model], args.n_samples)
                entry["runs"].append({"cache": "warm", **warm})
                print(f"{model} {rows} warm: {warm}", flush=True)
            warm_runs = [r for r in entry["runs"] if r["cache"] == "warm"]
            if warm_runs:
                wall = float(np.median([r["wall_s"] for r in warm_runs]))
                entry["warm_median"] = {
                    "wall_s": wall,
                    "galaxies_per_s": rows / wall,
                    "first_row_s": float(np.median([r["first_row_s"] for r in warm_runs])),
                    "cpu_s": float(np.median([r["cpu_s"] for r in warm_runs])),
                    "peak_rss_mb": float(max(r["peak_rss_mb"] for r in warm_runs)),
                }
            if model not in kernels and not args.no_kernel:
                kernels[model] = kernel(model, args.kernel_batch, args.n_samples, 3, caches[model])
                print(f"{model} kernel: {kernels[model]['galaxies_per_s']:.1f} galaxies/s", flush=True)
            if "warm_median" in entry and model in kernels:
                entry["warm_median"]["fraction_of_kernel"] = (
                    entry["warm_median"]["galaxies_per_s"] / kernels[model]["galaxies_per_s"]
                )
            results.append(entry)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "label": args.label,
        "pythonpath": os.environ.get("PYTHONPATH", ""),
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "n_samples": args.n_samples,
        "duration_s": time.time() - started,
        "results": results,
        "kernel_shipped_sampler": {"batch": args.kernel_batch, **kernels},
        "kernel_committed": _committed_kernel(root),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(table(report))
    return 0


def table(report: dict) -> str:
    """Plain-text summary of a report (the docs' table): warm medians beside the cold run and kernel."""
    nan = float("nan")
    lines = [
        f"{'model':15} {'rows':>7} {'cold s':>7} {'warm s':>7} {'cpu s':>6} {'gal/s':>6} {'1st row s':>9} "
        f"{'kernel':>7} {'peak MB':>7}"
    ]
    for r in report["results"]:
        cold = next((x["wall_s"] for x in r["runs"] if x["cache"] == "cold"), nan)
        w = r.get("warm_median", {})
        warm_cpu = [x["cpu_s"] for x in r["runs"] if x["cache"] == "warm"]
        k = report["kernel_shipped_sampler"].get(r["model"], {}).get("galaxies_per_s", nan)
        lines.append(
            f"{r['model']:15} {r['rows']:7d} {cold:7.1f} {w.get('wall_s', nan):7.1f} "
            f"{float(np.median(warm_cpu)) if warm_cpu else nan:6.1f} {w.get('galaxies_per_s', nan):6.0f} "
            f"{w.get('first_row_s', nan):9.1f} {k:7.0f} {w.get('peak_rss_mb', nan):7.0f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
