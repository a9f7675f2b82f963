"""``galflow models``: the models a run can name, with what they need, infer and were trained on.

Reads each model's ``card.json`` directly (no weights are loaded), so the listing is instant.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["add_parser", "run", "describe_model"]


def add_parser(subparsers):
    """Add the ``models`` subcommand."""
    parser = subparsers.add_parser(
        "models",
        help="list shipped and installed models: inputs, parameters, size, training data",
        description=(
            "List the models shipped with astro_galflow (pass one by name to --model) and any model "
            "directories given: inputs, inferred parameters, ensemble size, size on disk and the data each "
            "was trained on, read from its card.json."
        ),
    )
    parser.add_argument("directories", nargs="*", type=Path, help="model directories to describe as well")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    return parser


def _size(directory: Path) -> int:
    return sum(f.stat().st_size for f in directory.iterdir() if f.is_file())


def describe_model(directory) -> dict:
    """Summary of the model in ``directory`` from its card: name, inputs, parameters, size, data.

    Raises
    ------
    ModelError
        If ``directory`` has no readable ``card.json``.
    """
    from astro_galflow.exceptions import ModelError

    directory = Path(os.fspath(directory))
    card_path = directory / "card.json"
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"model card {str(card_path)!r} cannot be read: {exc}") from exc
    arch = card.get("architecture", {})
    image = arch.get("image") or {}
    bands = "".join(arch.get("photometry_bands", []))
    inputs = [f"{''.join(image['bands'])} cutouts"] if image.get("bands") else []
    inputs.append(f"{bands} magnitudes" + (" + errors" if arch.get("with_errors") else ""))
    data = card.get("data", {})
    split = ", ".join(f"{data[k]:,} {k[2:]}" for k in ("n_train", "n_val", "n_test") if k in data)
    return {
        "name": card.get("name", directory.name),
        "directory": str(directory),
        "inputs": inputs,
        "parameters": list(arch.get("parameters", [])),
        "head": arch.get("head"),
        "ensemble": arch.get("ensemble", 1),
        "calibrated": bool(card.get("calibration")),
        "size_bytes": _size(directory),
        "trained_on": f"{data.get('catalog', '?')} ({split})" if split else str(data.get("catalog", "?")),
        "training_command": card.get("training", {}).get("command"),
    }


def run(args) -> int:
    """Print the model listing."""
    from astro_galflow.exceptions import InputError
    from astro_galflow.models import MODELS_DIR, available_models

    for directory in args.directories:
        if not (directory / "card.json").is_file():
            raise InputError(f"{str(directory)!r} is not a model directory (no card.json)")
    entries = [("shipped", describe_model(MODELS_DIR / name)) for name in available_models()]
    entries += [("directory", describe_model(d)) for d in args.directories]
    if args.json:
        print(json.dumps([{"origin": origin, **info} for origin, info in entries], indent=2))
        return 0
    for origin, info in entries:
        name = info["name"] if origin == "shipped" else info["directory"]
        members = f"{info['head']} x{info['ensemble']}" if info["ensemble"] > 1 else str(info["head"])
        print(f"{name}  ({origin}, {info['size_bytes'] / 1e6:.1f} MB, {members}{', calibrated' * info['calibrated']})")
        print(f"  inputs      {' + '.join(info['inputs'])}")
        print(f"  parameters  {', '.join(info['parameters'])}")
        print(f"  trained on  {info['trained_on']}")
    if not entries:
        print(f"no shipped models in {MODELS_DIR}")
    print("\nuse one with: galflow infer CATALOG OUT --model NAME_OR_DIRECTORY")
    return 0
