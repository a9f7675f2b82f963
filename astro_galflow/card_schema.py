"""The model card's schema, checked before anything is built from a card.

A model card (``card.json``) decides which networks are built, which weight files are
read and how samples are post-processed, so a card edited by hand or damaged on disk must
be refused with a message a user can act on, never with a ``KeyError`` from deep inside
the network constructors. :func:`validate_card` checks every field the host reads and
reports each problem on its own line, naming the card file and the field by its dotted
path (``architecture.ensemble``, ``features.min``, ``sha256.member_0.safetensors``).

Two card formats are accepted: ``astro_galflow-model/1`` and ``astro_galflow-model/2``,
whose ``architecture`` also names registered plugins (``encoder``: a name or null,
``heads``: ``{slot: head name}``, ``backends``: a list of names; see
:mod:`astro_galflow.model_card`).

Every weight file the card implies (``member_<k>.safetensors`` for each ensemble member,
``vae.safetensors`` for an image model) must have a sha256 of 64 hex digits: a missing or
null hash is an error, never a reason to skip verification.
"""

from __future__ import annotations

import math
import os
import re

from astro_galflow.exceptions import ModelError

__all__ = ["CARD_FORMATS", "card_problems", "validate_card", "weight_files"]

#: Card formats this host reads.
CARD_FORMATS = ("astro_galflow-model/1", "astro_galflow-model/2")

_SHA256 = re.compile(r"[0-9a-f]{64}")
_CALIBRATION_KEYS = {"method", "fitted_on", "parameters"}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_str_list(value, *, nonempty: bool = True) -> bool:
    return isinstance(value, list) and (bool(value) or not nonempty) and all(isinstance(v, str) and v for v in value)


class _Problems:
    """Collects ``field: problem`` lines."""

    def __init__(self):
        self.lines: list[str] = []

    def add(self, field: str, problem: str) -> None:
        self.lines.append(f"{field}: {problem}")

    def int_at_least(self, section: dict, name: str, prefix: str, minimum: int, *, required: bool = True) -> None:
        if name not in section:
            if required:
                self.add(f"{prefix}.{name}", "missing")
            return
        value = section[name]
        if not _is_int(value) or value < minimum:
            self.add(f"{prefix}.{name}", f"must be an integer >= {minimum}, got {value!r}")


def weight_files(card: dict) -> list[str]:
    """The weight files a (valid) card implies: one per ensemble member, plus the VAE's."""
    arch = card["architecture"]
    files = [f"member_{k}.safetensors" for k in range(int(arch.get("ensemble", 1)))]
    if arch.get("image"):
        files.append("vae.safetensors")
    return files


def _architecture(arch, fmt: str, problems: _Problems) -> None:
    if not isinstance(arch, dict):
        problems.add("architecture", "missing" if arch is None else f"must be an object, got {type(arch).__name__}")
        return
    if not _is_str_list(arch.get("parameters")):
        problems.add("architecture.parameters", f"must be a non-empty list of names, got {arch.get('parameters')!r}")
    if not _is_str_list(arch.get("photometry_bands")):
        problems.add(
            "architecture.photometry_bands",
            f"must be a non-empty list of band names, got {arch.get('photometry_bands')!r}",
        )
    plugin_heads = fmt.endswith("/2") and "heads" in arch
    if not plugin_heads and not (isinstance(arch.get("head"), str) and arch.get("head")):
        problems.add("architecture.head", f"must name a head, got {arch.get('head')!r}")
    for name in ("context_dim", "n_couplings", "flow_hidden"):
        problems.int_at_least(arch, name, "architecture", 1)
    problems.int_at_least(arch, "scalar_layers", "architecture", 0)
    problems.int_at_least(arch, "ensemble", "architecture", 1, required=False)
    if not isinstance(arch.get("with_errors"), bool):
        problems.add("architecture.with_errors", f"must be true or false, got {arch.get('with_errors')!r}")
    image = arch.get("image")
    if image is not None:
        if not isinstance(image, dict):
            problems.add("architecture.image", f"must be null or an object, got {image!r}")
        else:
            if not _is_str_list(image.get("bands")):
                problems.add(
                    "architecture.image.bands", f"must be a non-empty list of bands, got {image.get('bands')!r}"
                )
            problems.int_at_least(image, "latent_dim", "architecture.image", 1)
            channels = image.get("channels")
            if not (isinstance(channels, list) and channels and all(_is_int(c) and c >= 1 for c in channels)):
                problems.add("architecture.image.channels", f"must be a list of positive integers, got {channels!r}")
            scale = image.get("pixel_scale_arcsec")
            if not (_is_number(scale) and scale > 0):
                problems.add("architecture.image.pixel_scale_arcsec", f"must be a positive number, got {scale!r}")
    if fmt.endswith("/1"):
        extra = sorted({"encoder", "heads", "backends"} & set(arch))
        if extra:
            problems.add(f"architecture.{extra[0]}", f"is a format /2 field; this card says {fmt!r}")
        return
    encoder = arch.get("encoder")
    if encoder is not None and not (isinstance(encoder, str) and encoder):
        problems.add("architecture.encoder", f"must be a plugin name or null, got {encoder!r}")
    heads = arch.get("heads")
    if heads is not None and not (
        isinstance(heads, dict)
        and heads
        and all(isinstance(k, str) and isinstance(v, str) and v for k, v in heads.items())
    ):
        problems.add("architecture.heads", f"must map each head slot to a registered head name, got {heads!r}")
    if "backends" in arch and not _is_str_list(arch["backends"], nonempty=False):
        problems.add("architecture.backends", f"must be a list of plugin names, got {arch['backends']!r}")


def _statistics(section, prefix: str, problems: _Problems, *, names_must_be=None) -> int | None:
    """Check ``names`` and the per-name ``min/max/mean/std`` lists; return the length."""
    if not isinstance(section, dict):
        problems.add(prefix, "missing" if section is None else "must be an object")
        return None
    names = section.get("names")
    if not _is_str_list(names):
        problems.add(f"{prefix}.names", f"must be a non-empty list of names, got {names!r}")
        return None
    if names_must_be is not None and names != names_must_be:
        problems.add(f"{prefix}.names", f"{names} differ from architecture.parameters {names_must_be}")
    for stat in ("min", "max", "mean", "std"):
        values = section.get(stat)
        if not isinstance(values, list):
            problems.add(f"{prefix}.{stat}", "missing" if values is None else "must be a list of numbers")
        elif len(values) != len(names):
            problems.add(f"{prefix}.{stat}", f"has {len(values)} values for {len(names)} names")
        elif not all(_is_number(v) for v in values):
            problems.add(f"{prefix}.{stat}", "must hold finite numbers only")
        elif stat == "std" and not all(v > 0 for v in values):
            problems.add(f"{prefix}.std", "must be positive (it divides the standardised values)")
    return len(names)


def _feature_count(arch: dict) -> int | None:
    """Number of features a format /1 architecture feeds its heads (None if not computable)."""
    try:
        n_bands = len(arch["photometry_bands"])
        n = 2 * n_bands - 1 + (n_bands if arch["with_errors"] else 0)
        if arch.get("image"):
            n += 2 * int(arch["image"]["latent_dim"])
        return n
    except (KeyError, TypeError, ValueError):
        return None


def _calibration(entry, parameters, problems: _Problems) -> None:
    from astro_galflow.calibration import QuantileRecalibration

    if not isinstance(entry, dict):
        problems.add("calibration", f"must be an object or absent, got {entry!r}")
        return
    unknown = sorted(set(entry) - _CALIBRATION_KEYS)
    if unknown:
        problems.add(f"calibration.{unknown[0]}", f"unknown field (a calibration has {sorted(_CALIBRATION_KEYS)})")
    maps = entry.get("parameters")
    if not isinstance(maps, dict) or not maps:
        problems.add("calibration.parameters", "must map parameter names to their quantile maps")
        return
    for name, knots in maps.items():
        if isinstance(parameters, list) and name not in parameters:
            problems.add(f"calibration.parameters.{name}", "names a parameter the model does not infer")
            continue
        if not (
            isinstance(knots, dict)
            and isinstance(knots.get("levels"), list)
            and isinstance(knots.get("model_levels"), list)
        ):
            problems.add(f"calibration.parameters.{name}", "must hold 'levels' and 'model_levels' lists")
            continue
        try:
            QuantileRecalibration.from_card({"parameters": {name: knots}})
        except (TypeError, ValueError, IndexError) as exc:
            problems.add(f"calibration.parameters.{name}", str(exc))


def _hashes(card: dict, problems: _Problems) -> None:
    hashes = card.get("sha256")
    if not isinstance(hashes, dict):
        problems.add("sha256", "missing" if hashes is None else "must map weight files to their sha256")
        return
    try:
        required = weight_files(card)
    except (KeyError, TypeError, ValueError):
        required = []  # the architecture's own problems are reported already
    for name in required:
        if name not in hashes:
            problems.add(f"sha256.{name}", "missing: every weight file must have its sha256")
    for name, value in hashes.items():
        if not (isinstance(value, str) and _SHA256.fullmatch(value)):
            problems.add(f"sha256.{name}", f"must be 64 lower-case hex digits, got {value!r}")


def card_problems(card) -> list[str]:
    """Every problem of ``card`` as ``"<field>: <problem>"`` lines (empty: the card is valid)."""
    problems = _Problems()
    if not isinstance(card, dict):
        return [f"(card): must be a JSON object, got {type(card).__name__}"]
    fmt = card.get("format")
    if fmt not in CARD_FORMATS:
        problems.add("format", f"{fmt!r} is not a known card format ({', '.join(CARD_FORMATS)})")
        return problems.lines
    arch = card.get("architecture")
    _architecture(arch, fmt, problems)
    parameters = arch.get("parameters") if isinstance(arch, dict) else None
    n_features = _statistics(card.get("features"), "features", problems)
    _statistics(
        card.get("targets"), "targets", problems, names_must_be=parameters if _is_str_list(parameters) else None
    )
    if fmt.endswith("/1") and isinstance(arch, dict) and n_features is not None and not problems.lines:
        expected = _feature_count(arch)
        if expected is not None and expected != n_features:
            problems.add("features.names", f"has {n_features} features; the architecture feeds {expected}")
    _hashes(card, problems)
    if "calibration" in card and card["calibration"] is not None:
        _calibration(card["calibration"], parameters, problems)
    if card.get("domain") is not None:
        from astro_galflow.domain import domain_problems

        for line in domain_problems(card["domain"], n_features):
            problems.lines.append(f"domain.{line}")
    return problems.lines


def validate_card(card, path) -> dict:
    """Return ``card`` if it is valid; else raise naming the card file and each bad field.

    Parameters
    ----------
    card : dict
        Parsed ``card.json``.
    path : path-like
        The card file (named in the message).

    Raises
    ------
    ModelError
        One line per problem: ``model card '<path>': <field>: <problem>``.
    """
    lines = card_problems(card)
    if lines:
        raise ModelError("\n".join(f"model card {os.fspath(path)!r}: {line}" for line in lines))
    return card
