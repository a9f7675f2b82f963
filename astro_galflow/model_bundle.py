"""The networks of a model, built from the registered names its card gives.

A card names its image encoder (``architecture.encoder``) and the head of each slot of
the network (``architecture.heads``); this module looks each name up in the run's
:class:`~astro_galflow.registry.Registries`, builds the modules with the card's sizes and
loads their safetensors weights after checking their sha256. A plugin that registers a
new head or encoder can therefore ship a model that uses it, with no change to the host.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from astro_galflow.exceptions import ModelError
from astro_galflow.model_card import load_weights
from astro_galflow.registry import RegistryError

__all__ = ["NetworkBundle", "build_bundle"]


@dataclass
class NetworkBundle:
    """The loaded, frozen networks of one model.

    Attributes
    ----------
    members : list of astro_galflow.heads.network.JointSampler
        One ``(features, eps) -> samples`` sampler per ensemble member.
    image_encoder : astro_galflow.encoders.base.Encoder or None
        The frozen image encoder (the VAE, decoder included), or None for photometry-only
        models.
    """

    members: list
    image_encoder: object = None


def _weights(directory: Path, card: dict, filename: str, name: str):
    hashes = card.get("sha256") or {}
    if not hashes.get(filename):
        raise ModelError(f"model {name!r}: card lists no sha256 for {filename!r}")
    return directory / filename, hashes[filename]


def _lookup(registry, kind: str, registered: str, name: str):
    try:
        return registry.get(registered)
    except RegistryError as exc:
        raise ModelError(
            f"model {name!r} names {kind} {registered!r}, which no installed plugin registers ({exc})"
        ) from exc


def build_bundle(directory, card: dict, registries) -> NetworkBundle:
    """Build and load the networks of the model in ``directory`` described by ``card``.

    Parameters
    ----------
    directory : path-like
        The model directory (weights files).
    card : dict
        Its card, in the current format (:func:`astro_galflow.model_card.read_card`).
    registries : astro_galflow.registry.Registries
        Where the card's encoder and head names are looked up.

    Raises
    ------
    ModelError
        For a name no plugin registers, a missing or modified weights file, or weights
        that do not fit the architecture.
    """
    from astro_galflow.heads.network import JointNetwork, JointSampler, head_slots

    directory = Path(directory)
    name = card.get("name", directory.name)
    arch, feats, targets = card["architecture"], card["features"], card["targets"]
    slots = head_slots(arch["parameters"], arch.get("head", "flow"))
    named = arch.get("heads") or {}
    if set(named) != set(slots):
        raise ModelError(
            f"model {name!r}: architecture.heads names slots {sorted(named)}, but its parameters need {sorted(slots)}"
        )
    classes = {slot: _lookup(registries.heads, "head", named[slot], name) for slot in slots}
    members = []
    for k in range(int(arch.get("ensemble", 1))):
        network = JointNetwork(
            len(feats["names"]),
            arch["parameters"],
            arch.get("head", "flow"),
            heads=classes,
            context_dim=arch["context_dim"],
            n_couplings=arch["n_couplings"],
            flow_hidden=arch["flow_hidden"],
            scalar_layers=arch["scalar_layers"],
        )
        sampler = JointSampler(network, feats["mean"], feats["std"], targets["mean"], targets["std"])
        load_weights(sampler, *_weights(directory, card, f"member_{k}.safetensors", name))
        members.append(sampler.eval().requires_grad_(False))
    image_encoder = None
    if arch.get("image"):
        if not arch.get("encoder"):
            raise ModelError(f"model {name!r} has an image entry but names no image encoder (architecture.encoder)")
        encoder_cls = _lookup(registries.encoders, "encoder", arch["encoder"], name)
        image_encoder = encoder_cls.for_model(arch["image"])
        load_weights(image_encoder, *_weights(directory, card, "vae.safetensors", name))
        image_encoder = image_encoder.eval().requires_grad_(False)
    return NetworkBundle(members=members, image_encoder=image_encoder)
