"""Model directories on disk: the JSON card and the safetensors weights it lists.

A model directory holds ``card.json`` and the weights it lists with their sha256:
``member_<k>.safetensors`` for each ensemble member and, for image models,
``vae.safetensors``. Shipped models live in ``astro_galflow/data/models/<name>/`` and are
found by name. Only safetensors are read (nothing executes on load), and only after
their hash matches the card. Training writes models with the same functions.

The card (format ``astro_galflow-model/2``) names the parts a model is built from by
their *registered* names, under ``architecture``:

``encoder``
    the image encoder (``"vae"``), or null for a photometry-only model;
``heads``
    ``{slot: head name}`` for each head slot of the network (``core``, ``metallicity``,
    ``lines``; or ``gaussian``), see :func:`astro_galflow.heads.network.head_slots`;
``backends``
    the backends ``--backend auto`` tries, in order, on the run's device.

Cards of format ``astro_galflow-model/1`` (written before the registries named the parts)
are read with the built-in names filled in (:func:`upgrade_card`).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from astro_galflow.exceptions import ModelError

__all__ = [
    "CARD_FORMAT",
    "MODELS_DIR",
    "DEFAULT_BACKENDS",
    "available_models",
    "resolve_model_dir",
    "read_card",
    "write_card",
    "write_calibration",
    "upgrade_card",
    "sha256_of",
    "save_weights",
    "load_weights",
]

CARD_FORMAT = "astro_galflow-model/2"
_OLD_FORMATS = ("astro_galflow-model/1",)
MODELS_DIR = Path(__file__).parent / "data" / "models"
#: What ``--backend auto`` tries, in order, for a card that names no backends.
DEFAULT_BACKENDS = ("onnxruntime", "cuda-graphs", "eager")


def available_models() -> list[str]:
    """Names of the models shipped in the package."""
    if not MODELS_DIR.is_dir():
        return []
    return sorted(p.name for p in MODELS_DIR.iterdir() if (p / "card.json").is_file())


def resolve_model_dir(name_or_path) -> Path:
    """The directory of a shipped model name or a model path.

    Raises
    ------
    ModelError
        Naming the shipped models, when neither exists.
    """
    path = Path(os.fspath(name_or_path)).expanduser()
    if path.is_dir():
        return path
    shipped = MODELS_DIR / str(name_or_path)
    if shipped.is_dir():
        return shipped
    known = ", ".join(available_models()) or "none"
    raise ModelError(f"no model directory {os.fspath(path)!r} and no shipped model of that name; shipped: {known}")


def upgrade_card(card: dict) -> dict:
    """A format-1 card as format 2: the built-in encoder, head and backend names filled in."""
    from astro_galflow.heads.network import head_slots

    card = json.loads(json.dumps(card))
    arch = card.get("architecture")
    if isinstance(arch, dict):
        arch.setdefault("encoder", "vae" if arch.get("image") else None)
        if "heads" not in arch and "parameters" in arch:
            arch["heads"] = {slot: slot for slot in head_slots(arch["parameters"], arch.get("head", "flow"))}
        arch.setdefault("backends", list(DEFAULT_BACKENDS))
    card["format"] = CARD_FORMAT
    return card


def read_card(directory) -> dict:
    """The card of a model directory, validated, in the current format.

    Raises
    ------
    ModelError
        When the card is not a readable regular file of sane size, not JSON, or fails
        the schema (:mod:`astro_galflow.card_schema`; one line per problem, naming the
        card file and the field).
    """
    from astro_galflow.card_schema import validate_card
    from astro_galflow.safe_files import MAX_CARD_BYTES, read_text

    card_path = Path(directory) / "card.json"
    text = read_text(card_path, what="model card", max_bytes=MAX_CARD_BYTES, error=ModelError)
    try:
        card = json.loads(text)
    except ValueError as exc:
        raise ModelError(f"model card {os.fspath(card_path)!r} is not valid JSON: {exc}") from exc
    # every field the host reads is checked before anything is built
    validate_card(card, card_path)
    if card.get("format") in _OLD_FORMATS:
        return upgrade_card(card)
    return card


def write_card(directory, card: dict) -> Path:
    """Write ``card`` as ``directory/card.json`` (sorted keys, indented), atomically."""
    path = Path(directory) / "card.json"
    tmp = path.with_name(".card.json.tmp")
    tmp.write_text(json.dumps(card, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def sha256_of(path) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_weights(module, path) -> str:
    """Write ``module.state_dict()`` as safetensors; return the file's sha256."""
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous().clone() for k, v in module.state_dict().items()}
    save_file(state, os.fspath(path))
    return sha256_of(path)


def load_weights(module, path, sha256: str | None = None):
    """Load safetensors weights into ``module``, checking the file's sha256 first.

    Raises
    ------
    ModelError
        When the file is missing, not a regular file, larger than
        :data:`~astro_galflow.safe_files.MAX_WEIGHTS_BYTES`, its hash differs from
        ``sha256`` or it does not fit the module.
    """
    from safetensors.torch import load_file

    from astro_galflow.safe_files import MAX_WEIGHTS_BYTES, regular_file

    # a device or FIFO (a symlink to /dev/zero) would hash forever
    path = regular_file(path, what="weights file", max_bytes=MAX_WEIGHTS_BYTES, error=ModelError)
    if sha256 is not None:
        actual = sha256_of(path)
        if actual != sha256:
            raise ModelError(
                f"weights file {os.fspath(path)!r} has sha256 {actual}, but the model card records {sha256}; "
                "refusing to load a modified or corrupted model"
            )
    try:
        module.load_state_dict(load_file(os.fspath(path)))
    except Exception as exc:  # safetensors and torch raise several types on bad files
        raise ModelError(f"weights file {os.fspath(path)!r} does not fit the model: {exc}") from exc
    return module


def write_calibration(directory, calibration) -> Path:
    """Store ``calibration`` (:class:`~astro_galflow.calibration.QuantileRecalibration`) as the ``"calibration"`` entry of ``directory/card.json``.

    None removes any calibration the card has. The weights, and so their sha256 in the
    card, are untouched.

    Returns
    -------
    pathlib.Path
        The card written.
    """
    card = read_card(directory)
    if calibration is None:
        card.pop("calibration", None)
    else:
        card["calibration"] = calibration.to_card()
    return write_card(directory, card)
