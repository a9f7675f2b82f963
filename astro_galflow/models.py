"""Model bundles: a directory of safetensors weights plus a JSON card; save, find, load.

A model directory holds ``card.json`` and the weights it lists with their sha256:
``member_<k>.safetensors`` for each ensemble member (a
:class:`~astro_galflow.heads.network.JointSampler` state, standardisation included) and,
for image models, ``vae.safetensors`` (the frozen encoder). Shipped models live in
``astro_galflow/data/models/<name>/`` and are loaded by name. Only safetensors are read,
and only after their hash matches the card.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
import numpy as np

from astro_galflow.exceptions import InputError, ModelError
from astro_galflow.flags import PosteriorFlag

__all__ = [
    "CARD_FORMAT",
    "MODELS_DIR",
    "available_models",
    "load_model",
    "write_card",
    "GalflowModel",
    "PosteriorSamples",
]

CARD_FORMAT = "astro_galflow-model/1"
MODELS_DIR = Path(__file__).parent / "data" / "models"
#: Fraction of the training range a feature may exceed before a row is flagged
#: ``OUTSIDE_TRAINING_DOMAIN``.
DOMAIN_MARGIN = 0.05
#: Model-space samples are clipped to the training labels' range widened by this many
#: standard deviations of the labels.
TAIL_CLIP_SIGMA = 5.0


def _to_numpy(values) -> np.ndarray:
    """float32 array of ``values``: a tensor on any device (CUDA backends return GPU tensors) or an array."""
    if hasattr(values, "detach"):
        values = values.detach().to("cpu")
    return np.asarray(values, dtype=np.float32)


def _device_of(module):
    """The device of ``module``'s first parameter (CPU for a module without parameters)."""
    import torch

    return next((p.device for p in module.parameters()), torch.device("cpu"))


def available_models() -> list[str]:
    """Names of the models shipped with the package."""
    if not MODELS_DIR.is_dir():
        return []
    return sorted(p.name for p in MODELS_DIR.iterdir() if (p / "card.json").is_file())


def write_card(directory, card: dict) -> Path:
    """Write ``card`` as ``directory/card.json`` (sorted keys, indented)."""
    path = Path(directory) / "card.json"
    path.write_text(json.dumps(card, indent=1, sort_keys=True) + "\n")
    return path


def _domain_check(card: dict):
    """The card's :class:`~astro_galflow.domain.DomainCheck`, or None for cards without one."""
    if card.get("domain") is None:
        return None
    from astro_galflow.domain import DomainCheck

    return DomainCheck.from_card(card["domain"])


def _resolve(name_or_path) -> Path:
    path = Path(os.fspath(name_or_path)).expanduser()
    if path.is_dir():
        return path
    shipped = MODELS_DIR / str(name_or_path)
    if shipped.is_dir():
        return shipped
    known = ", ".join(available_models()) or "none"
    raise ModelError(f"no model directory {os.fspath(path)!r} and no shipped model of that name; shipped: {known}")


def load_model(name_or_path) -> GalflowModel:
    """Load a shipped model by name, or a model directory by path.

    Raises
    ------
    ModelError
        When the model is not found, its card is invalid, or a weights file is missing or
        does not match its recorded sha256.
    """
    from astro_galflow.card_schema import validate_card
    from astro_galflow.safe_files import MAX_CARD_BYTES, read_text

    directory = _resolve(name_or_path)
    card_path = directory / "card.json"
    text = read_text(card_path, what="model card", max_bytes=MAX_CARD_BYTES, error=ModelError)
    try:
        card = json.loads(text)
    except ValueError as exc:
        raise ModelError(f"model card {os.fspath(card_path)!r} is not valid JSON: {exc}") from exc
    # issue 15: every field the host reads is checked before anything is built
    validate_card(card, card_path)
    return GalflowModel(directory, card)


@dataclass
class PosteriorSamples:
    """Joint posterior draws of a batch of galaxies.

    Attributes
    ----------
    samples : dict of str to numpy.ndarray
        Parameter -> ``(n, n_samples)`` float32 in physical units; sample ``j`` of every
        parameter is the same joint draw.
    columns : dict of str to numpy.ndarray
        Extra per-row columns (``oh_12_detectable_probability``, ``<p>_std_aleatoric``,
        ``<p>_std_epistemic``).
    flags : numpy.ndarray
        int64 bits of :class:`~astro_galflow.flags.PosteriorFlag` to OR into each row.
    """

    samples: dict[str, np.ndarray]
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    flags: np.ndarray | None = None


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
    calibration : astro_galflow.calibration.QuantileRecalibration or None
        The card's post-hoc recalibration of the marginals, applied by
        :meth:`posterior_samples` unless ``calibrate=False``.
    """

    def __init__(self, directory, card: dict):
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
        feats = card["features"]
        self._feature_min = np.asarray(feats["min"], dtype=np.float64)
        self._feature_max = np.asarray(feats["max"], dtype=np.float64)
        self.domain = _domain_check(card)
        self.calibration = self._calibration()
        self._members, self._vae = self._build()

    def _calibration(self):
        from astro_galflow.calibration import QuantileRecalibration

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

    def _weights(self, filename: str) -> tuple[Path, str]:
        hashes = self.card.get("sha256", {})
        if not hashes.get(filename):  # load_weights skips the check for a None hash
            raise ModelError(f"model {self.name!r}: card lists no sha256 for {filename!r}")
        return self.directory / filename, hashes[filename]

    def _build(self):
        from astro_galflow.heads.network import JointNetwork, JointSampler
        from astro_galflow.training.checkpoints import load_weights

        arch, feats, targets = self.card["architecture"], self.card["features"], self.card["targets"]
        members = []
        for k in range(self.n_members):
            network = JointNetwork(
                len(feats["names"]),
                self.parameters,
                arch["head"],
                context_dim=arch["context_dim"],
                n_couplings=arch["n_couplings"],
                flow_hidden=arch["flow_hidden"],
                scalar_layers=arch["scalar_layers"],
            )
            sampler = JointSampler(network, feats["mean"], feats["std"], targets["mean"], targets["std"])
            load_weights(sampler, *self._weights(f"member_{k}.safetensors"))
            members.append(sampler.eval().requires_grad_(False))
        vae = None
        if self.requires_cutouts:
            from astro_galflow.encoders.vae import ImageVAE

            image = arch["image"]
            vae = ImageVAE(len(image["bands"]), image["latent_dim"], tuple(image["channels"]))
            load_weights(vae, *self._weights("vae.safetensors"))
            vae = vae.eval().requires_grad_(False)
        return members, vae

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
        """The frozen :class:`~astro_galflow.encoders.vae.ImageVAE` (encoder and decoder), or None."""
        return self._vae

    def image_encoder(self):
        """The pure ``cutouts -> [mu, sigma]`` module (:class:`~astro_galflow.encoders.vae.ImageFeatures`), or None.

        ``compiled["image"]`` in :meth:`posterior_samples` replaces it.
        """
        if self._vae is None:
            return None
        from astro_galflow.encoders.vae import ImageFeatures

        return ImageFeatures(self._vae).eval()

    @property
    def feature_names(self) -> list[str]:
        """Names of the raw features, in column order."""
        return list(self.card["features"]["names"])

    def features(self, table, cutouts=None, *, batch_size: int = 256, compiled=None) -> np.ndarray:
        """Raw features ``(n, F)`` float32: [VAE mu, sigma] + colours + magnitudes (+ errors).

        ``compiled["image"]``, if given, replaces :meth:`image_encoder`.

        Raises
        ------
        InputError
            When an image model gets no cutouts, or cutouts of the wrong shape or length.
        """
        import torch

        from astro_galflow.encoders.photometry import table_photometry

        phot = table_photometry(table, self.photometry_bands, self.card["architecture"]["with_errors"])
        if self._vae is None:
            return phot
        if cutouts is None:
            raise InputError(f"model {self.name!r} needs cutouts ({'/'.join(self.image_bands)}) but none were given")
        shape = (len(table), len(self.image_bands), 160, 160)
        if tuple(np.shape(cutouts)) != shape:
            raise InputError(f"cutouts have shape {tuple(np.shape(cutouts))}; model {self.name!r} expects {shape}")
        encoder = (compiled or {}).get("image") or self.image_encoder()
        latents = np.empty((len(table), 2 * self._vae.latent_dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(table), batch_size):
                batch = torch.from_numpy(np.array(cutouts[start : start + batch_size], dtype=np.float32))
                latents[start : start + batch_size] = _to_numpy(encoder(batch))
        return np.concatenate([latents, phot], axis=1)

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
            Seed of the ``torch.Generator`` drawing ``eps``; the same seed, inputs and
            ``batch_size`` give the same samples.
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
        from astro_galflow.heads.ensemble import uncertainty_decomposition
        from astro_galflow.params import get_parameter

        features = self.features(table, cutouts, batch_size=batch_size, compiled=compiled)
        out, detect = self.model_space_samples(
            features, n_samples=n_samples, seed=seed, compiled=compiled, batch_size=batch_size
        )
        # issue 15 (astro_galflow.support): truncate the raw flow draws to z >= 0, fluxes >= 0
        # and renormalise; before the calibration, whose monotone map then keeps every
        # draw's rank and cannot leave the support (it never extrapolates past a galaxy's draws)
        from astro_galflow.support import apply_physical_support

        out, off_support = apply_physical_support(out, self.parameters, n_groups=self.n_members, seed=seed)
        if calibrate and self.calibration is not None:
            out = self.calibration.apply(out, self.parameters)
        # issue 15 (astro_galflow.domain): density check; flagged rows tempered toward the training labels
        ood_score, outside = None, self.outside_domain(features)
        if self.domain is not None:
            from astro_galflow.domain import check_and_temper

            out, ood_score, outside = check_and_temper(self.domain, features, out, self.card["targets"], seed=seed)
        # Far tails of an imperfect flow can leave the physical range (a log1p flux of
        # 800 overflows); clip to the training labels' range widened by 5 sigma.
        targets = self.card["targets"]
        lo = np.asarray(targets["min"]) - TAIL_CLIP_SIGMA * np.asarray(targets["std"])
        hi = np.asarray(targets["max"]) + TAIL_CLIP_SIGMA * np.asarray(targets["std"])
        np.clip(out, lo.astype(np.float32), hi.astype(np.float32), out=out)
        samples = {
            p: get_parameter(p).from_model_space(out[:, :, k]).astype(np.float32) for k, p in enumerate(self.parameters)
        }
        columns = {}
        if detect is not None:
            columns["oh_12_detectable_probability"] = detect
        if self.n_members > 1:
            for p, s in samples.items():
                ale, epi = uncertainty_decomposition(s.astype(np.float64), self.n_members)
                columns[f"{p}_std_aleatoric"] = ale.astype(np.float32)
                columns[f"{p}_std_epistemic"] = epi.astype(np.float32)
        if ood_score is not None:
            columns["ood_score"] = ood_score
        flags = np.where(outside, int(PosteriorFlag.OUTSIDE_TRAINING_DOMAIN), 0).astype(np.int64)
        flags[off_support] |= int(PosteriorFlag.OUTSIDE_PHYSICAL_SUPPORT)
        return PosteriorSamples(samples=samples, columns=columns, flags=flags)

    def extra_columns(self) -> list[str]:
        """Names of the per-row columns :meth:`posterior_samples` returns besides the samples.

        Fixed by the model, so a table of rows without a posterior (a zero-row Dask meta
        partition, an all-flagged chunk) can carry the same columns, NaN-filled.
        """
        names = ["oh_12_detectable_probability"] if self._has_detectability else []
        if self.n_members > 1:
            names += [f"{p}_std_{kind}" for p in self.parameters for kind in ("aleatoric", "epistemic")]
        if self.domain is not None:
            names.append("ood_score")
        return names

    def model_space_samples(
        self, features: np.ndarray, *, n_samples: int, seed: int, compiled=None, batch_size: int = 256
    ):
        """Samples ``(n, n_samples, D)`` in model space and P(detectable) ``(n,)`` (or None).

        ``eps`` comes from a ``torch.Generator`` seeded with ``seed``, one ``(batch, S, D)``
        draw per batch of ``batch_size`` rows.
        """
        import torch

        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        n, d = len(features), len(self.parameters)
        sampler = (compiled or {}).get("joint") or self.samplers()["joint"]
        generator = torch.Generator().manual_seed(int(seed))
        out = np.empty((n, n_samples, d), dtype=np.float32)
        detect = np.empty(n, dtype=np.float32) if self._has_detectability else None
        with torch.inference_mode():
            for start in range(0, n, batch_size):
                stop = min(start + batch_size, n)
                x = torch.from_numpy(np.ascontiguousarray(features[start:stop], dtype=np.float32))
                eps = torch.randn((stop - start, n_samples, d), generator=generator)
                out[start:stop] = _to_numpy(sampler(x, eps))
                if detect is not None:
                    # a backend may have moved the (shared) member modules to its device
                    probs = [
                        m.network.detectable_probability(m.standardise(x.to(_device_of(m)))).cpu()
                        for m in self._members
                    ]
                    detect[start:stop] = torch.stack(probs).mean(0).numpy()
        return out, detect

    @property
    def _has_detectability(self) -> bool:
        return self._members[0].network.metallicity is not None

    def __repr__(self) -> str:
        kind = "image+photometry" if self.requires_cutouts else "photometry"
        return f"<GalflowModel {self.name!r} ({kind}; {', '.join(self.parameters)}; {self.n_members} member(s))>"
