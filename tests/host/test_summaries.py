"""Device-side post-processing (astro_galflow.summaries) against the host path, on CPU tensors."""

import numpy as np
import pytest
import torch

from astro_galflow.flags import PosteriorFlag
from astro_galflow.heads.ensemble import uncertainty_decomposition
from astro_galflow.models import load_model
from astro_galflow.noise import row_seeds
from astro_galflow.sources.simulated import SimulatedSource
from astro_galflow.summaries import (
    columns_to_host,
    device_row_noise,
    posterior_columns,
    summarize,
    summarize_torch,
)
from astro_galflow.table import quantile_suffix

QUANTILES = (0.0, 0.025, 0.16, 0.5, 0.84, 0.975, 1.0)


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(5)
    values = rng.standard_gamma(2.0, size=(50, 333)).astype(np.float32)
    values[3, 7] = np.nan
    values[11, 0] = np.inf
    return values


def test_summarize_is_numpys_quantile_mean_std(samples):
    got = summarize(samples, QUANTILES)
    as64 = samples.astype(np.float64)
    good = np.isfinite(as64).all(axis=1)
    np.testing.assert_allclose(got["mean"][good], as64[good].mean(axis=1), rtol=1e-13)
    np.testing.assert_allclose(got["std"][good], as64[good].std(axis=1, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(got["quantiles"][:, good], np.quantile(as64[good], QUANTILES, axis=1), rtol=1e-13)
    # a row with a non-finite sample has no summary (as add_parameter_columns writes it)
    assert np.isnan(got["mean"][[3, 11]]).all() and np.isnan(got["quantiles"][:, [3, 11]]).all()


def test_summarize_one_sample():
    got = summarize(np.array([[1.5], [2.0]], dtype=np.float32), (0.16, 0.5))
    np.testing.assert_array_equal(got["std"], [0.0, 0.0])
    np.testing.assert_array_equal(got["quantiles"], [[1.5, 2.0], [1.5, 2.0]])


def test_torch_summaries_equal_numpy(samples):
    host = summarize(samples, QUANTILES)
    device = {k: v.numpy() for k, v in summarize_torch(torch.from_numpy(samples), QUANTILES).items()}
    for key in host:
        np.testing.assert_allclose(device[key], host[key], rtol=1e-12, equal_nan=True)


def test_device_noise_depends_on_the_row_seed_only():
    seeds = row_seeds(np.arange(6), seed=7)
    noise = device_row_noise(seeds, 10, 3)
    assert noise.shape == (6, 10, 3) and noise.dtype == torch.float32
    # the same rows in another batch, alone or in another order: the same noise
    assert torch.equal(device_row_noise(seeds[2:4], 10, 3), noise[2:4])
    assert torch.equal(device_row_noise(seeds[::-1].copy(), 10, 3), noise.flip(0))
    assert not torch.equal(noise[0], noise[1])


def test_device_noise_is_standard_normal():
    from scipy import stats

    noise = device_row_noise(row_seeds(np.arange(200), seed=1), 500, 9).numpy()
    assert stats.kstest(noise.ravel(), "norm").pvalue > 1e-3
    # neighbouring rows and neighbouring samples are uncorrelated
    assert abs(np.corrcoef(noise[0].ravel(), noise[1].ravel())[0, 1]) < 0.1
    assert abs(np.corrcoef(noise[:, :-1].ravel(), noise[:, 1:].ravel())[0, 1]) < 0.01


def test_device_noise_hash_is_splitmix64():
    # the integer hash, checked against the published algorithm in Python integers
    from astro_galflow.summaries import _splitmix64

    def reference(x):
        mask = (1 << 64) - 1
        z = (x + 0x9E3779B97F4A7C15) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    values = [0, 1, 12345, 2**62 + 7, 2**63 - 1]
    got = _splitmix64(torch.tensor(values, dtype=torch.int64)).tolist()
    assert [g % (1 << 64) for g in got] == [reference(v) for v in values]


def test_support_truncation_keeps_each_member_s_draws():
    from astro_galflow.summaries import truncate_to_support_torch
    from astro_galflow.support import truncate_to_support

    rng = np.random.default_rng(3)
    samples = rng.normal(0.3, 0.5, size=(40, 90, 2)).astype(np.float32)
    samples[5, 30:60, 0] = -1.0  # member 1 of row 5 entirely outside
    lower = np.array([0.0, -np.inf])
    seeds = row_seeds(np.arange(40), seed=2)
    got, outside = truncate_to_support_torch(torch.from_numpy(samples), lower, n_groups=3, seeds=seeds)
    got = got.numpy()
    host, host_outside = truncate_to_support(samples, lower, n_groups=3, seeds=seeds)
    np.testing.assert_allclose(outside.numpy(), host_outside)
    assert (got[..., 0] >= 0).all()
    for row in range(40):
        for a, b in ((0, 30), (30, 60), (60, 90)):
            inside = samples[row, a:b][(samples[row, a:b, 0] >= 0)]
            if len(inside):
                # every draw is one of the same member's draws inside the support
                assert {tuple(x) for x in got[row, a:b]} <= {tuple(x) for x in inside}
    # a member with no draw inside is raised to the bound, as on the host
    np.testing.assert_array_equal(got[5, 30:60], host[5, 30:60])


@pytest.fixture(scope="module")
def photometry_model():
    return load_model("sim-photometry")


@pytest.fixture(scope="module")
def host_run(photometry_model):
    """The host path on 24 simulated galaxies: posterior_samples, then the table's reductions."""
    pytest.importorskip("galsim", reason="the simulated survey's SEDs ship with GalSim")
    # galaxies of the simulated survey, inside the training domain: random photometry
    # piles posterior mass on the clip at the training range's edges
    table = SimulatedSource(seed=5).simulate(24, render=False).table
    posterior = photometry_model.posterior_samples(table, n_samples=600, seed=11, batch_size=24)
    features = photometry_model.features(table)
    return table, features, posterior


def _plain_rows(model, features, model_space):
    """Rows the host and device paths treat identically given the same draws: inside the
    training domain (no tempering) and with no raw draw outside the physical support (whose
    replacements are drawn from different streams on host and device)."""
    from astro_galflow.support import lower_bounds_in_model_space

    lower = lower_bounds_in_model_space(model.parameters).astype(np.float32)
    plain = ~(model_space < lower).any(axis=2).any(axis=1)
    if model.domain is not None:
        plain &= ~(model.domain.ood_score(features) > 0)
    return plain


def _untied(model, model_space, name):
    """Rows whose float32 draws of ``name`` have no ties: tied draws of different members may
    swap their recalibrated values (both paths sort without a stable tie order), which moves
    the member means, hence the epistemic spread, and nothing else."""
    ordered = np.sort(model_space[:, :, model.parameters.index(name)], axis=1)
    return ~(np.diff(ordered, axis=1) == 0).any(axis=1)


def _in_domain(model, features):
    return np.ones(len(features), bool) if model.domain is None else ~(model.domain.ood_score(features) > 0)


def _host_columns(model, posterior):
    columns = dict(posterior.columns)
    for name in model.parameters:
        stats = summarize(posterior.samples[name], QUANTILES)
        columns[f"{name}_mean"], columns[f"{name}_std"] = stats["mean"], stats["std"]
        for q, values in zip(QUANTILES, stats["quantiles"]):
            columns[f"{name}_{quantile_suffix(q)}"] = values
    return columns


def test_device_columns_equal_host_columns_on_the_same_samples(photometry_model, host_run):
    # the same noise: calibration, clipping, transform and reductions agree to float rounding
    table, features, posterior = host_run
    seeds = row_seeds(table["source_id"], 11)
    model_space, _ = photometry_model.model_space_samples(features, n_samples=600, seeds=seeds, batch_size=24)
    columns, flags = posterior_columns(
        photometry_model, torch.from_numpy(model_space), seeds=seeds, quantiles=QUANTILES
    )
    device = columns_to_host(columns)
    host = _host_columns(photometry_model, posterior)
    expected = {k for k in host if k not in ("oh_12_detectable_probability", "ood_score")}
    assert set(device) == expected
    plain = _plain_rows(photometry_model, features, model_space)
    assert plain.sum() >= 8, "too few comparable rows for the test to mean anything"
    for name in expected:
        rows = plain
        rtol = 2e-5
        if name.endswith("_std_epistemic"):
            # the variance of three member means cancels: float32 ulps of expm1 show there
            rows = plain & _untied(photometry_model, model_space, name.removesuffix("_std_epistemic"))
            rtol = 1e-3
        np.testing.assert_allclose(device[name][rows], host[name][rows], rtol=rtol, atol=1e-6, err_msg=name)
    support = int(PosteriorFlag.OUTSIDE_PHYSICAL_SUPPORT)
    np.testing.assert_array_equal(flags.numpy() & support, posterior.flags & support)


def test_device_noise_gives_the_host_posteriors(photometry_model, host_run):
    # the device's noise from the same row seeds: statistically equal, not bit-equal
    table, features, posterior = host_run
    n, d, s = len(features), len(photometry_model.parameters), 600
    sampler = photometry_model.samplers()["joint"]
    with torch.inference_mode():
        seeds = row_seeds(table["source_id"], 11)
        model_space = sampler(torch.from_numpy(features), device_row_noise(seeds, s, d))
    columns, _ = posterior_columns(photometry_model, model_space, seeds=seeds, quantiles=QUANTILES)
    device = columns_to_host(columns)
    host = _host_columns(photometry_model, posterior)
    # rows outside the training domain are tempered on the host only (the caller routes them there)
    keep = _in_domain(photometry_model, features)
    assert keep.sum() >= 12
    device = {k: v[keep] for k, v in device.items()}
    host = {k: v[keep] for k, v in host.items()}
    n = int(keep.sum())
    for name in photometry_model.parameters:
        drawn = posterior.samples[name][keep]
        for q in (0.16, 0.5, 0.84):
            column = f"{name}_{quantile_suffix(q)}"
            # distribution-free: where the device quantile falls among the host draws;
            # two independent empirical quantiles of S draws differ in rank by about
            # sqrt(q (1 - q) 2 / S), whatever the shape of the posterior
            # (mid-ranks: draws clipped to the training range tie at its edges)
            value = device[column][:, None]
            rank = (drawn < value).mean(axis=1) + 0.5 * (drawn == value).mean(axis=1)
            z = (rank - q) / np.sqrt(q * (1 - q) * 2 / s)
            assert np.abs(z).max() < 6, column
            assert abs(np.mean(z)) < 6 / np.sqrt(n), column
        # means and spreads of heavy-tailed (expm1) posteriors scatter: compare in bulk
        z_mean = (device[f"{name}_mean"] - host[f"{name}_mean"]) / (host[f"{name}_std"] * np.sqrt(2 / s))
        assert np.median(np.abs(z_mean)) < 2, name
        assert abs(np.median(device[f"{name}_std"] / host[f"{name}_std"]) - 1) < 0.15, name


def test_ensemble_split_equals_host(photometry_model, host_run):
    table, features, posterior = host_run
    seeds = row_seeds(table["source_id"], 11)
    model_space, _ = photometry_model.model_space_samples(features, n_samples=600, seeds=seeds, batch_size=24)
    columns, _ = posterior_columns(photometry_model, torch.from_numpy(model_space), seeds=seeds, quantiles=(0.5,))
    device = columns_to_host(columns)
    plain = _plain_rows(photometry_model, features, model_space)
    for name in photometry_model.parameters:
        ale, epi = uncertainty_decomposition(posterior.samples[name].astype(np.float64), photometry_model.n_members)
        np.testing.assert_allclose(device[f"{name}_std_aleatoric"][plain], ale[plain], rtol=2e-5, atol=1e-7)
        rows = plain & _untied(photometry_model, model_space, name)
        np.testing.assert_allclose(device[f"{name}_std_epistemic"][rows], epi[rows], rtol=1e-3, atol=1e-6)


def test_uncalibrated_path(photometry_model, host_run):
    table, features, _ = host_run
    raw = photometry_model.posterior_samples(table, n_samples=200, seed=4, batch_size=24, calibrate=False)
    seeds = row_seeds(table["source_id"], 4)
    model_space, _ = photometry_model.model_space_samples(features, n_samples=200, seeds=seeds, batch_size=24)
    columns, _ = posterior_columns(
        photometry_model, torch.from_numpy(model_space), seeds=seeds, quantiles=(0.5,), calibrate=False
    )
    device = columns_to_host(columns)
    plain = _plain_rows(photometry_model, features, model_space)
    for name in photometry_model.parameters:
        median = np.median(raw.samples[name], axis=1)
        np.testing.assert_allclose(device[f"{name}_p50"][plain], median[plain], rtol=2e-5, atol=1e-6)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_columns_equal_cpu_columns(photometry_model, host_run):
    table, features, _ = host_run
    seeds = row_seeds(table["source_id"], 11)
    model_space, _ = photometry_model.model_space_samples(features, n_samples=600, seeds=seeds, batch_size=24)
    cpu_columns, cpu_flags = posterior_columns(
        photometry_model, torch.from_numpy(model_space), seeds=seeds, quantiles=QUANTILES
    )
    cpu = columns_to_host(cpu_columns)
    gpu_columns, gpu_flags = posterior_columns(
        photometry_model, torch.from_numpy(model_space).cuda(), seeds=seeds, quantiles=QUANTILES
    )
    assert all(v.device.type == "cuda" for v in gpu_columns.values())
    # the support's choices come from integer hashes: the same on both devices
    assert torch.equal(gpu_flags.cpu(), cpu_flags)
    gpu = columns_to_host(gpu_columns)
    for name in cpu:
        np.testing.assert_allclose(gpu[name], cpu[name], rtol=1e-4, atol=1e-5, err_msg=name)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_noise_equals_cpu_noise():
    # integer hashing is exact on every device; only the Box-Muller floats may round differently
    seeds = row_seeds(np.arange(50), seed=3)
    cpu = device_row_noise(seeds, 100, 9)
    gpu = device_row_noise(seeds, 100, 9, device="cuda")
    assert gpu.device.type == "cuda"
    np.testing.assert_allclose(gpu.cpu().numpy(), cpu.numpy(), rtol=1e-5, atol=1e-5)
