"""Throughput of the inference backends on this machine, with the roofline beside it.

One command::

    python benchmarks/bench_backends.py --out benchmarks/results/cpu.json

measures, per backend (eager torch; ONNX Runtime on the restructured sampler of
:mod:`astro_galflow.backends.fast_sampler`, and on the plain export as
``onnxruntime-plain``; torch.compile) and batch size:

* ``flow``: the joint sampler alone (core + metallicity + lines flows), ``S`` samples
  per galaxy (default 1,000);
* ``pipeline``: cutouts -> asinh scaling -> VAE encoder -> features -> noise -> joint
  sampler -> p16/p50/p84, mean and std of every parameter;

reporting galaxies/s and samples/s (median over ``--repeats`` timed calls, with min and
max), achieved GFLOP/s, peak resident memory of the worker process, the matmul/conv
FLOPs per galaxy (``torch.utils.flop_counter``) and the machine's measured fp32 matmul
rate through torch, numpy and ONNX Runtime (the roofline). Every configuration runs in
its own subprocess so that peak memory and thread pools do not leak between them.

The models have the default architecture of :mod:`astro_galflow.training.flow_stage`
and :class:`astro_galflow.encoders.vae.ImageVAE` with random weights: throughput does not
depend on the values of the weights.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MODES = ("flow", "pipeline")
BACKENDS = ("eager", "onnxruntime", "onnxruntime-plain", "compile")
ARCHITECTURE = {"context_dim": 256, "n_couplings": 12, "flow_hidden": 64, "scalar_layers": 2}
N_PHOTOMETRY = 9  # 4 colours + 5 magnitudes (encoders/photometry.py)


def build_models(seed: int = 0, vae_channels=None):
    """The joint sampler and VAE of the default architecture, with random weights.

    ``vae_channels`` overrides the encoder's convolution channels (default: ImageVAE's).
    """
    import torch

    from astro_galflow.encoders.vae import ImageVAE
    from astro_galflow.heads.network import JointNetwork, JointSampler
    from astro_galflow.params import PARAMETERS

    torch.manual_seed(seed)
    vae = (ImageVAE() if vae_channels is None else ImageVAE(channels=tuple(vae_channels))).eval()
    n_features = 2 * vae.latent_dim + N_PHOTOMETRY
    network = JointNetwork(n_features, PARAMETERS, "flow", **ARCHITECTURE)
    with torch.no_grad():
        # the heads start as identity flows (zero last layers); give them trained-like weights
        for p in network.parameters():
            p.add_(0.05 * torch.randn_like(p))
    d = len(PARAMETERS)
    sampler = JointSampler(network, torch.zeros(n_features), torch.ones(n_features), torch.zeros(d), torch.ones(d))
    return sampler.eval(), vae, n_features, d


def wall_times(fn, repeats: int) -> list[float]:
    """Seconds of ``repeats`` calls of ``fn`` after one warm-up call."""
    fn()  # warm-up: lazy initialisation, compilation, page faults of first buffers
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


# ---------------------------------------------------------------- roofline


def matmul_rates(threads: int, repeats: int = 5) -> dict:
    """Best fp32 GFLOP/s of square matmuls through torch, numpy and ONNX Runtime."""
    import onnx
    import onnxruntime as ort
    import torch
    from onnx import TensorProto, helper

    torch.set_num_threads(threads)
    rates: dict[str, dict] = {"torch": {}, "numpy": {}, "onnxruntime": {}}
    for n in (256, 512, 1024, 2048):
        a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
        b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        flops = 2.0 * n**3
        rates["torch"][n] = flops / np.median(wall_times(lambda ta=ta, tb=tb: torch.mm(ta, tb), repeats)) / 1e9
        rates["numpy"][n] = flops / np.median(wall_times(lambda a=a, b=b: a @ b, repeats)) / 1e9
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["a", "b"], ["c"])],
            "mm",
            [helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n])],
            [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])],
            [onnx.numpy_helper.from_array(b, "b")],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        rates["onnxruntime"][n] = (
            flops / np.median(wall_times(lambda s=session, a=a: s.run(None, {"a": a}), repeats)) / 1e9
        )
    best = {lib: max(r.values()) for lib, r in rates.items()}
    return {"gflops_by_size": rates, "best_gflops": best, "best_overall_gflops": max(best.values())}


def flops_per_galaxy(n_samples: int) -> dict:
    """Matmul/conv FLOPs of the sampler (per galaxy at ``n_samples``) and of the VAE (per image)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    sampler, vae, n_features, d = build_models()
    with torch.inference_mode():
        with FlopCounterMode(display=False) as counter:
            sampler(torch.zeros(1, n_features), torch.zeros(1, n_samples, d))
        flow = counter.get_total_flops()
        with FlopCounterMode(display=False) as counter:
            vae.features(torch.zeros(1, 3, 160, 160))
        encoder = counter.get_total_flops()
    return {"flow": flow, "encoder": encoder, "pipeline": flow + encoder, "per_sample_flow": flow / n_samples}


# ---------------------------------------------------------------- workers


def _make_runner(spec: dict):
    import torch

    from astro_galflow.cutouts import asinh_scale

    torch.set_num_threads(spec["threads"])
    sampler, vae, n_features, d = build_models()
    n, s = spec["batch"], spec["samples"]
    rng = np.random.default_rng(1)
    backend = spec["backend"]
    if backend.startswith("onnxruntime"):
        from astro_galflow.backends.onnxruntime import OnnxRuntimeEncoder, OnnxRuntimeSampler

        graph = Path(spec["sampler_onnx" if backend == "onnxruntime" else "plain_sampler_onnx"])
        flow = OnnxRuntimeSampler(graph, threads=spec["threads"], rows_per_call=spec["rows_per_call"])
        encoder = OnnxRuntimeEncoder(spec["encoder_onnx"], threads=spec["threads"])
    else:
        from astro_galflow.backends.compiled import CompileBackend
        from astro_galflow.backends.eager import EagerBackend
        from astro_galflow.backends.encoder import EncoderFeatures

        options = {"threads": spec["threads"]}
        backend_class = {"eager": EagerBackend, "compile": CompileBackend}[backend]
        flow = backend_class(options).compile(sampler, None, "cpu")
        module = EncoderFeatures(vae).eval()
        if backend == "compile":
            module = torch.compile(module)

        def encoder(images):
            with torch.inference_mode():
                return module(images)

    generator = torch.Generator().manual_seed(0)
    if spec["mode"] == "flow":
        features = torch.from_numpy(rng.standard_normal((n, n_features), dtype=np.float32))
        eps = torch.randn((n, s, d), generator=generator)
        return lambda: flow(features, eps)

    cutouts = rng.gamma(2.0, 0.05, size=(n, 3, 160, 160)).astype(np.float32)
    photometry = torch.from_numpy(rng.standard_normal((n, N_PHOTOMETRY), dtype=np.float32))
    quantiles = np.array([0.16, 0.5, 0.84])

    def pipeline():
        images = torch.from_numpy(np.ascontiguousarray(asinh_scale(cutouts)))
        features = torch.cat([encoder(images), photometry], dim=1)
        with torch.inference_mode():
            eps = torch.randn((n, s, d), generator=generator)
            samples = np.asarray(flow(features, eps))
        return np.quantile(samples, quantiles, axis=1), samples.mean(axis=1), samples.std(axis=1)

    return pipeline


def run_worker(spec: dict) -> dict:
    """Time one (mode, backend, batch) configuration in this process.

    With ``spec["interleaved"]`` (a list of backends) time them round-robin instead, one
    call each per round, so that load changes on a shared machine hit all alike and their
    ratios stay meaningful.
    """
    if spec.get("interleaved"):
        runners = {b: _make_runner({**spec, "backend": b}) for b in spec["interleaved"]}
        times: dict[str, list[float]] = {b: [] for b in runners}
        for runner in runners.values():
            runner()
        for _ in range(spec["repeats"]):
            for backend, runner in runners.items():
                start = time.perf_counter()
                runner()
                times[backend].append(time.perf_counter() - start)
        return {"times_s": times}
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    runner = _make_runner(spec)
    times = wall_times(runner, spec["repeats"])
    return {
        "times_s": times,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_setup_mb": rss_before,
    }


# ---------------------------------------------------------------- driver


def _export_models(directory: Path) -> dict[str, str]:
    import torch

    from astro_galflow.backends.encoder import EncoderFeatures
    from astro_galflow.backends.export import export_encoder, export_sampler
    from astro_galflow.backends.fast_sampler import restructure

    sampler, vae, n_features, d = build_models()
    example = (torch.zeros(2, n_features), torch.zeros(2, 2, d))
    return {
        "sampler_onnx": str(export_sampler(restructure(sampler), example, directory / "sampler.onnx")),
        "plain_sampler_onnx": str(export_sampler(sampler, example, directory / "plain.onnx")),
        "encoder_onnx": str(
            export_encoder(EncoderFeatures(vae).eval(), torch.zeros(2, 3, 160, 160), directory / "encoder.onnx")
        ),
    }


def _run_worker_process(spec: dict) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(spec)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": str(spec["threads"])},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _summarise(result: dict, spec: dict, flops: dict, best_rate: float) -> dict:
    times = np.asarray(result["times_s"])
    gal = spec["batch"] / times
    median = float(np.median(gal))
    gflops = median * flops[spec["mode"]] / 1e9
    return {
        **{k: spec[k] for k in ("mode", "backend", "batch", "samples", "threads")},
        "galaxies_per_s": median,
        "galaxies_per_s_min": float(gal.min()),
        "galaxies_per_s_max": float(gal.max()),
        "samples_per_s": median * spec["samples"],
        "gflops": gflops,
        "fraction_of_best_matmul": gflops / best_rate,
        "peak_rss_mb": result["peak_rss_mb"],
        "times_s": result["times_s"],
    }


def _table(rows: list[dict]) -> str:
    header = f"{'mode':9} {'backend':12} {'batch':>5} {'gal/s':>9} {'[min, max]':>19} {'Msamp/s':>8} {'GFLOP/s':>8} {'%best':>6} {'peakMB':>7}"
    lines = [header]
    for r in rows:
        lines.append(
            f"{r['mode']:9} {r['backend']:12} {r['batch']:5d} {r['galaxies_per_s']:9.1f} "
            f"[{r['galaxies_per_s_min']:8.1f}, {r['galaxies_per_s_max']:8.1f}] {r['samples_per_s'] / 1e6:8.3f} "
            f"{r['gflops']:8.1f} {100 * r['fraction_of_best_matmul']:6.1f} {r['peak_rss_mb']:7.0f}"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/cpu.json"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument(
        "--rows-sweep", type=int, nargs="*", default=[], help="also time the ORT flow at these rows_per_call"
    )
    parser.add_argument("--rows-per-call", type=int, default=None, help="ORT samples per call (default: backend's)")
    parser.add_argument(
        "--interleaved",
        action="store_true",
        help="time the backends round-robin in one process per (mode, batch) instead of one process each: "
        "robust ratios on a busy machine (no per-backend peak memory)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(run_worker(json.loads(args.worker))))
        return 0

    import onnxruntime
    import torch

    from astro_galflow.backends.onnxruntime import DEFAULT_ROWS_PER_CALL

    load_before = os.getloadavg()
    started = time.time()
    roofline = matmul_rates(args.threads)
    flops = flops_per_galaxy(args.samples)
    rows, sweep, interleaved = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        base = {
            "samples": args.samples,
            "threads": args.threads,
            "repeats": args.repeats,
            "rows_per_call": args.rows_per_call or DEFAULT_ROWS_PER_CALL,
            **_export_models(Path(tmp)),
        }
        for mode in () if args.interleaved else args.modes:
            for backend in args.backends:
                for batch in args.batch_sizes:
                    spec = {**base, "mode": mode, "backend": backend, "batch": batch}
                    rows.append(_summarise(_run_worker_process(spec), spec, flops, roofline["best_overall_gflops"]))
                    print(_table(rows[-1:]).splitlines()[1], flush=True)
        for mode in args.modes if args.interleaved else ():
            for batch in args.batch_sizes:
                spec = {**base, "mode": mode, "backend": "interleaved", "batch": batch, "interleaved": args.backends}
                times = _run_worker_process(spec)["times_s"]
                medians = {b: batch / float(np.median(t)) for b, t in times.items()}
                reference = medians.get("eager")
                interleaved.append(
                    {
                        "mode": mode,
                        "batch": batch,
                        "galaxies_per_s": medians,
                        "speedup_vs_eager": {b: m / reference for b, m in medians.items()} if reference else None,
                        "times_s": times,
                    }
                )
                print(f"interleaved {mode} batch {batch}: " + ", ".join(f"{b} {m:.1f}" for b, m in medians.items()))
        for rows_per_call in args.rows_sweep:
            spec = {**base, "mode": "flow", "backend": "onnxruntime", "batch": max(args.batch_sizes)}
            spec["rows_per_call"] = rows_per_call
            summary = _summarise(_run_worker_process(spec), spec, flops, roofline["best_overall_gflops"])
            sweep.append({"rows_per_call": rows_per_call, **summary})
            print(f"rows_per_call={rows_per_call}: {summary['galaxies_per_s']:.1f} galaxies/s", flush=True)
    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {
            "platform": platform.platform(),
            "processor": _cpu_name(),
            "cpu_count": os.cpu_count(),
            "threads": args.threads,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__,
            "numpy": np.__version__,
        },
        "samples": args.samples,
        "duration_s": time.time() - started,
        "matmul": roofline,
        "flops_per_galaxy": flops,
        "roofline_galaxies_per_s": {
            mode: roofline["best_overall_gflops"] * 1e9 / flops[mode] for mode in ("flow", "pipeline")
        },
        "results": rows,
        "rows_per_call_sweep": sweep,
        "interleaved": interleaved,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(_table(rows))
    print(f"best fp32 matmul: {roofline['best_gflops']} GFLOP/s; FLOPs/galaxy: {flops}; wrote {args.out}")
    return 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())
