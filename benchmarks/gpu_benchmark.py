"""Full-pipeline throughput on one NVIDIA GPU: eager vs torch.compile vs CUDA graphs (vs TensorRT).

One prepared command for an H100-class machine::

    python benchmarks/gpu_benchmark.py --out gpu.json

For each backend and batch size it times the whole per-galaxy path on the GPU --
cutouts -> asinh scaling -> VAE encoder -> features -> noise -> joint sampler (core,
metallicity and lines flows) -> p16/p50/p84, mean and std of every parameter -- at
``S = 1,000`` samples per galaxy, and the sampler alone. Medians over ``--repeats``
CUDA-event-timed calls (with min and max), peak GPU memory, and the largest deviation
of each backend's samples from eager fp32 on the same inputs and noise (relative to the
sample scale) with the shift of the p16/p50/p84 quantiles in units of the posterior
standard deviation.

Besides strict fp32 (TF32 off: parity with the CPU backends) every torch backend runs
in two reduced-precision modes, so that the accuracy price of each speed-up is measured
next to it: ``tf32`` (matmuls and convolutions on TF32 tensor cores) and ``bf16``
(``torch.autocast`` to bfloat16 around the encoder and the sampler). TensorRT runs only
where the ``galflow-tensorrt`` plugin and TensorRT are installed.

``--budget-s`` bounds the wall time: configurations not started by then are skipped and
listed in the JSON, so a short GPU lease still returns results. ``--device cpu`` runs the
same code on the CPU backends at tiny sizes (a smoke test; timings there mean nothing).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_backends import N_PHOTOMETRY, build_models, wall_times  # noqa: E402

QUANTILES = (0.16, 0.5, 0.84)
PRECISIONS = ("fp32", "tf32", "bf16")


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


def _device_time(fn, repeats: int, device: str) -> list[float]:
    """Seconds per call: CUDA events on a GPU, the wall clock on the CPU."""
    import torch

    if device == "cpu":
        return wall_times(fn, repeats)
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


@contextlib.contextmanager
def _precision(precision: str, device: str):
    """TF32 tensor cores on for ``tf32``; bfloat16 autocast for ``bf16``; strict fp32 otherwise.

    The TF32 switches are global and read when a kernel is chosen (by cuBLAS/cuDNN at call
    time, by Inductor at compile time), so they wrap every call from outside the module.
    """
    import torch

    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "tf32"
    autocast = (
        torch.autocast(device_type=device, dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
    )
    try:
        with autocast:
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _autocast_module(module, precision: str, device: str):
    """``module`` whose forward runs under bf16 autocast (inside a captured graph too), fp32 out."""
    import torch

    if precision != "bf16":
        return module

    class Autocast(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = module

        def forward(self, context, eps):
            with torch.autocast(device_type=device, dtype=torch.bfloat16):
                return self.inner(context, eps).float()

    return Autocast().eval()


def _under_precision(flow, precision: str, device: str):
    """A callable running ``flow`` with the TF32 switches of ``precision`` set around it."""

    def call(context, eps):
        with _precision("tf32" if precision == "tf32" else "fp32", device):
            return flow(context, eps)

    return call


def _samplers(sampler, example, args):
    """``(name, precision, build)`` of every backend that can run here, built lazily, cheapest first."""
    import torch

    from astro_galflow.backends.cudagraphs import CudaGraphSampler
    from astro_galflow.backends.eager import EagerSampler
    from astro_galflow.backends.fast_sampler import restructure

    device = args.device
    fast = restructure(sampler.to(device).eval())

    def eager(precision):
        return EagerSampler(_autocast_module(sampler, precision, device), device)

    def graphs(precision):
        return CudaGraphSampler(_autocast_module(fast, precision, device), device)

    def compiled(precision, mode=None):
        module = _autocast_module(restructure(sampler), precision, device)
        return EagerSampler(torch.compile(module, dynamic=True, mode=mode), device)

    # eager fp32 first: it is the reference of every deviation; then the cheap builds of
    # every requested precision, then the compiled ones (minutes each on a cold cache)
    precisions = list(args.precisions)
    yield "eager", "fp32", lambda: eager("fp32")
    for precision in precisions:
        if precision != "fp32":
            yield "eager", precision, lambda p=precision: eager(p)
        if device == "cuda":
            yield "cuda-graphs", precision, lambda p=precision: graphs(p)
    for precision in precisions:
        yield "compile", precision, lambda p=precision: compiled(p)
    if device == "cuda":
        for precision in precisions:
            yield "compile-reduce-overhead", precision, lambda p=precision: compiled(p, "reduce-overhead")
    yield from _tensorrt_samplers(sampler, example, args)
    if args.max_autotune:
        # last: autotuning can take minutes, and --budget-s skips it when time is short
        yield "compile-max-autotune", "fp32", lambda: compiled("fp32", "max-autotune")


def _tensorrt_samplers(sampler, example, args):
    import torch

    try:
        from galflow_tensorrt.backend import TensorRTBackend, unavailable_reason
    except ImportError:
        return
    if args.device != "cuda" or unavailable_reason("cuda") is not None:
        return
    for precision in args.trt_precisions:
        if precision == "bf16" and torch.cuda.get_device_capability() < (8, 0):
            continue

        def build(precision=precision):
            options = {"precision": precision, "cache_dir": args.trt_cache, "max_batch": max(args.batch_sizes)}
            return TensorRTBackend(options, batch_size=max(args.batch_sizes), n_samples=args.samples).compile(
                sampler, example, "cuda"
            )

        yield f"tensorrt-{precision}", "engine", build


def _machine(device: str) -> dict:
    import torch

    info = {"torch": torch.__version__}
    if device == "cuda":
        info.update(
            gpu=torch.cuda.get_device_name(),
            compute_capability=list(torch.cuda.get_device_capability()),
            cuda=torch.version.cuda,
            multiprocessors=torch.cuda.get_device_properties(0).multi_processor_count,
        )
    return info


def _matmul_roofline(device: str, size: int) -> dict:
    """Measured matmul TFLOP/s in strict fp32, TF32 and bf16 (the roofline of each precision)."""
    import torch

    a = torch.randn(size, size, device=device)
    rates = {}
    for precision, dtype in (("fp32", torch.float32), ("tf32", torch.float32), ("bf16", torch.bfloat16)):
        if device == "cpu" and precision == "tf32":
            continue
        x = a.to(dtype)
        with _precision("tf32" if precision == "tf32" else "fp32", device):
            t = min(_device_time(lambda x=x: x @ x, 5, device))
        rates[precision] = 2 * size**3 / t / 1e12
    return rates


def _median(times: list[float]) -> float:
    return sorted(times)[len(times) // 2]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("gpu.json"))
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1024, 4096, 16384])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--budget-s", type=float, default=420.0)
    parser.add_argument("--precisions", nargs="+", choices=PRECISIONS, default=list(PRECISIONS))
    parser.add_argument("--backends", nargs="+", help="time only these backends (default: every one that can run here)")
    parser.add_argument("--max-autotune", action="store_true", help="also time torch.compile(mode='max-autotune')")
    parser.add_argument("--trt-precisions", nargs="*", default=["fp32", "fp16", "bf16"])
    parser.add_argument("--trt-cache", default="/tmp/galflow-trt-cache")
    parser.add_argument("--matmul-size", type=int, default=8192)
    parser.add_argument(
        "--vae-channels",
        type=int,
        nargs=3,
        default=None,
        help="encoder convolution channels (default: ImageVAE's, 32 64 128; the shipped sim-default has 16 32 32)",
    )
    args = parser.parse_args(argv)

    import torch

    started = time.time()
    device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: nothing to measure", file=sys.stderr)
        return 1
    sampler, vae, n_features, d = build_models(vae_channels=args.vae_channels)
    sampler, vae = sampler.to(device), vae.to(device).eval()
    example = (torch.zeros(2, n_features, device=device), torch.zeros(2, 2, d, device=device))
    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        **_machine(device),
        "device": device,
        "samples": args.samples,
        "vae_channels": list(vae.channels),
        "matmul_tflops": _matmul_roofline(device, args.matmul_size),
        "encoder": [],
        "results": [],
        "skipped": [],
        "errors": [],
    }
    print(json.dumps({"matmul_tflops": report["matmul_tflops"]}), flush=True)

    gen = torch.Generator(device=device).manual_seed(0)
    inputs = {}
    for batch in args.batch_sizes:
        inputs[batch] = (
            torch.randn(batch, n_features, device=device, generator=gen),
            torch.randn(batch, args.samples, d, device=device, generator=gen),
            torch.rand(batch, 3, 160, 160, device=device, generator=gen) * 0.2,
            torch.randn(batch, N_PHOTOMETRY, device=device, generator=gen),
        )
    # every sampler backend shares the eager (cuDNN) encoder; its own throughput per precision:
    vae_module = vae.features
    for precision in args.precisions:
        for batch in args.batch_sizes:
            cutouts = inputs[batch][2]

            def encode(cutouts=cutouts, precision=precision):
                with torch.inference_mode(), _precision(precision, device):
                    return vae_module(torch.asinh(cutouts / 0.02))

            times = _device_time(encode, args.repeats, device)
            entry = {"precision": precision, "batch": batch, "images_per_s": batch / _median(times)}
            report["encoder"].append(entry)
            print(json.dumps({"encoder": entry}), flush=True)

    reference = {}
    for name, precision, build in _samplers(sampler, example, args):
        label = f"{name}[{precision}]"
        # eager fp32 always runs: it is the reference of every deviation
        if args.backends and name not in args.backends and (name, precision) != ("eager", "fp32"):
            continue
        if time.time() - started > args.budget_s:
            report["skipped"].append(label)
            continue
        try:
            t0 = time.time()
            flow = _under_precision(build(), precision, device)
            build_s = time.time() - t0
        except Exception as exc:  # report and go on: one backend failing must not lose the others
            report["errors"].append({"backend": label, "error": f"{type(exc).__name__}: {exc}"})
            continue
        for batch in args.batch_sizes:
            if time.time() - started > args.budget_s:
                report["skipped"].append(f"{label}@{batch}")
                continue
            features, eps, cutouts, photometry = inputs[batch]
            encoder_precision = precision if precision in PRECISIONS else "fp32"

            def pipeline(flow=flow, batch=batch, cutouts=cutouts, photometry=photometry, p=encoder_precision):
                with torch.inference_mode():
                    with _precision(p, device):
                        latent = vae_module(torch.asinh(cutouts / 0.02)).float()
                    feats = torch.cat([latent, photometry], dim=1)
                    noise = torch.randn(batch, args.samples, d, device=device)
                    samples = flow(feats, noise)
                    return _quantiles(samples), samples.mean(1), samples.std(1)

            try:
                if device == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                t0 = time.time()
                with torch.inference_mode():
                    # a copy: CUDA-graph backends overwrite their outputs on the next replay
                    out = flow(features, eps).float().clone()
                first_call_s = time.time() - t0  # compiles and captures happen here
                if name == "eager" and precision == "fp32":
                    reference[batch] = out
                flow_times = _device_time(lambda flow=flow, f=features, e=eps: flow(f, e), args.repeats, device)
                pipe_times = _device_time(pipeline, args.repeats, device)
            except Exception as exc:
                report["errors"].append({"backend": label, "batch": batch, "error": f"{type(exc).__name__}: {exc}"})
                continue
            entry = {
                "backend": name,
                "precision": precision,
                "batch": batch,
                "build_s": build_s,
                "first_call_s": first_call_s,
                "flow_galaxies_per_s": batch / _median(flow_times),
                "flow_galaxies_per_s_min": batch / max(flow_times),
                "flow_galaxies_per_s_max": batch / min(flow_times),
                "pipeline_galaxies_per_s": batch / _median(pipe_times),
                "pipeline_galaxies_per_s_min": batch / max(pipe_times),
                "pipeline_galaxies_per_s_max": batch / min(pipe_times),
            }
            entry["pipeline_samples_per_s"] = entry["pipeline_galaxies_per_s"] * args.samples
            if device == "cuda":
                entry["peak_memory_gb"] = torch.cuda.max_memory_allocated() / 2**30
            ref = reference.get(batch)
            if ref is not None:
                entry["max_rel_deviation_vs_eager"] = float((out - ref).abs().max() / ref.abs().max())
                shift = (_quantiles(out) - _quantiles(ref)).abs() / ref.std(dim=1)
                entry["max_quantile_shift_sigma"] = float(shift.max())
                entry["median_quantile_shift_sigma"] = float(shift.median())
            report["results"].append(entry)
            print(json.dumps(entry), flush=True)
            del out
    report["duration_s"] = time.time() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
