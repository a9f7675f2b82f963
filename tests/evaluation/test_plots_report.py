"""Evaluation figures and the report folder."""

import json

import numpy as np
import pytest

from astro_galflow.evaluation import plots
from astro_galflow.evaluation.report import write_report
from astro_galflow.exceptions import InputError


@pytest.fixture
def posterior():
    rng = np.random.default_rng(0)
    truth = {"redshift": rng.uniform(0.02, 0.3, 50), "log_mstar": rng.normal(10.5, 0.5, 50)}
    samples = {p: t[:, None] + 0.02 * rng.standard_normal((50, 100)) for p, t in truth.items()}
    return truth, samples


def test_report_writes_pngs_and_json(tmp_path, posterior):
    truth, samples = posterior
    figures = {
        "predicted_vs_true": plots.predicted_vs_true_figure(truth, samples, {"redshift": {"gbm": truth["redshift"]}}),
        "pit": plots.pit_figure(truth, samples),
        "corner": plots.corner_figure({p: s[0] for p, s in samples.items()}, {p: t[0] for p, t in truth.items()}),
        "corner_1d": plots.corner_figure({"redshift": samples["redshift"][0]}, {"redshift": 0.1}),
    }
    out = write_report(tmp_path / "rep", {"r2": np.float64(0.5), "auc": float("nan"), "n": np.int64(3)}, figures)
    data = json.loads((out / "metrics.json").read_text())
    assert data == {"r2": 0.5, "auc": None, "n": 3, "figures": [f"{k}.png" for k in figures]}
    for name in figures:
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_latent_dims_most_tied_finds_the_informative_dimension():
    rng = np.random.default_rng(1)
    latents = rng.normal(size=(300, 6))
    z = 0.1 + 0.05 * latents[:, 4] + 0.001 * rng.normal(size=300)
    sfr = -(latents[:, 1] ** 3)
    assert plots.latent_dims_most_tied(latents, {"redshift": z, "log_sfr": sfr}) == {"redshift": 4, "log_sfr": 1}


def test_latent_traversal_decodes_shifted_latents():
    seen = []

    def decoder(z):
        seen.append(z.copy())
        return np.ones((len(z), 3, 8, 8)) * z[:, :1, None, None]

    fig = plots.latent_traversal_figure(decoder, np.zeros(4), {"redshift": 2}, deltas=(-1.0, 0.0, 1.0))
    assert len(fig.axes) == 3
    np.testing.assert_allclose(seen[0][:, 2], [-1.0, 0.0, 1.0])
    np.testing.assert_allclose(seen[0][:, [0, 1, 3]], 0.0)
    with pytest.raises(InputError, match="decoder returned shape"):
        plots.latent_traversal_figure(lambda z: np.zeros((1, 8, 8)), np.zeros(4), {"z": 0})


def test_umap_figure_embeds_each_feature_set():
    rng = np.random.default_rng(2)
    calls = []

    def pca(x):
        calls.append(np.shape(x))
        x = np.asarray(x) - np.mean(x, axis=0)
        return x @ np.linalg.svd(x, full_matrices=False)[2][:2].T

    fig = plots.umap_figure(
        {"latents": rng.normal(size=(40, 5)), "latents + phot": rng.normal(size=(40, 9))},
        rng.uniform(size=40),
        embed=pca,
    )
    assert calls == [(40, 5), (40, 9)] and len(fig.axes) == 3


def test_empty_inputs_raise():
    with pytest.raises(InputError):
        plots.pit_figure({}, {})


def test_standard_figures_of_an_image_model_include_latent_traversal(posterior):
    import torch

    from astro_galflow.evaluation.evaluate import EvaluationResult
    from astro_galflow.evaluation.report import standard_figures

    truth, samples = posterior
    rng = np.random.default_rng(3)
    latents = rng.normal(size=(50, 4))
    latents[:, 2] = truth["redshift"] * 10

    class FakeVAE:
        latent_dim = 4

        def decode(self, z):
            return torch.ones(len(z), 3, 16, 16) * z[:, 2, None, None, None]

    class FakeModel:
        vae = FakeVAE()

    result = EvaluationResult(
        metrics={},
        truth=truth,
        samples=samples,
        features=np.concatenate([latents, latents, rng.normal(size=(50, 9))], 1),
    )
    figures = standard_figures(result, model=FakeModel(), umap=False)
    assert set(figures) == {"predicted_vs_true", "pit", "corner", "latent_traversal"}
