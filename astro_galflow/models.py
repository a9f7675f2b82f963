"""Loaded models: find a model, build it from its card, and draw joint posterior samples.

A model is a directory with a card and safetensors weights (:mod:`astro_galflow.model_card`);
its networks are built from the registered names the card gives
(:mod:`astro_galflow.model_bundle`); its samples become physical posterior draws in
:mod:`astro_galflow.posterior`. :class:`GalflowModel` ties the three together along the
data path: inputs -> features (image encoder + photometry) -> samplers -> post-processing.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import astropy.units as u
import numpy as np

from astro_galflow.calibration import QuantileRecalibration
from astro_galflow.domain import DomainCheck
from astro_galflow.exceptions import InputError, ModelError
from astro_galflow.flags import PosteriorFlag
from astro_galflow.model_bundle import build_bundle
from astro_galflow.model_card import MODELS_DIR, available_models, read_card, resolve_model_dir
from astro_galflow.noise import row_noise, row_seeds
from astro_galflow.posterior import ModelSpaceDraw, PosteriorSamples, extra_column_names, postprocess

__all__ = ["MODELS_DIR", "DOMAIN_MARGIN", "available_models", "load_model", "GalflowModel"]

#: Fraction of the training range a feature may exceed before a row is flagged
#: ``OUTSIDE_TRAINING_DOMAIN``.
DOMAIN_MARGIN = 0.05


def _to_numpy(values) -> np.ndarray:
    """float32 array of ``values``: a tensor on any device (CUDA backends return GPU tensors) or an array."""
    if hasattr(values, "detach"):
        values = values.detach().to("cpu")
    return np.asarray(values, dtype=np.float32)


@contextmanager
def _one_torch_thread():
    """Run a small CPU torch call on one intra-op thread, then restore the setting.

    The classifier is a few small matmuls a batch; split over torch's OpenMP threads
    while the samplers' threads and the run's finisher thread share the same cores, each
    call waited at OpenMP barriers for descheduled threads (10 ms a matmul instead of 1
    under load, a third of the run's main-thread time in a profile).
    """
    import torch

    before = torch.get_num_threads()
    if before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _device_of(module):
    """The device of ``module``'s first parameter (CPU for a module without parameters)."""
    import torch

    return next((p.device for p in module.parameters()), torch.device("cpu"))


def load_model(name_or_path, *, registries=None) -> GalflowModel:
    """Load a shipped model by name, or a model directory by path.

    Parameters
    ----------
    name_or_path : str or path-like
        A name of :func:`available_models` or a model directory.
    registries : astro_galflow.registry.Registries, optional
        Where the card's encoder and head names are looked up (default: those of
        :func:`~astro_galflow.plugins.get_plugin_manager`).

    Raises
    ------
    ModelError
        When the model is not found, its card is invalid, a part it names is not
        registered, or a weights file is missing or does not match its recorded sha256.
    """
    directory = resolve_model_dir(name_or_path)
    card = read_card(directory)
    if registries is None:
        from astro_galflow.plugins import get_plugin_manager
        from astro_galflow.registry import build_registries

        registries = build_registries(get_plugin_manager())
    return GalflowModel(directory, card, registries)


class GalflowModel:
    """A loaded model: feature extraction, samplers and posterior sampling.

    Use :func:`load_model` rather than the constructor.

    Attributes
    ----------
    name : str
    card : dict
        The model card (architecture, data, standardisation, metrics, hashes, training).
    parameters : tuple of str
        Parameters it infers, in sample order.
    photometry_bands : tuple of str
    image_bands : tuple of str or None
    pixel_scale : `~astropy.units.Quantity` or None
    requires_cutouts : bool
    preferred_backends : tuple of str
        What ``--backend auto`` tries, in order (the card's ``architecture.backends``).
    calibration : astro_galflow.calibration.QuantileRecalibration or None
        The card's post-hoc recalibration of the marginals, applied by
        :meth:`posterior_samples` unless ``calibrate=False``.
    """

    def __init__(self, directory, card: dict, registries):
        self.directory = Path(directory)
        self.card = card
        arch = card["architecture"]
        self.name = card.get("name", self.directory.name)
        self.parameters = tuple(arch["parameters"])
        self.photometry_bands = tuple(arch["photometry_bands"])
        image = arch.get("image")
        self.image_bands = tuple(image["bands"]) if image else None
        self.pixel_scale = image["pixel_scale_arcsec"] * u.arcsec if image else None
        self.requires_cutouts = image is not None
        self.n_members = int(arch.get("ensemble", 1))
        self.preferred_backends = tuple(arch.get("backends") or ())
        feats = card["features"]
        self._feature_min = np.asarray(feats["min"], dtype=np.float64)
        self._feature_max = np.asarray(feats["max"], dtype=np.float64)
        self.domain = DomainCheck.from_card(card["domain"]) if card.get("domain") is not None else None
        self.calibration = self._calibration()
        bundle = build_bundle(self.directory, card, registries)
        self._members, self._image_encoder = bundle.members, bundle.image_encoder

    def _calibration(self):
        entry = self.card.get("calibration")
        if entry is None:
            return None
        try:
            calibration = QuantileRecalibration.from_card(entry)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"model {self.name!r}: invalid calibration in its card: {exc}") from exc
        unknown = set(calibration.maps) - set(self.parameters)
        if unknown:
            raise ModelError(f"model {self.name!r}: calibration names parameters it does not infer: {sorted(unknown)}")
        return calibration

    def samplers(self) -> dict:
        """Named pure ``(features, eps) -> samples`` modules; ``"joint"`` is the full model.

        ``features`` is ``(N, F)`` raw features (:meth:`features`), ``eps`` is
        ``(N, S, D)`` standard-normal noise with ``D = len(parameters)``; samples are
        ``(N, S, D)`` in model space (``log1p`` for line fluxes).
        """
        from astro_galflow.heads.ensemble import EnsembleSampler

        joint = self._members[0] if self.n_members == 1 else EnsembleSampler(self._members).eval()
        return {"joint": joint}

    @property
    def vae(self):
        """The frozen image encoder (for the VAE: encoder and decoder), or None."""
        return self._image_encoder

    def image_encoder(self):
        """The pure ``cutouts -> features`` module of the image encoder, or None.

        ``compiled["image"]`` in :meth:`posterior_samples` replaces it.
        """
        if self._image_encoder is None:
            return None
        return self._image_encoder.feature_module()

    @property
    def feature_names(self) -> list[str]:
        """Names of the raw features, in column order."""
        return list(self.card["features"]["names"])

    def features(self, table, cutouts=None, *, batch_size: int = 256, compiled=None) -> np.ndarray:
        """Raw features ``(n, F)`` float32: [image features] + colours + magnitudes (+ errors).

        ``compiled["image"]``, if given, replaces :meth:`image_encoder`.

        Raises
        ------
        InputError
            When an image model gets no cutouts, or cutouts of the wrong shape or length.
        """
        import torch

        from astro_galflow.encoders.photometry import table_photometry

        phot = table_photometry(table, self.photometry_bands, self.card["architecture"]["with_errors"])
        if self._image_encoder is None:
            return phot
        if cutouts is None:
            raise InputError(f"model {self.name!r} needs cutouts ({'/'.join(self.image_bands)}) but none were given")
        shape = (len(table), len(self.image_bands), 160, 160)
        if tuple(np.shape(cutouts)) != shape:
            raise InputError(f"cutouts have shape {tuple(np.shape(cutouts))}; model {self.name!r} expects {shape}")
        encoder = (compiled or {}).get("image") or self.image_encoder()
        parts = []
        with torch.inference_mode():
            for start in range(0, len(table), batch_size):
                # a view where the caller already holds float32 rows in memory (the run does);
                # a copy of read-only (memory-mapped) ones, which torch will not wrap
                batch = np.ascontiguousarray(cutouts[start : start + batch_size], dtype=np.float32)
                batch = torch.from_numpy(batch if batch.flags.writeable else batch.copy())
                parts.append(_to_numpy(encoder(batch)))
        return np.concatenate([np.concatenate(parts), phot], axis=1)

    @property
    def feature_range(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-feature ``(min, max)`` over the training rows, in :attr:`feature_names` order."""
        return self._feature_min.copy(), self._feature_max.copy()

    def outside_domain_features(self, features: np.ndarray) -> np.ndarray:
        """``(n, n_features)``: True where a feature lies beyond the training range (widened by 5 % of it)."""
        margin = DOMAIN_MARGIN * (self._feature_max - self._feature_min)
        with np.errstate(invalid="ignore"):
            return (features < self._feature_min - margin) | (features > self._feature_max + margin)

    def outside_domain(self, features: np.ndarray) -> np.ndarray:
        """True for rows outside the training domain (``OUTSIDE_TRAINING_DOMAIN``).

        The card's density check (:mod:`astro_galflow.domain`) where it has one; cards
        written before it fall back to the per-feature range.
        """
        if self.domain is not None:
            with np.errstate(invalid="ignore"):
                return self.domain.ood_score(features) > 0
        return self.outside_domain_features(features).any(axis=1)

    def posterior_samples(
        self,
        table,
        cutouts=None,
        *,
        n_samples: int,
        seed: int,
        compiled=None,
        batch_size: int = 256,
        calibrate: bool = True,
    ) -> PosteriorSamples:
        """Joint posterior samples of every row of ``table``.

        Parameters
        ----------
        table : astropy.table.Table
            Usable rows only (no ``BAD_PHOTOMETRY``/``BAD_CUTOUT``), input convention.
        cutouts : numpy.ndarray, optional
            ``(n, bands, 160, 160)`` nanomaggie cutouts aligned with ``table``; required by
            image models.
        n_samples : int
            Samples per galaxy.
        seed : int
            The run seed: row ``i`` draws its noise from ``(seed, source_id_i)``
            (:mod:`astro_galflow.noise`), so a row's samples do not depend on the other rows.
        compiled : dict, optional
            Sampler name -> callable replacing ``samplers()[name]`` (a backend's
            compiled sampler); ``"image"`` may replace :meth:`image_encoder`.
        batch_size : int
            Galaxies per sampler call.
        calibrate : bool
            Apply the card's :attr:`calibration` (when it has one) to the samples.

        Returns
        -------
        PosteriorSamples
        """
        draw = self.draw(table, cutouts, n_samples=n_samples, seed=seed, compiled=compiled, batch_size=batch_size)
        return self.finish(draw, calibrate=calibrate)

    def draw(
        self, table, cutouts=None, *, n_samples: int, seed: int, compiled=None, batch_size: int = 256
    ) -> ModelSpaceDraw:
        """The sampling stage of :meth:`posterior_samples`: features and model-space samples.

        Parameters are those of :meth:`posterior_samples`; :meth:`finish` turns the result
        into physical samples.
        """
        features = self.features(table, cutouts, batch_size=batch_size, compiled=compiled)
        seeds = row_seeds(table["source_id"], seed)
        out, detect = self.model_space_samples(
            features, n_samples=n_samples, seeds=seeds, compiled=compiled, batch_size=batch_size
        )
        flags = np.zeros(len(features), dtype=np.int64)
        if self.domain is None:  # cards without a density check: the per-feature range
            flags[self.outside_domain(features)] |= int(PosteriorFlag.OUTSIDE_TRAINING_DOMAIN)
        return ModelSpaceDraw(features=features, seeds=seeds, samples=out, detectable=detect, flags=flags)

    def finish(self, draw: ModelSpaceDraw, *, calibrate: bool = True) -> PosteriorSamples:
        """The post-processing stage of :meth:`posterior_samples` (:func:`~astro_galflow.posterior.postprocess`).

        Pure numpy on the host: safe to run on another thread than :meth:`draw`.
        """
        return postprocess(
            draw.samples,
            parameters=self.parameters,
            targets=self.card["targets"],
            seeds=draw.seeds,
            calibration=self.calibration if calibrate else None,
            domain=self.domain,
            features=draw.features,
            n_members=self.n_members,
            detectable=draw.detectable,
            flags=draw.flags,
        )

    def model_space_samples(
        self, features: np.ndarray, *, n_samples: int, seeds: np.ndarray, compiled=None, batch_size: int = 256
    ):
        """Samples ``(n, n_samples, D)`` in model space and P(detectable) ``(n,)`` (or None).

        Row ``i``'s noise comes from ``seeds[i]`` (:func:`astro_galflow.noise.row_noise`).
        """
        import torch

        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        n, d = len(features), len(self.parameters)
        sampler = (compiled or {}).get("joint") or self.samplers()["joint"]
        out = np.empty((n, n_samples, d), dtype=np.float32)
        detect = np.empty(n, dtype=np.float32) if self._has_detectability else None
        with torch.inference_mode():
            for start in range(0, n, batch_size):
                stop = min(start + batch_size, n)
                x = torch.from_numpy(np.ascontiguousarray(features[start:stop], dtype=np.float32))
                eps = row_noise(seeds[start:stop], n_samples, d)
                out[start:stop] = _to_numpy(sampler(x, eps))
                if detect is not None:
                    detect[start:stop] = self.detectable_probability(features[start:stop])
        return out, detect

    def detectable_probability(self, features: np.ndarray) -> np.ndarray | None:
        """P(measurable metallicity) ``(n,)`` float32 averaged over the members, or None without a classifier."""
        import torch

        if not self._has_detectability:
            return None
        x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
        with torch.inference_mode(), _one_torch_thread():
            # a backend may have moved the (shared) member modules to its device
            probs = [m.network.detectable_probability(m.standardise(x.to(_device_of(m)))).cpu() for m in self._members]
        return torch.stack(probs).mean(0).numpy().astype(np.float32)

    @property
    def extra_columns(self) -> list[str]:
        """Per-row columns beside the parameter summaries (detectability, uncertainty split)."""
        return extra_column_names(
            self.parameters,
            n_members=self.n_members,
            has_detectability=self._has_detectability,
            has_domain=self.domain is not None,
        )

    @property
    def _has_detectability(self) -> bool:
        return self._members[0].network.has_detectability

    def __repr__(self) -> str:
        kind = "image+photometry" if self.requires_cutouts else "photometry"
        return f"<GalflowModel {self.name!r} ({kind}; {', '.join(self.parameters)}; {self.n_members} member(s))>"
