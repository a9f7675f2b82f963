"""Import a script of ``studies/`` (outside the installed package) by its file path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

STUDIES = Path(__file__).resolve().parents[2] / "studies"


def load_study(name: str):
    """The module ``studies/<name>.py``, imported once."""
    key = f"galflow_study_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, STUDIES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]
