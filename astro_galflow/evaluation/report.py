"""Write an evaluation report folder: ``metrics.json`` plus one PNG per figure."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

__all__ = ["write_report", "standard_figures", "to_jsonable"]


def to_jsonable(value):
    """``value`` with numpy scalars/arrays as Python numbers/lists and non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def standard_figures(result, *, model=None, umap: bool = True, galaxy: int = 0) -> dict:
    """The figures of ``galflow evaluate`` for an :class:`~astro_galflow.evaluation.evaluate.EvaluationResult`.

    ``predicted_vs_true``, ``corner`` (row ``galaxy`` of the evaluated rows), ``pit``; for
    image models (``model`` with a VAE) also ``latent_traversal`` and, if ``umap``,
    ``umap_latents`` (latents alone vs latents + photometry); for photometry-only models
    with ``umap``, ``umap_features``.
    """
    from astro_galflow.evaluation import plots

    figures = {
        "predicted_vs_true": plots.predicted_vs_true_figure(result.truth, result.samples, result.baseline_predictions),
        "pit": plots.pit_figure(result.truth, result.samples),
    }
    if result.truth:
        k = min(galaxy, len(next(iter(result.truth.values()))) - 1)
        figures["corner"] = plots.corner_figure(
            {p: s[k] for p, s in result.samples.items()}, {p: t[k] for p, t in result.truth.items()}
        )
    first = next(iter(result.truth), None)
    vae = getattr(model, "vae", None)
    if vae is not None and result.features is not None:
        import torch

        latent_dim = vae.latent_dim
        mu = result.features[:, :latent_dim]
        targets = {p: result.truth[p] for p in ("redshift", "log_sfr") if p in result.truth}
        if targets:
            dims = plots.latent_dims_most_tied(mu, targets)

            def decode(z):
                with torch.inference_mode():
                    return vae.decode(torch.from_numpy(np.asarray(z, dtype=np.float32))).numpy()

            figures["latent_traversal"] = plots.latent_traversal_figure(decode, mu[galaxy], dims)
        if umap and first is not None:
            figures["umap_latents"] = plots.umap_figure(
                {"image latents": mu, "image latents + photometry": result.features},
                result.truth[first],
                color_label=first,
            )
    elif umap and first is not None and result.features is not None:
        figures["umap_features"] = plots.umap_figure(
            {"photometry": result.features}, result.truth[first], color_label=first
        )
    return figures


def write_report(out, metrics: dict, figures: dict | None = None, *, dpi: int = 120) -> Path:
    """Write ``out/metrics.json`` and ``out/<name>.png`` for each figure; return ``out``.

    ``metrics["figures"]`` is set to the list of PNG file names written.
    """
    out = Path(os.fspath(out))
    out.mkdir(parents=True, exist_ok=True)
    names = []
    for name, fig in (figures or {}).items():
        fig.savefig(out / f"{name}.png", dpi=dpi)
        names.append(f"{name}.png")
    metrics = {**metrics, "figures": names}
    (out / "metrics.json").write_text(json.dumps(to_jsonable(metrics), indent=1, sort_keys=True) + "\n")
    return out
