"""Run configuration passed (never imported) to hooks and pipeline stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["GalflowConfig", "DEFAULT_QUANTILES"]

#: Quantiles written as ``{param}_p16``, ``{param}_p50``, ``{param}_p84`` by default.
DEFAULT_QUANTILES = (0.16, 0.50, 0.84)


@dataclass
class GalflowConfig:
    """Options of one run.

    Parameters
    ----------
    model : str
        Shipped model name (e.g. ``"sim-default"``) or path to a model directory.
    n_samples : int
        Posterior samples drawn per object.
    seed : int
        Seed of the noise fed to the samplers; the same seed gives the same table.
    backend : str
        Inference backend name, or ``"auto"``.
    device : str
        ``"cpu"`` or ``"cuda"``.
    batch_size : int
        Objects per forward pass.
    quantiles : tuple of float
        Quantiles written as ``{param}_pNN`` columns.
    store_samples : bool
        Also write ``{param}_samples`` (N x S) columns.
    calibrate : bool
        Apply the model's post-hoc calibration of the marginals (when its card has one).
    options : dict
        Free-form options for plugins (namespaced by plugin name by convention).
    """

    model: str = "sim-photometry"
    n_samples: int = 1000
    seed: int = 0
    backend: str = "auto"
    device: str = "cpu"
    batch_size: int = 512
    quantiles: tuple = DEFAULT_QUANTILES
    store_samples: bool = False
    calibrate: bool = True
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {self.n_samples}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        for q in self.quantiles:
            if not 0.0 < q < 1.0:
                raise ValueError(f"quantiles must lie strictly between 0 and 1, got {q}")

    def to_meta(self) -> dict:
        """Plain-dict view for table meta (JSON/YAML-serialisable)."""
        meta = asdict(self)
        meta["quantiles"] = list(self.quantiles)
        return meta
