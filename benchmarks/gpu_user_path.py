"""The user path on a GPU: samples kept on the device against the host path, on a shipped model.

One prepared command for an H100-class machine (``benchmarks/gpu_session.sh`` runs it)::

    python benchmarks/gpu_user_path.py --catalog phot1m.parquet --out gpu_user_path.json

reads a photometry-only catalog (``galflow simulate phot1m.parquet -n 1000000 --no-images``),
computes the features of ``--model`` (default ``sim-photometry``) on the host, compiles its
sampler for the device as ``galflow infer`` does (:class:`~astro_galflow.run.InferenceRun`,
backend ``--backend``, default ``auto``: CUDA graphs on CUDA), and times per chunk of ``--chunk`` rows:

* ``device``: :mod:`astro_galflow.summaries` -- noise drawn on the device from the rows'
  seeds (:func:`~astro_galflow.summaries.device_row_noise`), the sampler, calibration,
  clip, transform, mean/std/quantiles and the ensemble split on the device, one pinned copy
  of the summary columns back per chunk;
* ``host``: the path ``galflow infer`` takes (:meth:`GalflowModel.posterior_samples` with
  the compiled sampler: host noise, every sample copied back, post-processing and
  summaries in numpy), on ``--host-rows`` rows only (it is ~50x slower).

Row seeds (:func:`astro_galflow.noise.row_seeds`, a Python loop) are computed once before
timing and reported separately. ``--precision bf16`` runs the sampler under
``torch.autocast`` to bfloat16 (the precision study's <= 0.007 sigma quantile shifts).
Wall seconds by ``time.perf_counter`` around whole chunks after one warm-up chunk, with the
device synchronised; galaxies/s over all timed rows.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalog", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("gpu_user_path.json"))
    parser.add_argument("--model", default="sim-photometry")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--backend", default="auto", help="backend of the sampler (default auto)")
    parser.add_argument("--chunk", type=int, default=16384, help="rows per device chunk")
    parser.add_argument("--rows", type=int, help="time at most this many rows (default: all)")
    parser.add_argument("--host-rows", type=int, default=20000, help="rows timed through the host path")
    parser.add_argument("-n", "--n-samples", type=int, default=1000)
    parser.add_argument("--precision", choices=("fp32", "tf32", "bf16"), nargs="+", default=["fp32", "bf16"])
    args = parser.parse_args(argv)

    import torch

    from astro_galflow.catalogs import read_catalog
    from astro_galflow.config import GalflowConfig
    from astro_galflow.models import load_model
    from astro_galflow.noise import row_seeds
    from astro_galflow.run import InferenceRun
    from astro_galflow.summaries import columns_to_host, device_row_noise, posterior_columns

    quantiles = (0.16, 0.5, 0.84)
    started = time.perf_counter()
    table = read_catalog(args.catalog)
    if args.rows:
        table = table[: args.rows]
    read_s = time.perf_counter() - started
    model = load_model(args.model)
    t = time.perf_counter()
    features = model.features(table)
    features_s = time.perf_counter() - t
    t = time.perf_counter()
    seeds = row_seeds(table["source_id"], 0)
    seeds_s = time.perf_counter() - t
    n, d, s = len(table), len(model.parameters), args.n_samples
    config = GalflowConfig(model=args.model, n_samples=s, backend=args.backend, device=args.device)

    def compile_sampler():
        with InferenceRun(config, model=model) as run:
            return run.compiled["joint"]

    sampler = compile_sampler()
    features_dev = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)).to(args.device)
    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "device_name": torch.cuda.get_device_name() if args.device.startswith("cuda") else args.device,
        "model": args.model,
        "rows": n,
        "n_samples": s,
        "chunk": args.chunk,
        "backend": args.backend,
        "host_seconds": {"read_catalog": read_s, "features": features_s, "row_seeds": seeds_s},
        "device": {},
    }

    def sync():
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    def device_chunk(start, stop, precision):
        autocast = (
            torch.autocast(device_type="cuda", dtype=torch.bfloat16)
            if precision == "bf16"
            else contextlib.nullcontext()
        )
        with torch.inference_mode():
            eps = device_row_noise(seeds[start:stop], s, d, device=args.device)
            with autocast:
                samples = sampler(features_dev[start:stop], eps)
            columns, _ = posterior_columns(model, samples.float(), seeds=seeds[start:stop], quantiles=quantiles)
            return columns_to_host(columns)

    for precision in args.precision:
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        torch.backends.cudnn.allow_tf32 = precision == "tf32"
        # a fresh sampler per precision: a CUDA graph keeps the precision it was captured in
        sampler = compile_sampler()
        device_chunk(0, min(n, args.chunk), precision)  # warm-up: graph capture, allocator
        sync()
        t = time.perf_counter()
        for start in range(0, n, args.chunk):
            device_chunk(start, min(n, start + args.chunk), precision)
        sync()
        seconds = time.perf_counter() - t
        report["device"][precision] = {"seconds": seconds, "galaxies_per_s": n / seconds}
        if args.device.startswith("cuda"):
            report["device"][precision]["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
        print(f"device path {precision}: {n / seconds:,.0f} galaxies/s over {n:,} rows", flush=True)

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    sampler = compile_sampler()  # fp32, as galflow infer runs it
    host_rows = min(n, args.host_rows)
    if host_rows:
        import astropy.units as u

        from astro_galflow.inputs import column_values
        from astro_galflow.params import get_parameter
        from astro_galflow.table import add_parameter_columns, new_posterior_table

        sub = table[:host_rows]
        model.posterior_samples(sub[:256], n_samples=s, seed=0, compiled={"joint": sampler}, batch_size=256)
        t = time.perf_counter()
        posterior = model.posterior_samples(sub, n_samples=s, seed=0, compiled={"joint": sampler}, batch_size=1024)
        out = new_posterior_table(
            source_id=sub["source_id"],
            survey="sim",
            ra_deg=column_values(sub, "ra", u.deg),
            dec_deg=column_values(sub, "dec", u.deg),
            flags=np.zeros(host_rows, dtype=np.int64),
        )
        for name in model.parameters:
            add_parameter_columns(
                out, get_parameter(name), posterior.samples[name], quantiles=quantiles, store_samples=False
            )
        seconds = time.perf_counter() - t
        report["host"] = {"rows": host_rows, "seconds": seconds, "galaxies_per_s": host_rows / seconds}
        print(f"host path: {host_rows / seconds:,.0f} galaxies/s over {host_rows:,} rows", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
