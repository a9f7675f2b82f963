"""How reduced precision moves posterior summaries: quantile shifts in units of posterior sigma.

One command::

    python benchmarks/precision_study.py --out benchmarks/results/precision.json

draws ``S`` samples per galaxy for ``N`` galaxies with the same features and noise in
fp32 (the reference) and in

* ``bf16``: torch CPU autocast to bfloat16 (matmuls and linear layers in bf16, as a
  BF16 TensorRT engine or a bf16 GPU path would run them);
* ``fp16``: the whole sampler cast to float16 (weights, activations and noise), outputs
  cast back;
* ``fp32-onnxruntime``: the ONNX Runtime backend (the rounding floor of fp32 kernels);

and reports, per parameter and per quantile (p16, p50, p84), the median and maximum over
galaxies of ``|q_reduced - q_fp32| / sigma_fp32``, plus the relative change of sigma.
A shift of 0.01 sigma is one hundredth of the posterior width: far below the
calibration tolerance of the evaluation (PIT/coverage), but it is measured, not assumed.

The sampler has the default architecture with random weights unless ``--model`` names a
trained model directory (:func:`astro_galflow.models.load_model`); features are then drawn
around the model's training feature means with its feature standard deviations.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_backends import build_models  # noqa: E402

QUANTILES = (0.16, 0.5, 0.84)


def _summaries(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.quantile(samples, QUANTILES, axis=1), samples.std(axis=1)


def compare(reference: np.ndarray, other: np.ndarray, names) -> dict:
    """Quantile shifts of ``other`` against ``reference`` ``(N, S, D)`` in units of sigma."""
    q_ref, sigma = _summaries(reference.astype(np.float64))
    q_other, sigma_other = _summaries(other.astype(np.float64))
    shift = np.abs(q_other - q_ref) / sigma[None]
    out = {}
    for k, name in enumerate(names):
        out[name] = {
            f"p{int(q * 100):02d}": {"median": float(np.median(shift[i, :, k])), "max": float(shift[i, :, k].max())}
            for i, q in enumerate(QUANTILES)
        }
        out[name]["sigma_rel_change_max"] = float(np.max(np.abs(sigma_other[:, k] / sigma[:, k] - 1)))
    out["all"] = {"median": float(np.median(shift)), "max": float(shift.max())}
    out["max_abs_sample_difference"] = float(np.abs(other - reference).max())
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/precision.json"))
    parser.add_argument("--galaxies", type=int, default=256)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", help="trained model name or directory (default: random weights)")
    args = parser.parse_args(argv)

    import torch

    from astro_galflow.backends.onnxruntime import OnnxRuntimeBackend
    from astro_galflow.params import PARAMETERS

    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    if args.model:
        from astro_galflow.heads.network import JointSampler
        from astro_galflow.models import load_model

        model = load_model(args.model)
        sampler, names = model.samplers()["joint"], list(model.parameters)
        first = next(m for m in sampler.modules() if isinstance(m, JointSampler))
        z = torch.randn(args.galaxies, len(first.feature_mean), generator=gen)
        features = first.feature_mean + first.feature_std * z
    else:
        sampler, _, n_features, _ = build_models()
        names = list(PARAMETERS)
        features = torch.randn(args.galaxies, n_features, generator=gen)
    eps = torch.randn(args.galaxies, args.samples, len(names), generator=gen)
    with torch.inference_mode():
        reference = sampler(features, eps).numpy()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16 = sampler(features, eps).float().numpy()
        half = copy.deepcopy(sampler).to(torch.float16)
        fp16 = half(features.half(), eps.half()).float().numpy()
    ort = OnnxRuntimeBackend({"threads": args.threads}).compile(sampler, (features[:2], eps[:2, :2]))
    ort_samples = np.asarray(ort(features, eps))
    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "model": args.model or "random weights (default architecture)",
        "galaxies": args.galaxies,
        "samples": args.samples,
        "bf16": compare(reference, bf16, names),
        "fp16": compare(reference, fp16, names),
        "fp32-onnxruntime": compare(reference, ort_samples, names),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    for mode in ("bf16", "fp16", "fp32-onnxruntime"):
        r = report[mode]
        print(
            f"{mode:17s} quantile shift / sigma: median {r['all']['median']:.2e}, max {r['all']['max']:.2e}; "
            f"max |sample difference| {r['max_abs_sample_difference']:.2e}"
        )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
