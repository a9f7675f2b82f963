"""Peak memory of a streaming run versus catalog size (issue 7 target: < 10 % growth for 10x rows).

Each run is a fresh Python process that streams a Parquet catalog through
:func:`astro_galflow.scale.stream.stream_infer` and reports its own peak resident memory
(``VmHWM``) and throughput; the parent writes one JSON file.

Usage::

    python benchmarks/bench_streaming_memory.py --rows 100000 1000000 --out benchmarks/results/streaming_memory.json

Without ``--model`` a tiny photometry-only Gaussian model is trained first (a few
seconds), so the benchmark runs anywhere; pass ``--model sim-photometry`` (or a model
directory) to measure a shipped model.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
import torch
torch.set_num_threads(1)
from astro_galflow.config import GalflowConfig
from astro_galflow.scale.stream import stream_infer
inp, out, model, n_samples, chunk_rows, batch_size = sys.argv[1:7]
config = GalflowConfig(model=model, n_samples=int(n_samples), batch_size=int(batch_size), seed=0)
t0 = time.perf_counter()
stream_infer(inp, out, config=config, chunk_rows=int(chunk_rows), progress=False)
elapsed = time.perf_counter() - t0
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across execve, so a child started from a
# large parent would report the parent's peak.
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) / 1024
print(json.dumps({"seconds": elapsed, "peak_rss_mb": peak}))
"""


def write_catalog(path: Path, n_rows: int, *, block: int = 100_000) -> None:
    """Write ``n_rows`` input rows to Parquet block by block (never all in memory)."""
    import pyarrow.parquet as pq
    from astropy.table import Table

    from astro_galflow.testing import make_input_table

    writer = None
    for start in range(0, n_rows, block):
        part = make_input_table(min(block, n_rows - start), seed=start)
        part["source_id"] += start
        arrow = Table(part).to_pandas()
        import pyarrow as pa

        tab = pa.Table.from_pandas(arrow, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, tab.schema)
        writer.write_table(tab, row_group_size=65_536)
    writer.close()


def train_tiny_model(directory: Path) -> Path:
    """A 2-parameter photometry-only Gaussian model trained for 2 epochs on 2,000 rows."""
    from astro_galflow.testing.models import train_tiny_model as train

    return train(directory, n_rows=2000, batch_size=256)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--model", help="model name or directory (default: train a tiny one)")
    parser.add_argument("--n-samples", type=int, default=100)
    parser.add_argument("--chunk-rows", type=int, default=65_536)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--out", default="benchmarks/results/streaming_memory.json")
    args = parser.parse_args(argv)

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = args.model or str(train_tiny_model(tmp))
        for n in args.rows:
            src = tmp / f"cat_{n}.parquet"
            write_catalog(src, n)
            out = tmp / f"post_{n}.parquet"
            proc = subprocess.run(
                [sys.executable, "-c", CHILD, str(src), str(out), model, str(args.n_samples), str(args.chunk_rows), str(args.batch_size)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            run = json.loads(proc.stdout.strip().splitlines()[-1])
            run.update(rows=n, rows_per_s=n / run["seconds"])
            results.append(run)
            print(f"{n:>10d} rows: {run['rows_per_s']:9.0f} rows/s, peak RSS {run['peak_rss_mb']:7.1f} MB", flush=True)
            src.unlink()
            out.unlink()
    growth = results[-1]["peak_rss_mb"] / results[0]["peak_rss_mb"] - 1.0
    report = {
        "benchmark": "streaming_memory",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": __import__("os").cpu_count(),
        },
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "runs": results,
        "peak_rss_growth": growth,
        "target": "peak RSS grows < 10 % for 10x rows",
        "meets_target": bool(growth < 0.10),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(f"peak RSS growth {100 * growth:.1f} % -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
