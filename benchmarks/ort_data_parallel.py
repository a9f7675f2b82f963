"""ONNX Runtime on CPUs: intra-op threads against one-thread calls fed in parallel, on a shipped ensemble.

One command::

    python benchmarks/ort_data_parallel.py --out benchmarks/results/ort_data_parallel.json

exports (or takes from the export cache) the restructured sampler of ``--model`` (default
``sim-photometry``, a 3-member ensemble) and of its first member alone, and times, round-robin
in one process so that a changing machine load hits all alike, galaxies/s at ``S = 1,000`` of:

* ``intra-op``: one session with ``--threads`` intra-op threads, fed ``rows // S`` galaxies
  per call (the scheme before issue 14: 2,048 rows, 2 galaxies per call, ~667 rows per
  member);
* ``data-parallel``: one session whose calls run on the calling thread, fed by ``--threads``
  Python threads (:class:`~astro_galflow.backends.onnxruntime.OnnxRuntimeSampler`), at
  several rows per call and member.

Medians over ``--repeats`` rounds of ``--batch`` galaxies, with min and max.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np


def _intra_op(graph, threads: int, galaxies_per_call: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])

    def run(context, eps):
        out = np.empty_like(eps)
        for start in range(0, len(eps), galaxies_per_call):
            stop = start + galaxies_per_call
            out[start:stop] = session.run(None, {"context": context[start:stop], "eps": eps[start:stop]})[0]
        return out

    return run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/ort_data_parallel.json"))
    parser.add_argument("--model", default="sim-photometry")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 2000, 4096, 8000])
    args = parser.parse_args(argv)

    import torch

    from astro_galflow.backends.onnxruntime import OnnxRuntimeBackend, OnnxRuntimeSampler
    from astro_galflow.models import load_model

    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    joint = model.samplers()["joint"]
    member = model._members[0]
    s, d = 1000, len(model.parameters)
    backend = OnnxRuntimeBackend({"threads": args.threads})
    graphs = {}
    for name, module in (("ensemble", joint), ("member", member)):
        compiled = backend.compile(module, module.example_inputs(4, 16))
        graphs[name] = compiled.session._model_path
    rng = np.random.default_rng(0)
    feats = model.card["features"]
    context = (
        np.asarray(feats["mean"]) + 0.5 * np.asarray(feats["std"]) * rng.standard_normal((args.batch, 9))
    ).astype(np.float32)
    eps = rng.standard_normal((args.batch, s, d), dtype=np.float32)
    groups = model.n_members
    tc, te = torch.from_numpy(context), torch.from_numpy(eps)
    calls = {}
    for name in ("ensemble", "member"):
        old = _intra_op(graphs[name], args.threads, max(1, 2048 // s))
        calls[f"{name} intra-op, 2048 rows/call"] = lambda old=old: old(context, eps)
    for rows in args.rows:
        new = OnnxRuntimeSampler(graphs["ensemble"], threads=args.threads, rows_per_call=rows, groups=groups)
        calls[f"ensemble data-parallel, {rows} rows/member"] = lambda new=new: new(tc, te)
    member = OnnxRuntimeSampler(graphs["member"], threads=args.threads, rows_per_call=4096)
    calls["member data-parallel, 4096 rows"] = lambda: member(tc, te)
    for call in calls.values():
        call()
    times = {k: [] for k in calls}
    load_before = os.getloadavg()
    for _ in range(args.repeats):
        for name, call in calls.items():
            t = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - t)
    results = {}
    for name, t in times.items():
        rates = args.batch / np.asarray(t)
        results[name] = {
            "galaxies_per_s": float(np.median(rates)),
            "min": float(rates.min()),
            "max": float(rates.max()),
        }
        print(f"{name:45s} {np.median(rates):8.1f} galaxies/s [{rates.min():.0f}, {rates.max():.0f}]", flush=True)
    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "model": args.model,
        "threads": args.threads,
        "batch": args.batch,
        "samples": s,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
