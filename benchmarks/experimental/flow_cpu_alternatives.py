"""Where the CPU flow sampler's time goes, and what else was tried (issue 6's 60 % target).

Run from the repository root on a quiet machine::

    python benchmarks/experimental/flow_cpu_alternatives.py --out benchmarks/results/flow_cpu_alternatives.json

For the joint sampler of the default architecture (random weights, ``S = 1,000``, 2
threads) it measures:

* ``ort_profile``: ONNX Runtime's own profiler on the restructured export -- the share of
  kernel time per operator type (batch 16);
* ``rows_per_call``: ONNX Runtime galaxies/s against the number of samples fed per call;
* ``inductor``: ``torch.compile`` of the restructured sampler with frozen weights, and with
  Inductor's C++ GEMM template (``max_autotune``, ``CPP,ATEN`` backends), each against eager
  parity.

Each rate is the median of ``--repeats`` timed calls after one warm-up call.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_backends import build_models, flops_per_galaxy, wall_times  # noqa: E402


def _ort_profile(graph: Path, features, eps, threads: int, calls: int) -> dict:
    """Share of ORT kernel time per operator type."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.enable_profiling = True
    options.profile_file_prefix = str(Path(tempfile.mkdtemp()) / "ort")
    session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    feeds = {names[0]: features.numpy(), names[1]: eps.numpy()}
    for _ in range(calls):
        session.run(None, feeds)
    events = json.loads(Path(session.end_profiling()).read_text())
    totals = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            totals[event["args"]["op_name"]] += event["dur"]
    total = sum(totals.values())
    return {op: time / total for op, time in totals.most_common()}


def _rate(run, batch: int, repeats: int) -> float:
    return batch / float(np.median(wall_times(run, repeats)))


def main(argv=None) -> int:
    import torch

    from astro_galflow.backends.export import export_sampler
    from astro_galflow.backends.fast_sampler import restructure
    from astro_galflow.backends.onnxruntime import OnnxRuntimeSampler

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("flow_cpu_alternatives.json"))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rows", type=int, nargs="+", default=[500, 2048, 8000, 16000, 64000])
    args = parser.parse_args(argv)

    threads = 2
    torch.set_num_threads(threads)
    sampler, _, n_features, d = build_models()
    fast = restructure(sampler).eval()
    gen = torch.Generator().manual_seed(0)
    n, s = args.batch, args.samples
    features, eps = torch.randn(n, n_features, generator=gen), torch.randn(n, s, d, generator=gen)
    flops = flops_per_galaxy(s)["flow"]
    report = {"command": " ".join(["python", *sys.argv]), "batch": n, "samples": s, "threads": threads}

    with tempfile.TemporaryDirectory() as tmp:
        graph = export_sampler(fast, (torch.zeros(2, n_features), torch.zeros(2, 2, d)), Path(tmp) / "s.onnx")
        report["ort_profile"] = _ort_profile(graph, features[:16], eps[:16], threads, calls=20)
        report["rows_per_call"] = {}
        for rows in args.rows:
            ort_flow = OnnxRuntimeSampler(graph, threads=threads, rows_per_call=rows)
            report["rows_per_call"][rows] = _rate(lambda f=ort_flow: f(features, eps), n, args.repeats)

    import torch._inductor.config as inductor

    with torch.inference_mode():
        reference = fast(features, eps)
    report["inductor"] = {}
    for name, settings in (
        ("frozen", {"freezing": True}),
        ("frozen_cpp_gemm", {"freezing": True, "max_autotune": True, "max_autotune_gemm_backends": "CPP,ATEN"}),
    ):
        torch._dynamo.reset()
        with inductor.patch(settings), torch.inference_mode():
            compiled = torch.compile(fast, dynamic=False)
            out = compiled(features, eps)
            rate = _rate(lambda c=compiled: c(features, eps), n, args.repeats)
        deviation = float((out - reference).abs().max() / reference.abs().max())
        report["inductor"][name] = {"galaxies_per_s": rate, "max_rel_deviation": deviation}
    report["gflops_per_galaxy"] = flops / 1e9
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
