"""Weights files and resumable training checkpoints.

Weights are safetensors (no pickle, nothing executes on load; :mod:`astro_galflow.model_card`). A checkpoint directory
holds the module's weights (``model.safetensors``), the best weights so far
(``best.safetensors``), the optimizer state (``optimizer.pt``, read back with
``torch.load(weights_only=True)``, which refuses anything but tensors and plain
containers) and ``state.json`` (epoch, best validation loss, epochs without improvement).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from astro_galflow.model_card import load_weights, save_weights

__all__ = ["Checkpoint"]


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
