"""Experiment: fold the per-galaxy context ``Add`` of the restructured flow into a batched MatMul.

In :class:`~astro_galflow.backends.fast_sampler.FastRealNVP` each coupling's first layer is
``rows @ W_x + projected_context`` with the context term broadcast over a galaxy's
samples; ONNX Runtime runs the broadcast ``Add`` as its own pass over the ``[rows x 64]``
activations (16 % of the sampler's time in its profiler). Appending a column of ones to
the rows and the galaxy's context projection as a last weight row makes it one batched
``MatMul`` per galaxy. This script exports the shipped ``sim-photometry`` sampler both
ways and times them in ONNX Runtime (one thread, as the backend runs each call), in turns.
Not adopted: the same module feeds the GPU backends, which could not be measured.

Run from the repository root::

    python benchmarks/experimental/context_add_fold.py --out benchmarks/results/context_add_fold.json
"""

from __future__ import annotations

import argparse
import json
import time
import types
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F


def folded_forward(self, context, eps):
    """:meth:`FastRealNVP.forward` with the context term inside a batched MatMul."""
    n, s, d = eps.shape
    projected = F.linear(context, self.context_weight, self.context_bias).reshape(n, self.n_layers, 1, self.hidden)
    rows = eps.reshape(n, s, d)
    ones = torch.ones_like(rows[..., :1])
    for k in range(self.n_layers):
        weight = torch.cat([self.x_weight[k].t().unsqueeze(0).expand(n, d, self.hidden), projected[:, k]], dim=1)
        h = F.silu(torch.matmul(torch.cat([rows, ones], dim=-1), weight).reshape(n * s, self.hidden))
        h = F.silu(F.linear(h, self.mid_weight[k], self.mid_bias[k]))
        scale, shift = F.linear(h, self.out_weight[k], self.out_bias[k]).split(d, dim=-1)
        rows = rows * torch.exp(self.bound * torch.tanh(scale.reshape(n, s, d))) + shift.reshape(n, s, d)
    return rows


def main(argv=None) -> int:
    import onnxruntime as ort

    from astro_galflow.backends.export import export_sampler
    from astro_galflow.backends.fast_sampler import FastRealNVP, restructure
    from astro_galflow.backends.onnxruntime import session_options
    from astro_galflow.models import load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/context_add_fold.json"))
    parser.add_argument("--model", default="sim-photometry")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    sampler = load_model(args.model).samplers()["joint"]
    fast = restructure(sampler).eval()
    context, eps = sampler.example_inputs(batch_size=2, n_samples=2)
    graphs = {"add": export_sampler(fast, (context, eps))}
    for module in fast.modules():
        if isinstance(module, FastRealNVP):
            module.forward = types.MethodType(folded_forward, module)
    graphs["folded"] = export_sampler(fast, (context, eps))
    sessions = {
        k: ort.InferenceSession(g, session_options(), providers=["CPUExecutionProvider"]) for k, g in graphs.items()
    }

    rng = np.random.default_rng(0)
    n, s = 12, 1000 // 3  # a call's galaxies at the backend's 4,096 rows per member
    feed = {
        "context": rng.normal(size=(n, context.shape[1])).astype(np.float32),
        "eps": rng.normal(size=(n, s, eps.shape[2])).astype(np.float32),
    }
    outputs = {k: sess.run(None, feed)[0] for k, sess in sessions.items()}
    times = {k: [] for k in sessions}
    for _ in range(args.rounds):
        for name, sess in sessions.items():
            start = time.perf_counter()
            for _ in range(20):
                sess.run(None, feed)
            times[name].append((time.perf_counter() - start) / 20 * 1e3)
    report = {
        "command": "python benchmarks/experimental/context_add_fold.py " + " ".join(argv or []),
        "model": args.model,
        "galaxies_per_call": n,
        "samples_per_galaxy_per_member": s,
        "ms_per_call_median": {k: float(np.median(v)) for k, v in times.items()},
        "ms_per_call": times,
        "max_abs_difference_over_std": float(
            np.max(np.abs(outputs["add"] - outputs["folded"])) / np.std(outputs["add"])
        ),
    }
    report["folded_over_add"] = report["ms_per_call_median"]["folded"] / report["ms_per_call_median"]["add"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps({k: report[k] for k in ("ms_per_call_median", "folded_over_add", "max_abs_difference_over_std")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
