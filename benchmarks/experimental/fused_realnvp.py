"""Experiment: a hand-fused CPU kernel for the RealNVP flows, against ONNX Runtime.

Issue 6 asks the CPU flow sampler for >= 60 % of the best measured fp32 matmul rate; the
ONNX Runtime graph stops near 35 % because the SiLU activations, the context Add and the
Split each make a pass over ``[rows x 64]`` activations (``docs/results/benchmarks.rst``).
This script builds ``fused_realnvp.cpp`` (beside it; needs a C++ compiler, ninja and an
AVX-512 CPU) with ``torch.utils.cpp_extension``, checks it against
:class:`~astro_galflow.backends.fast_sampler.FastRealNVP` on the same inputs, and times:

* the kernel alone on one RealNVP of the default architecture (12 couplings, 4-D, hidden
  64), 1 and 2 threads;
* the whole joint sampler with both RealNVPs replaced by the kernel (the metallicity flow
  and the glue stay in eager torch) and, interleaved with it, ONNX Runtime's restructured
  sampler (the CPU default).

Run from the repository root::

    python benchmarks/experimental/fused_realnvp.py --out benchmarks/results/fused_realnvp.json

No backend uses the kernel: it is a measured starting point, not a product path (see the
JSON's ``conclusion``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench_backends import build_models, flops_per_galaxy, matmul_rates, wall_times  # noqa: E402


def _build(*defines: str):
    from torch.utils.cpp_extension import load

    flags = ["-O3", "-march=native", "-ffast-math", "-fopenmp", *(f"-D{name}" for name in defines)]
    name = "_".join(["galflow_fused_realnvp", *(d.lower() for d in defines)])
    return load(name, [str(HERE / "fused_realnvp.cpp")], extra_cflags=flags, extra_ldflags=["-fopenmp"])


def _pack(flow):
    """The kernel's weight layout: transposed input/hidden weights, output layer padded to 16."""
    import torch

    n_layers, hidden, dim = flow.n_layers, flow.hidden, flow.dim
    with torch.no_grad():
        wxt = torch.stack([w.t() for w in flow.x_weight]).contiguous()
        w2t = torch.stack([w.t() for w in flow.mid_weight]).contiguous()
        b2 = torch.stack(list(flow.mid_bias)).contiguous()
        wot, bo = torch.zeros(n_layers, hidden, 16), torch.zeros(n_layers, 16)
        for k in range(n_layers):
            wot[k, :, : 2 * dim] = flow.out_weight[k].t()
            bo[k, : 2 * dim] = flow.out_bias[k]
    return wxt, w2t, b2, wot, bo


def _fuse(sampler, ext):
    """``sampler`` restructured, with every FastRealNVP's forward replaced by the kernel."""
    from torch.nn import functional as F

    from astro_galflow.backends.fast_sampler import FastRealNVP, restructure

    fast = restructure(sampler).eval()
    for flow in (m for m in fast.modules() if isinstance(m, FastRealNVP)):
        packed = _pack(flow)

        def forward(context, eps, flow=flow, packed=packed):
            n = eps.shape[0]
            proj = F.linear(context, flow.context_weight, flow.context_bias).reshape(n, flow.n_layers, flow.hidden)
            return ext.fused_realnvp(eps.contiguous(), proj.contiguous(), *packed, float(flow.bound))

        flow.forward = forward
    return fast


def main(argv=None) -> int:
    import torch

    from astro_galflow.backends.export import export_sampler
    from astro_galflow.backends.fast_sampler import FastRealNVP, restructure
    from astro_galflow.backends.onnxruntime import OnnxRuntimeSampler

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("fused_realnvp.json"))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    if torch.backends.cpu.get_cpu_capability() != "AVX512":
        print("the kernel needs an AVX-512 CPU", file=sys.stderr)
        return 1

    t0 = time.perf_counter()
    ext = _build()
    report = {"command": " ".join(["python", *sys.argv]), "build_s": time.perf_counter() - t0}
    report["best_matmul_gflops"] = matmul_rates(2)["best_overall_gflops"]
    torch.set_num_threads(2)
    sampler, _, n_features, d = build_models()
    reference = restructure(sampler).eval()
    fused = _fuse(build_models()[0], ext)
    n, s = args.batch, args.samples
    gen = torch.Generator().manual_seed(0)
    features, eps = torch.randn(n, n_features, generator=gen), torch.randn(n, s, d, generator=gen)

    # the kernel alone on one RealNVP
    flow = next(m for m in reference.modules() if isinstance(m, FastRealNVP))
    packed = _pack(flow)
    context = torch.randn(n, flow.context_weight.shape[1], generator=gen)
    proj = torch.nn.functional.linear(context, flow.context_weight, flow.context_bias)
    proj = proj.reshape(n, flow.n_layers, flow.hidden).detach().contiguous()
    flow_eps = torch.randn(n, s, flow.dim, generator=gen)
    flops = 2 * (flow.dim * flow.hidden + flow.hidden**2 + flow.hidden * 2 * flow.dim) * flow.n_layers * s * n
    with torch.inference_mode():
        expected = flow(context, flow_eps)
        got = ext.fused_realnvp(flow_eps, proj, *packed, float(flow.bound))
    report["kernel_max_rel_deviation"] = float((got - expected).abs().max() / expected.abs().max())
    for threads in (1, 2):
        torch.set_num_threads(threads)
        t = float(np.median(wall_times(lambda: ext.fused_realnvp(flow_eps, proj, *packed, 3.0), args.repeats)))
        report[f"kernel_gflops_{threads}_threads"] = flops / t / 1e9
    # the same kernel without its SiLU activations (wrong samples): what the activations cost
    torch.set_num_threads(1)
    bare = _build("NO_SILU")
    t = float(np.median(wall_times(lambda: bare.fused_realnvp(flow_eps, proj, *packed, 3.0), args.repeats)))
    report["kernel_without_silu_gflops_1_thread"] = flops / t / 1e9
    torch.set_num_threads(2)

    # the joint sampler: fused RealNVPs + eager rest, against ONNX Runtime, interleaved
    with tempfile.TemporaryDirectory() as tmp:
        graph = export_sampler(reference, (torch.zeros(2, n_features), torch.zeros(2, 2, d)), Path(tmp) / "s.onnx")
        ort = OnnxRuntimeSampler(graph, threads=2)
        runners = {"fused": lambda: fused(features, eps), "onnxruntime": lambda: ort(features, eps)}
        with torch.inference_mode():
            expected = reference(features, eps)
            report["joint_max_rel_deviation"] = float(
                (fused(features, eps) - expected).abs().max() / expected.abs().max()
            )
            times = {name: [] for name in runners}
            for run in runners.values():
                run()
            for _ in range(args.repeats):
                for name, run in runners.items():
                    start = time.perf_counter()
                    run()
                    times[name].append(time.perf_counter() - start)
    flow_flops = flops_per_galaxy(s)["flow"] * n
    for name, values in times.items():
        t = float(np.median(values))
        report[f"joint_{name}_galaxies_per_s"] = n / t
        report[f"joint_{name}_fraction_of_best_matmul"] = flow_flops / t / 1e9 / report["best_matmul_gflops"]
    kernel = report["kernel_gflops_2_threads"] / report["best_matmul_gflops"]
    report["conclusion"] = (
        f"the kernel alone runs at {kernel:.0%} of the best matmul rate on 2 threads; the joint sampler with "
        f"the metallicity flow and glue still in eager torch at {report['joint_fused_fraction_of_best_matmul']:.0%} "
        f"(ONNX Runtime {report['joint_onnxruntime_fraction_of_best_matmul']:.0%}): fusing the metallicity MLP and "
        "the glue comes before this can become a backend"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
