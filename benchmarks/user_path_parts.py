"""Pieces of the user path that issue 14 changed, each timed against what it replaced.

Run from the repository root on a quiet machine::

    python benchmarks/user_path_parts.py --out benchmarks/results/user_path_parts.json

* ``asinh``: the encoder's pixel scaling of 32 cutouts (3 x 160 x 160), as ONNX Runtime's
  ``Asinh`` kernel runs it (one thread) and as numpy's ``arcsinh`` does, ms per image;
* ``encoder``: the shipped ``sim-default`` encoder through ONNX Runtime on 512 cutouts
  (2 feeding threads, as a run has them), with the scaling inside the exported graph and
  with it on the host (:meth:`~astro_galflow.encoders.vae.ImageFeatures.split_preprocessing`),
  ms per image;
* ``quantiles``: mean, standard deviation and three quantiles of one parameter over
  4,096 rows of 1,000 samples, from a float64 copy of the float32 samples (before) and
  from the float32 samples themselves (:func:`astro_galflow.table.add_parameter_columns`
  now), s per call.

Each figure is the median of ``--repeats`` timed calls after one warm-up call.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def _median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _asinh(repeats: int) -> dict:
    import onnxruntime as ort
    from onnx import TensorProto, helper

    from astro_galflow.backends.onnxruntime import session_options

    images = np.random.default_rng(0).normal(0, 0.5, (32, 3, 160, 160)).astype(np.float32)
    shape = [None, 3, 160, 160]
    graph = helper.make_graph(
        [helper.make_node("Asinh", ["x"], ["y"])],
        "asinh",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    session = ort.InferenceSession(model.SerializeToString(), session_options(), providers=["CPUExecutionProvider"])
    per_image = 1e3 / len(images)
    return {
        "onnxruntime_ms_per_image": per_image * _median_time(lambda: session.run(None, {"x": images}), repeats),
        "numpy_ms_per_image": per_image * _median_time(lambda: np.arcsinh(images), repeats),
    }


def _encoder(repeats: int) -> dict:
    import torch

    from astro_galflow.backends.export import export_encoder
    from astro_galflow.backends.onnxruntime import OnnxRuntimeEncoder
    from astro_galflow.models import load_model

    features = load_model("sim-default").image_encoder()
    cutouts = torch.from_numpy(np.random.default_rng(1).normal(0, 0.5, (512, 3, 160, 160)).astype(np.float32))
    example = cutouts[:2]
    in_graph = OnnxRuntimeEncoder(export_encoder(features, example), threads=2)
    preprocess, module = features.split_preprocessing()
    on_host = OnnxRuntimeEncoder(
        export_encoder(module, torch.from_numpy(preprocess(example.numpy()))), threads=2, preprocess=preprocess
    )
    per_image = 1e3 / len(cutouts)
    return {
        "asinh_in_graph_ms_per_image": per_image * _median_time(lambda: in_graph(cutouts), repeats),
        "asinh_on_host_ms_per_image": per_image * _median_time(lambda: on_host(cutouts), repeats),
    }


def _quantiles(repeats: int) -> dict:
    samples = np.random.default_rng(2).normal(10, 1, (4096, 1000)).astype(np.float32)
    levels = (0.16, 0.5, 0.84)

    def from_float64():
        values = samples.astype(np.float64)
        return values.mean(axis=1), values.std(axis=1, ddof=1), np.quantile(values, levels, axis=1)

    def from_float32():
        return (
            samples.mean(axis=1, dtype=np.float64),
            samples.std(axis=1, ddof=1, dtype=np.float64),
            np.quantile(samples, levels, axis=1),
        )

    return {
        "float64_copy_s": _median_time(from_float64, repeats),
        "float32_s": _median_time(from_float32, repeats),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/user_path_parts.json"))
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    report = {
        "command": "python benchmarks/user_path_parts.py " + " ".join(argv or []),
        "repeats": args.repeats,
        "asinh": _asinh(args.repeats),
        "encoder": _encoder(args.repeats),
        "quantiles": _quantiles(args.repeats),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
