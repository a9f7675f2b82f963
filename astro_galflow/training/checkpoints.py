"""Weights files and resumable training checkpoints.

Weights are safetensors (no pickle, nothing executes on load). A checkpoint directory
holds the module's weights (``model.safetensors``), the best weights so far
(``best.safetensors``), the optimizer state (``optimizer.pt``, read back with
``torch.load(weights_only=True)``, which refuses anything but tensors and plain
containers) and ``state.json`` (epoch, best validation loss, epochs without improvement).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from astro_galflow.exceptions import ModelError

__all__ = ["sha256_of", "save_weights", "load_weights", "Checkpoint"]


def sha256_of(path) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_weights(module: torch.nn.Module, path) -> str:
    """Write ``module.state_dict()`` as safetensors; return the file's sha256."""
    state = {k: v.detach().contiguous().clone() for k, v in module.state_dict().items()}
    save_file(state, os.fspath(path))
    return sha256_of(path)


def load_weights(module: torch.nn.Module, path, sha256: str | None = None) -> torch.nn.Module:
    """Load safetensors weights into ``module``, checking the file's sha256 first.

    Raises
    ------
    ModelError
        When the file is missing, not a regular file, larger than
        :data:`~astro_galflow.safe_files.MAX_WEIGHTS_BYTES`, its hash differs from
        ``sha256`` or it does not fit the module.
    """
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


class Checkpoint:
    """Resumable state of one training run in ``directory``."""

    def __init__(self, directory):
        self.directory = Path(directory)

    @property
    def state_path(self) -> Path:
        return self.directory / "state.json"

    def exists(self) -> bool:
        """Whether a checkpoint was written."""
        return self.state_path.exists()

    def save(self, module, optimizer, state: dict, *, best: bool) -> None:
        """Write weights, optimizer state and ``state`` (and the best weights if ``best``)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        save_weights(module, self.directory / "model.safetensors")
        if best:
            save_weights(module, self.directory / "best.safetensors")
        torch.save(optimizer.state_dict(), self.directory / "optimizer.pt")
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        tmp.replace(self.state_path)

    def load(self, module, optimizer) -> dict:
        """Restore the last weights and optimizer state; return the saved ``state``."""
        load_weights(module, self.directory / "model.safetensors")
        optimizer.load_state_dict(torch.load(self.directory / "optimizer.pt", weights_only=True))
        return json.loads(self.state_path.read_text())

    def load_best(self, module) -> torch.nn.Module:
        """Load the best weights into ``module``."""
        return load_weights(module, self.directory / "best.safetensors")
