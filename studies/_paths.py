"""Default locations of a study's inputs, resolved from this file, never from the working directory."""

from __future__ import annotations

from pathlib import Path

#: The repository root (the folder holding ``studies/``).
REPO_ROOT = Path(__file__).resolve().parent.parent
#: The project's real SDSS extracts, kept beside the repository (``--data-dir`` overrides).
SHARED_SDSS = REPO_ROOT.parent / "shared" / "data" / "sdss"
#: Where the shipped models are installed.
SHIPPED_MODELS = REPO_ROOT / "astro_galflow" / "data" / "models"
