"""Tests that need TensorRT and a CUDA GPU (marker ``gpu``); skipped elsewhere.

Written to run unchanged on any machine with TensorRT (10 or 11) and an NVIDIA GPU:
``pytest -m gpu plugins/galflow-tensorrt`` (``benchmarks/gpu_session.sh`` runs it). The
end-to-end test needs a simulated catalog with cutouts: it simulates one where GalSim is
installed, else uses ``.gpu_data/img8.parquet`` (written by ``benchmarks/gpu_carry.sh``).
"""

import copy
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from galflow_tensorrt.backend import TensorRTBackend, unavailable_reason
from galflow_tensorrt.cache import EngineCache
from galflow_tensorrt.precision import MIN_COMPUTE_CAPABILITY
from galflow_tensorrt.profiles import BatchProfile

REASON = unavailable_reason("cuda")
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(REASON is not None, reason=f"needs TensorRT and a CUDA GPU: {REASON}"),
]

ROOT = Path(__file__).resolve().parents[3]
#: The carried catalog with cutouts for machines without GalSim (benchmarks/gpu_carry.sh).
CARRIED_CATALOG = ROOT / ".gpu_data" / "img8.parquet"


def _relative(a, b):
    return float((a - b).abs().max() / b.abs().max())


def _skip_unless_buildable(precision):
    import tensorrt as trt

    from galflow_tensorrt.engine import weak_typing_supported

    if precision in ("fp16", "bf16") and not weak_typing_supported(trt):
        pytest.skip(f"TensorRT {trt.__version__} builds strongly typed networks only: no {precision} builder flag")
    need = MIN_COMPUTE_CAPABILITY[precision]
    if torch.cuda.get_device_capability() < need:
        pytest.skip(f"{precision} needs compute capability {need[0]}.{need[1]}")


def test_fp32_engine_matches_eager_and_is_cached(joint_sampler, tmp_path, sampler_inputs):
    backend = TensorRTBackend({"cache_dir": str(tmp_path), "max_batch": 8}, batch_size=8, n_samples=64)
    compiled = backend.compile(joint_sampler, sampler_inputs(2, 2), "cuda")
    assert len(list(tmp_path.glob("*.engine"))) == 1
    context, eps = sampler_inputs(19, 64, seed=2)  # 19 galaxies: split 8 + 8 + 3 (padded to min 1)
    with torch.inference_mode():
        expected = joint_sampler.to("cuda")(context.cuda(), eps.cuda())
    got = compiled(context.cuda(), eps.cuda())
    assert got.device.type == "cuda"
    assert _relative(got, expected) < 1e-5
    again = backend.compile(joint_sampler, sampler_inputs(2, 2), "cuda")
    assert torch.equal(again(context.cuda(), eps.cuda()), got)


def test_corrupt_engine_rebuilt(joint_sampler, tmp_path, sampler_inputs):
    backend = TensorRTBackend({"cache_dir": str(tmp_path)}, batch_size=4, n_samples=16)
    backend.compile(joint_sampler, sampler_inputs(2, 2), "cuda")
    engine = next(tmp_path.glob("*.engine"))
    engine.write_bytes(b"garbage")
    with pytest.warns(Warning, match="discarded"):
        compiled = backend.compile(joint_sampler, sampler_inputs(2, 2), "cuda")
    context, eps = sampler_inputs(4, 16)
    assert compiled(context.cuda(), eps.cuda()).shape == (4, 16, eps.shape[-1])
    assert EngineCache(tmp_path).load(backend.engine_key(joint_sampler, compiled.profile, "cuda")) is not None


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_reduced_precision_stays_close(joint_sampler, tmp_path, precision, sampler_inputs):
    _skip_unless_buildable(precision)
    backend = TensorRTBackend({"cache_dir": str(tmp_path), "precision": precision}, batch_size=16, n_samples=256)
    compiled = backend.compile(joint_sampler, sampler_inputs(2, 2), "cuda")
    context, eps = sampler_inputs(16, 256, seed=5)
    with torch.inference_mode():
        expected = joint_sampler.to("cuda")(context.cuda(), eps.cuda())
    got = compiled(context.cuda(), eps.cuda())
    # quantiles move by a small fraction of the posterior width
    shift = (got.quantile(0.84, dim=1) - expected.quantile(0.84, dim=1)).abs() / expected.std(dim=1)
    assert float(shift.max()) < 0.1


# -- the image encoder ---------------------------------------------------------------------

#: Largest |TensorRT - torch (CPU, fp32)| of the features [mu, sigma], relative to their
#: largest magnitude: fp32 differs by summation order only; TF32 keeps 10 mantissa bits in
#: the convolutions and matmuls, FP16 10 and BF16 7 in every layer (exp and asinh pinned).
ENCODER_TOLERANCE = {"fp32": 1e-4, "tf32": 5e-3, "fp16": 1e-2, "bf16": 5e-2}


@pytest.fixture(scope="module")
def shipped_encoder():
    """The shipped sim-default image encoder, as the run compiles it."""
    from astro_galflow.models import load_model

    return load_model("sim-default").image_encoder()


def _cutouts(encoder, n, seed):
    gen = torch.Generator().manual_seed(seed)
    images = encoder.softening * torch.randn((n, 3, 160, 160), generator=gen)
    # a bright, resolved source in the middle: the asinh scaling's logarithmic regime
    y, x = torch.meshgrid(torch.arange(160.0), torch.arange(160.0), indexing="ij")
    blob = torch.exp(-((x - 80) ** 2 + (y - 80) ** 2) / (2 * 6.0**2))
    return images + 5.0 * torch.rand((n, 3, 1, 1), generator=gen) * blob


@pytest.mark.parametrize("precision", list(ENCODER_TOLERANCE))
def test_encoder_engine_matches_torch(shipped_encoder, tmp_path, precision):
    _skip_unless_buildable(precision)
    options = {"cache_dir": str(tmp_path), "precision": precision, "encoder_max_batch": 8}
    backend = TensorRTBackend(options, batch_size=64)
    compiled = backend.compile_encoder(shipped_encoder, shipped_encoder.example_inputs(4), "cuda")
    assert compiled.profile == BatchProfile(1, 8, 8)
    (entry,) = tmp_path.glob("*.json")
    key = json.loads(entry.read_text())["key"]
    assert key["role"] == "encoder" and key["input_shape"] == [3, 160, 160] and key["precision"] == precision
    cutouts = _cutouts(shipped_encoder, 19, seed=3)  # 19 cutouts: chunks of 8 + 8 + 3
    with torch.inference_mode():
        expected = copy.deepcopy(shipped_encoder).to("cpu")(cutouts)
    got = compiled(cutouts)  # a CPU batch, as the host passes it
    assert got.device.type == "cuda" and got.shape == expected.shape == (19, 64)
    assert _relative(got.cpu(), expected) < ENCODER_TOLERANCE[precision]
    again = backend.compile_encoder(shipped_encoder, shipped_encoder.example_inputs(4), "cuda")
    assert len(list(tmp_path.glob("*.engine"))) == 1  # loaded from the cache, not rebuilt
    assert torch.equal(again(cutouts.cuda()), got)


@pytest.fixture(scope="module")
def image_catalog(tmp_path_factory):
    """A small simulated catalog with cutouts: simulated here with GalSim, else the carried one."""
    if importlib.util.find_spec("galsim") is not None:
        path = tmp_path_factory.mktemp("sim") / "img8.parquet"
        _galflow("simulate", path, "-n", "8", "--seed", "5", "--no-progress")
        return path
    if CARRIED_CATALOG.is_file():
        return CARRIED_CATALOG
    pytest.skip(
        "no simulated catalog with cutouts: GalSim is not installed and .gpu_data/img8.parquet "
        "was not carried (bash benchmarks/gpu_carry.sh writes it)"
    )


def _galflow(*args, env=None):
    result = subprocess.run(
        [sys.executable, "-m", "astro_galflow", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"galflow {' '.join(map(str, args))} failed:\n{result.stderr[-4000:]}"
    return result


def test_galflow_infer_tensorrt_end_to_end(image_catalog, tmp_path):
    from astro_galflow.table import read_posterior_table

    cache = tmp_path / "engines"
    env = {**os.environ, "GALFLOW_TENSORRT_CACHE": str(cache)}
    common = ["--model", "sim-default", "-n", "1000", "--seed", "3", "--batch-size", "16", "--no-progress"]
    outputs = {}
    for backend, device in (("tensorrt", "cuda"), ("eager", "cpu")):
        outputs[backend] = tmp_path / f"{backend}.parquet"
        run = _galflow(
            "infer", image_catalog, outputs[backend], "--backend", backend, "--device", device, *common, env=env
        )
        assert "falling back" not in run.stderr
    trt, cpu = read_posterior_table(outputs["tensorrt"]), read_posterior_table(outputs["eager"])

    # provenance: TensorRT ran both the samplers and the image encoder
    for name in ("backend", "encoder_backend"):
        info = trt.meta[name]
        assert (info["name"], info["requested"], info["precision"]) == ("tensorrt", "tensorrt", "fp32"), name
        assert "tensorrt" in info["versions"]
    assert cpu.meta["encoder_backend"]["name"] == "eager"
    roles = {json.loads(p.read_text())["key"]["role"] for p in cache.glob("*.json")}
    assert roles == {"sampler", "encoder"}

    # The posteriors agree statistically with the torch/CPU path. The two devices' noise
    # streams need not be equal, so medians and 16-84 % widths are compared in units of
    # the width (quantiles: the line fluxes' tails make the standard deviation noisy).
    # Two CPU runs with different seeds (independent noise) gave at most 0.11 for the
    # median shift (median 0.04) and width ratios 0.90-1.10 on this catalog.
    assert len(trt) == len(cpu) == 8
    stems = [c[: -len("_mean")] for c in cpu.colnames if c.endswith("_mean")]
    assert stems
    shifts, ratios = [], []
    for stem in stems:
        a_med, b_med = (np.asarray(t[f"{stem}_p50"].value) for t in (trt, cpu))
        a_width, b_width = (np.asarray(t[f"{stem}_p84"].value) - np.asarray(t[f"{stem}_p16"].value) for t in (trt, cpu))
        assert np.array_equal(np.isfinite(a_med), np.isfinite(b_med)), stem
        ok = np.isfinite(b_med) & (b_width > 0)
        shifts.append(2 * np.abs(a_med[ok] - b_med[ok]) / b_width[ok])
        ratios.append(a_width[ok] / b_width[ok])
    shifts, ratios = np.concatenate(shifts), np.concatenate(ratios)
    assert np.median(shifts) < 0.1 and shifts.max() < 0.4, (np.median(shifts), shifts.max())
    assert np.all((ratios > 0.75) & (ratios < 1.33)), (ratios.min(), ratios.max())
