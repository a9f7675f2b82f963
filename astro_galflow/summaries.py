"""Posterior summaries computed where the samples are: numpy on the host, torch on any device.

The host pipeline draws ``S`` samples per galaxy, copies them to host memory and reduces
them to a few columns per parameter (mean, standard deviation, quantiles, the ensemble's
aleatoric/epistemic split). On a GPU the copy, not the flow, is the cost: 1,000 x 9
float32 samples are 36 kB per galaxy against a few dozen bytes of summaries. This module
keeps the samples on the device:

* :func:`device_row_noise` draws the flow's standard-normal noise on the device, from
  the same per-row seeds as the host path (:mod:`astro_galflow.noise`);
* :func:`posterior_columns` truncates to the physical support, recalibrates, clips and
  transforms model-space samples and
  reduces them to the summary columns, with torch operations on whatever device the
  samples are on (CPU tensors in the tests);
* :func:`columns_to_host` brings only those columns back, in one copy through pinned
  memory.

:func:`summarize` is the numpy reference of the reductions (the host path's: the run's
finisher thread summarises every batch with it; :func:`astro_galflow.table.add_parameter_columns`
computes the same) and :func:`summarize_torch` its device twin; the tests check that they agree to float rounding and that the device
path gives the host path's posteriors.

Seed rule on the device: row ``i``'s noise is a function of its
:func:`~astro_galflow.noise.row_seeds` seed alone, as on the host, so it does not depend
on batch, chunk or worker count. It is not torch's CPU generator (one generator per row
would be a Python loop over the rows): sample ``j`` of row ``i`` hashes ``(seed_i, j)``
with the SplitMix64 finaliser (Steele, Lea & Flood 2014) and turns the two 24-bit halves
of the hash into two normals by the Box--Muller transform, with integer operations that
give the same bits on every device. Host and device noise are therefore different draws:
CPU and GPU posteriors are statistically equal, not bit-equal.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "summarize",
    "summarize_torch",
    "calibration_positions",
    "device_row_noise",
    "truncate_to_support_torch",
    "posterior_columns",
    "columns_to_host",
]


def summarize(samples: np.ndarray, quantiles) -> dict[str, np.ndarray]:
    """Mean, standard deviation (``ddof=1``) and quantiles of each row of ``samples``.

    Parameters
    ----------
    samples : numpy.ndarray, shape (n, S)
        Any float dtype; rows with a non-finite sample give NaN summaries.
    quantiles : sequence of float
        In [0, 1]; numpy's default (linear) interpolation between order statistics.

    Returns
    -------
    dict
        ``"mean"`` and ``"std"`` of shape ``(n,)``, ``"quantiles"`` of shape
        ``(len(quantiles), n)``, all float64.
    """
    samples = np.asarray(samples)
    n, s = samples.shape
    quantiles = np.asarray(quantiles, dtype=np.float64)
    mean = np.full(n, np.nan)
    std = np.full(n, np.nan)
    qs = np.full((len(quantiles), n), np.nan)
    has = np.isfinite(samples).all(axis=1)
    if has.any() and s:
        rows = samples[has]
        mean[has] = rows.mean(axis=1, dtype=np.float64)
        std[has] = rows.std(axis=1, ddof=1, dtype=np.float64) if s > 1 else 0.0
        # one partition at every order statistic the quantiles need, in the input dtype
        position = quantiles * (s - 1)
        lo = np.floor(position).astype(np.int64)
        hi = np.minimum(lo + 1, s - 1)
        part = np.partition(rows, np.unique(np.r_[lo, hi]), axis=1)
        qs[:, has] = _lerp(part[:, lo].astype(np.float64), part[:, hi].astype(np.float64), position - lo).T
    return {"mean": mean, "std": std, "quantiles": qs}


def _lerp(a, b, t):
    # numpy's own quantile interpolation (numpy/lib/_function_base_impl.py): the same
    # values as np.quantile on the same order statistics, to float rounding of the index
    diff = b - a
    return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def summarize_torch(samples, quantiles, *, sorted_samples=None) -> dict:
    """:func:`summarize` with torch on the samples' device (float64 reductions).

    Parameters
    ----------
    samples : torch.Tensor, shape (n, S)
    quantiles : sequence of float
    sorted_samples : torch.Tensor, optional
        ``samples`` sorted along axis 1, when the caller has them already.

    Returns
    -------
    dict of torch.Tensor
        ``"mean"``, ``"std"`` ``(n,)`` and ``"quantiles"`` ``(len(quantiles), n)``,
        float64, on the samples' device; NaN for rows with a non-finite sample.
    """
    import torch

    n, s = samples.shape
    values = samples.to(torch.float64)
    finite = torch.isfinite(values).all(dim=1)
    mean = values.mean(dim=1)
    std = values.std(dim=1, correction=1) if s > 1 else torch.zeros_like(mean)
    ordered = torch.sort(values, dim=1).values if sorted_samples is None else sorted_samples.to(torch.float64)
    position = torch.as_tensor(np.asarray(quantiles, dtype=np.float64) * (s - 1), device=values.device)
    lo = torch.floor(position).to(torch.int64)
    hi = torch.clamp(lo + 1, max=s - 1)
    t = position - lo
    a, b = ordered[:, lo], ordered[:, hi]
    diff = b - a
    qs = torch.where(t >= 0.5, b - diff * (1 - t), a + diff * t).T
    nan = torch.tensor(float("nan"), dtype=torch.float64, device=values.device)
    return {
        "mean": torch.where(finite, mean, nan),
        "std": torch.where(finite, std, nan),
        "quantiles": torch.where(finite[None, :], qs, nan),
    }


def calibration_positions(levels, model_levels, n_samples: int):
    """``(lo, hi, weight)`` of :meth:`~astro_galflow.calibration.QuantileRecalibration.apply`.

    The calibrated value of the sample of rank ``r`` is ``sorted[lo[r]] * (1 - weight[r])
    + sorted[hi[r]] * weight[r]``; the same float64 arithmetic as the host path, so both
    pick the same order statistics.
    """
    rank_levels = (np.arange(n_samples) + 0.5) / n_samples
    position = np.clip(np.interp(rank_levels, levels, model_levels) * n_samples - 0.5, 0, n_samples - 1)
    lo = np.floor(position).astype(np.int64)
    hi = np.minimum(lo + 1, n_samples - 1)
    return lo, hi, (position - lo).astype(np.float32)


_GOLDEN = -7046029254386353131  # 0x9E3779B97F4A7C15 as int64
_MIX1 = -4658895280553007687  # 0xBF58476D1CE4E5B9
_MIX2 = -7723592293110705685  # 0x94D049BB133111EB


def _shift(x, bits: int):
    # logical right shift of int64 (torch's >> is arithmetic on negative values)
    return (x >> bits) & ((1 << (64 - bits)) - 1)


def _splitmix64(x):
    # int64 arithmetic wraps modulo 2**64 in torch, as the C original's uint64 does
    x = x + _GOLDEN
    x = (x ^ _shift(x, 30)) * _MIX1
    x = (x ^ _shift(x, 27)) * _MIX2
    return x ^ _shift(x, 31)


def device_row_noise(seeds, n_samples: int, dim: int, *, device="cpu"):
    """Standard-normal noise ``(n, n_samples, dim)`` float32 drawn on ``device``, one stream per row.

    Parameters
    ----------
    seeds : numpy.ndarray or torch.Tensor
        int64 row seeds (:func:`astro_galflow.noise.row_seeds`).
    n_samples, dim : int
        Samples per row and parameters per sample.
    device : str or torch.device

    Notes
    -----
    The module docstring states the rule. Each hash gives two normals, so a row uses
    ``ceil(n_samples * dim / 2)`` hashes; the 24-bit uniforms bound ``|eps|`` by 5.9,
    beyond which a normal falls with probability 4e-9.
    """
    import math

    import torch

    seeds = torch.as_tensor(np.asarray(seeds, dtype=np.int64), device=device)
    per_row = n_samples * dim
    pairs = (per_row + 1) // 2
    counter = torch.arange(pairs, dtype=torch.int64, device=device)
    # the row's seed is hashed first so that neighbouring seeds give unrelated streams
    bits = _splitmix64(_splitmix64(seeds)[:, None] + counter[None, :])
    scale = 1.0 / (1 << 24)
    u1 = (_shift(bits, 40).to(torch.float32) + 0.5) * scale
    u2 = ((_shift(bits, 16) & 0xFFFFFF).to(torch.float32) + 0.5) * scale
    radius = torch.sqrt(-2.0 * torch.log(u1))
    angle = (2.0 * math.pi) * u2
    normals = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=-1).reshape(len(seeds), -1)
    return normals[:, :per_row].reshape(len(seeds), n_samples, dim).contiguous()


def _row_uniforms(seeds, n_samples: int, device):
    """Uniforms ``(n, n_samples)`` float64 in [0, 1) from the rows' seeds, a stream apart from the noise's."""
    import torch

    seeds = torch.as_tensor(np.asarray(seeds, dtype=np.int64), device=device)
    counter = torch.arange(n_samples, dtype=torch.int64, device=device)
    # ``^ 1``: the support's stream, as the host path takes ``default_rng([seed, 1])``
    bits = _splitmix64(_splitmix64(_splitmix64(seeds) ^ 1)[:, None] + counter[None, :])
    return _shift(bits, 11).to(torch.float64) * (1.0 / (1 << 53))


def truncate_to_support_torch(samples, lower, *, n_groups: int = 1, seeds):
    """:func:`astro_galflow.support.truncate_to_support` with torch on the samples' device.

    Every joint draw with a parameter below its bound is replaced by a draw of the same
    row and ensemble member chosen uniformly among those inside (from the row's seed; a
    different stream from the host's, so statistically equal); a member with no draw
    inside keeps its draws with the bounded parameters raised to their bound.

    Returns
    -------
    truncated : torch.Tensor, shape (n, S, D)
    outside : torch.Tensor, shape (n,)
        Share of each row's draws that had a parameter below its bound.
    """
    import torch

    from astro_galflow.heads.ensemble import member_blocks

    n, s, d = samples.shape
    lower = torch.as_tensor(np.asarray(lower), dtype=samples.dtype, device=samples.device)
    bad = (samples < lower).any(dim=2)  # NaN draws are not "outside", as on the host
    outside = bad.to(torch.float64).mean(dim=1)
    if not bool(bad.any()):
        return samples, outside
    out = samples.clone()
    uniforms = _row_uniforms(seeds, s, samples.device)
    for a, b in member_blocks(s, max(int(n_groups), 1)):
        if b <= a:
            continue
        block_bad = bad[:, a:b]
        good = (~block_bad).sum(dim=1)
        # positions of the good draws first, in order; pick one uniformly per hole
        order = torch.argsort(block_bad.to(torch.int8), dim=1, stable=True)
        pick = torch.clamp((uniforms[:, a:b] * good[:, None]).to(torch.int64), max=b - a - 1)
        source = torch.gather(order, 1, pick) + a
        replacement = torch.gather(samples, 1, source[:, :, None].expand(-1, -1, d))
        raised = torch.maximum(samples[:, a:b], lower)
        replacement = torch.where((good > 0)[:, None, None], replacement, raised)
        out[:, a:b] = torch.where(block_bad[:, :, None], replacement, samples[:, a:b])
    return out, outside


def posterior_columns(model, samples, *, seeds, quantiles, calibrate: bool = True):
    """Summary columns of model-space samples, computed on the samples' device.

    Does what :func:`astro_galflow.posterior.postprocess` and
    :func:`~astro_galflow.table.add_parameter_columns` do to the samples of rows inside
    the training domain -- the truncation to the physical support
    (:func:`truncate_to_support_torch`), the card's recalibration, the clip to the
    training range widened by :data:`~astro_galflow.posterior.TAIL_CLIP_SIGMA`, the
    transform to physical units, mean, standard deviation, quantiles and the ensemble's
    uncertainty split -- without the samples leaving the device.

    Not here: the domain check's tempering (:mod:`astro_galflow.domain`). Rows whose
    ``model.domain.ood_score(features) > 0`` (computed on the host from the features, with
    the ``ood_score`` column) must go through the host path.

    Parameters
    ----------
    model : astro_galflow.models.GalflowModel
        Supplies the parameters, calibration, clip range and ensemble size.
    samples : torch.Tensor, shape (n, S, D)
        Model-space samples (a compiled sampler's output), on any device.
    seeds : numpy.ndarray, shape (n,)
        The rows' seeds (:func:`astro_galflow.noise.row_seeds`), for the support's choices.
    quantiles : sequence of float
    calibrate : bool
        Apply the card's calibration when it has one.

    Returns
    -------
    columns : dict of str to torch.Tensor
        ``{p}_mean``, ``{p}_std``, ``{p}_{pNN}`` (:func:`~astro_galflow.table.quantile_suffix`)
        and, for ensembles, ``{p}_std_aleatoric`` and ``{p}_std_epistemic``: float64
        ``(n,)`` tensors on the samples' device, in the parameters' physical units.
    flags : torch.Tensor, shape (n,)
        int64 ``OUTSIDE_PHYSICAL_SUPPORT`` bits to OR into ``posterior_flags``.
    """
    import torch

    from astro_galflow.flags import PosteriorFlag
    from astro_galflow.heads.ensemble import member_blocks
    from astro_galflow.params import get_parameter
    from astro_galflow.posterior import TAIL_CLIP_SIGMA
    from astro_galflow.support import NOTICEABLE_OUTSIDE, lower_bounds_in_model_space
    from astro_galflow.table import quantile_suffix

    n, s, _ = samples.shape
    device = samples.device
    samples, outside = truncate_to_support_torch(
        samples.to(torch.float32),
        lower_bounds_in_model_space(model.parameters),
        n_groups=model.n_members,
        seeds=seeds,
    )
    flags = torch.where(outside > NOTICEABLE_OUTSIDE, int(PosteriorFlag.OUTSIDE_PHYSICAL_SUPPORT), 0)
    targets = model.card["targets"]
    lo_clip = np.asarray(targets["min"]) - TAIL_CLIP_SIGMA * np.asarray(targets["std"])
    hi_clip = np.asarray(targets["max"]) + TAIL_CLIP_SIGMA * np.asarray(targets["std"])
    maps = model.calibration.maps if calibrate and model.calibration is not None and s > 1 else {}
    blocks = [(a, b) for a, b in member_blocks(s, model.n_members) if b > a] if model.n_members > 1 else []
    columns = {}
    for k, name in enumerate(model.parameters):
        values = samples[:, :, k].to(torch.float32)
        ordered, order = torch.sort(values, dim=1)
        if name in maps:
            lo, hi, weight = (torch.as_tensor(a, device=device) for a in calibration_positions(*maps[name], s))
            # monotone in rank: the recalibrated sorted samples stay sorted
            ordered = ordered[:, lo] * (1 - weight) + ordered[:, hi] * weight
        lo_k = torch.tensor(lo_clip[k], dtype=torch.float32, device=device)
        hi_k = torch.tensor(hi_clip[k], dtype=torch.float32, device=device)
        ordered = torch.clamp(ordered, lo_k, hi_k)
        spec = get_parameter(name)
        if spec.transform == "log1p":
            ordered = torch.expm1(ordered)
        elif spec.transform != "identity":
            raise ValueError(f"parameter {name!r}: unknown model-space transform {spec.transform!r}")
        stats = summarize_torch(ordered, quantiles, sorted_samples=ordered)
        columns[f"{name}_mean"] = stats["mean"]
        columns[f"{name}_std"] = stats["std"]
        for q, values_q in zip(quantiles, stats["quantiles"]):
            columns[f"{name}_{quantile_suffix(q)}"] = values_q
        if blocks:
            # back to draw order: block k of the sample axis is member k's
            drawn = torch.empty_like(ordered).scatter_(1, order, ordered).to(torch.float64)
            within = torch.stack([drawn[:, a:b].var(dim=1, correction=0) for a, b in blocks], dim=1)
            means = torch.stack([drawn[:, a:b].mean(dim=1) for a, b in blocks], dim=1)
            columns[f"{name}_std_aleatoric"] = within.mean(dim=1).sqrt()
            columns[f"{name}_std_epistemic"] = means.var(dim=1, correction=0).sqrt()
    return columns, flags


def columns_to_host(columns: dict) -> dict[str, np.ndarray]:
    """Copy device columns to host numpy arrays in one transfer (pinned memory on CUDA)."""
    import torch

    if not columns:
        return {}
    names = list(columns)
    stacked = torch.stack([columns[name].to(torch.float64) for name in names])
    if stacked.device.type == "cuda":
        host = torch.empty(stacked.shape, dtype=stacked.dtype, pin_memory=True)
        host.copy_(stacked, non_blocking=True)
        torch.cuda.current_stream(stacked.device).synchronize()
    else:
        host = stacked
    array = host.numpy()
    return {name: array[i].copy() for i, name in enumerate(names)}
