"""Full-pipeline throughput on one NVIDIA GPU: eager vs torch.compile vs CUDA graphs (vs TensorRT).

One prepared command for an H100-class machine::

    python benchmarks/gpu_benchmark.py --out gpu.json

For each backend and batch size it times the whole per-galaxy path on the GPU --
cutouts -> asinh scaling -> VAE encoder -> features -> noise -> joint sampler (core,
metallicity and lines flows) -> p16/p50/p84, mean and std of every parameter -- at
``S = 1,000`` samples per galaxy, and the sampler alone. Medians over ``--repeats``
CUDA-event-timed calls (with min and max), peak GPU memory, and the largest deviation
of each backend's samples from eager fp32 on the same inputs and noise (relative to the
sample scale; for reduced-precision TensorRT engines also the shift of the p16/p50/p84
quantiles in units of the posterior standard deviation). TensorRT runs only where the
``galflow-tensorrt`` plugin and TensorRT are installed.

``--budget-s`` bounds the wall time: configurations not started by then are skipped and
listed in the JSON, so a short GPU lease still returns results.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_backends import N_PHOTOMETRY, build_models  # noqa: E402

QUANTILES = (0.16, 0.5, 0.84)


def _quantiles(samples, qs=QUANTILES):
    """Linear-interpolated quantiles along the sample axis (torch.quantile caps input size)."""
    import torch

    ordered = samples.sort(dim=1).values
    s = samples.shape[1]
    out = []
    for q in qs:
        pos = q * (s - 1)
        lo = int(pos)
        hi = min(lo + 1, s - 1)
        w = pos - lo
        out.append(ordered[:, lo] * (1 - w) + ordered[:, hi] * w)
    return torch.stack(out)


def _cuda_time(fn, repeats: int) -> list[float]:
    import torch

    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) / 1e3)
    return times


def _samplers(sampler, example, args):
    """``(name, build)`` of every backend that can run here, built lazily, cheapest first."""
    from astro_galflow.backends.compiled import CompileBackend
    from astro_galflow.backends.cudagraphs import CudaGraphsBackend
    from astro_galflow.backends.eager import EagerBackend

    yield "eager", lambda: EagerBackend().compile(sampler, example, "cuda")
    yield "cuda-graphs", lambda: CudaGraphsBackend().compile(sampler, example, "cuda")
    yield "compile", lambda: CompileBackend().compile(sampler, example, "cuda")
    yield (
        "compile-reduce-overhead",
        lambda: CompileBackend({"compile_mode": "reduce-overhead"}).compile(sampler, example, "cuda"),
    )
    yield from _tensorrt_samplers(sampler, example, args)
    # last: autotuning can take minutes, and --budget-s skips it when time is short
    yield (
        "compile-max-autotune",
        lambda: CompileBackend({"compile_mode": "max-autotune"}).compile(sampler, example, "cuda"),
    )


def _tensorrt_samplers(sampler, example, args):
    import torch

    try:
        from galflow_tensorrt.backend import TensorRTBackend, unavailable_reason
    except ImportError:
        return
    if unavailable_reason("cuda") is not None:
        return
    for precision in args.trt_precisions:
        if precision == "bf16" and torch.cuda.get_device_capability() < (8, 0):
            continue

        def build(precision=precision):
            options = {"precision": precision, "cache_dir": args.trt_cache, "max_batch": max(args.batch_sizes)}
            return TensorRTBackend(options, batch_size=max(args.batch_sizes), n_samples=args.samples).compile(
                sampler, example, "cuda"
            )

        yield f"tensorrt-{precision}", build


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("gpu.json"))
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--budget-s", type=float, default=420.0)
    parser.add_argument("--trt-precisions", nargs="*", default=["fp32", "fp16", "bf16"])
    parser.add_argument("--trt-cache", default="/tmp/galflow-trt-cache")
    args = parser.parse_args(argv)

    import torch

    started = time.time()
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to measure", file=sys.stderr)
        return 1
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32: parity with the CPU backends
    torch.backends.cudnn.allow_tf32 = False
    device = "cuda"
    sampler, vae, n_features, d = build_models()
    sampler, vae = sampler.to(device), vae.to(device)
    example = (torch.zeros(2, n_features, device=device), torch.zeros(2, 2, d, device=device))
    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "gpu": torch.cuda.get_device_name(),
        "compute_capability": list(torch.cuda.get_device_capability()),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "samples": args.samples,
        "results": [],
        "skipped": [],
        "errors": [],
    }
    # matmul roofline of this GPU (fp32 without TF32, and bf16)
    a = torch.randn(8192, 8192, device=device)
    for dtype in (torch.float32, torch.bfloat16):
        x = a.to(dtype)
        t = min(_cuda_time(lambda x=x: x @ x, 5))
        report[f"matmul_tflops_{str(dtype).split('.')[-1]}"] = 2 * 8192**3 / t / 1e12
    del a, x

    gen = torch.Generator(device=device).manual_seed(0)
    reference = {}
    # every backend shares the eager fp32 (cuDNN) VAE: the backends differ in the sampler
    vae_module = vae.features
    for name, build in _samplers(sampler, example, args):
        if time.time() - started > args.budget_s:
            report["skipped"].append(name)
            continue
        try:
            t0 = time.time()
            flow = build()
            build_s = time.time() - t0
        except Exception as exc:  # report and go on: one backend failing must not lose the others
            report["errors"].append({"backend": name, "error": f"{type(exc).__name__}: {exc}"})
            continue
        for batch in args.batch_sizes:
            if time.time() - started > args.budget_s:
                report["skipped"].append(f"{name}@{batch}")
                continue
            features = torch.randn(batch, n_features, device=device, generator=gen)
            eps = torch.randn(batch, args.samples, d, device=device, generator=gen)
            cutouts = torch.rand(batch, 3, 160, 160, device=device, generator=gen) * 0.2
            photometry = torch.randn(batch, N_PHOTOMETRY, device=device, generator=gen)

            def pipeline(flow=flow, batch=batch, cutouts=cutouts, photometry=photometry):
                with torch.inference_mode():
                    latent = vae_module(torch.asinh(cutouts / 0.02))
                    feats = torch.cat([latent, photometry], dim=1)
                    noise = torch.randn(batch, args.samples, d, device=device)
                    samples = flow(feats, noise)
                    return _quantiles(samples), samples.mean(1), samples.std(1)

            try:
                torch.cuda.reset_peak_memory_stats()
                with torch.inference_mode():
                    # a copy: CUDA-graph backends overwrite their outputs on the next replay
                    out = flow(features, eps).clone()
                key = batch
                if name == "eager":
                    reference[key] = out
                flow_times = _cuda_time(lambda flow=flow, f=features, e=eps: flow(f, e), args.repeats)
                pipe_times = _cuda_time(pipeline, args.repeats)
            except Exception as exc:
                report["errors"].append({"backend": name, "batch": batch, "error": f"{type(exc).__name__}: {exc}"})
                continue
            ref = reference.get(key)
            entry = {
                "backend": name,
                "batch": batch,
                "build_s": build_s,
                "flow_galaxies_per_s": batch / sorted(flow_times)[len(flow_times) // 2],
                "flow_galaxies_per_s_min": batch / max(flow_times),
                "flow_galaxies_per_s_max": batch / min(flow_times),
                "pipeline_galaxies_per_s": batch / sorted(pipe_times)[len(pipe_times) // 2],
                "pipeline_galaxies_per_s_min": batch / max(pipe_times),
                "pipeline_galaxies_per_s_max": batch / min(pipe_times),
                "peak_memory_gb": torch.cuda.max_memory_allocated() / 2**30,
            }
            entry["pipeline_samples_per_s"] = entry["pipeline_galaxies_per_s"] * args.samples
            if ref is not None:
                entry["max_rel_deviation_vs_eager"] = float((out - ref).abs().max() / ref.abs().max())
                shift = (_quantiles(out) - _quantiles(ref)).abs() / ref.std(dim=1)
                entry["max_quantile_shift_sigma"] = float(shift.max())
                entry["median_quantile_shift_sigma"] = float(shift.median())
            report["results"].append(entry)
            print(json.dumps(entry), flush=True)
    report["duration_s"] = time.time() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
