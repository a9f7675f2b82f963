"""TensorRT optimisation profiles for the batch and sample axes, and fitting shapes to them.

An engine is built for ranges ``[min, max]`` of the galaxy (batch) axis and of the sample
axis, tuned at ``opt``. Galaxies are independent, so a batch beyond ``max_batch`` is split
into chunks that fit and a batch below ``min_batch`` is padded (and the padding dropped).
The sample axis is not split: an ensemble assigns sample blocks to members from the total
count, so a sample count outside the profile needs an engine of its own (built and cached
under its own profile).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["ShapeProfile", "default_profile", "batch_chunks"]


@dataclass(frozen=True)
class ShapeProfile:
    """Ranges of the dynamic axes an engine accepts.

    Raises
    ------
    ValueError
        Unless ``1 <= min <= opt <= max`` on both axes.
    """

    min_batch: int
    opt_batch: int
    max_batch: int
    min_samples: int
    opt_samples: int
    max_samples: int

    def __post_init__(self):
        for axis in ("batch", "samples"):
            lo, opt, hi = (getattr(self, f"{k}_{axis}") for k in ("min", "opt", "max"))
            if not 1 <= lo <= opt <= hi:
                raise ValueError(f"profile {axis} axis needs 1 <= min <= opt <= max, got {lo}, {opt}, {hi}")

    def accepts_samples(self, n_samples: int) -> bool:
        """Whether ``n_samples`` lies in the sample range."""
        return self.min_samples <= n_samples <= self.max_samples

    def shapes(self, name: str, feature_dim: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """``(min, opt, max)`` shapes of input ``name`` (``"context"`` or ``"eps"``)."""
        if name == "context":
            return tuple((getattr(self, f"{k}_batch"), feature_dim) for k in ("min", "opt", "max"))
        return tuple(
            (getattr(self, f"{k}_batch"), getattr(self, f"{k}_samples"), feature_dim) for k in ("min", "opt", "max")
        )

    def as_dict(self) -> dict:
        """Plain dict (part of the engine cache key)."""
        return asdict(self)


def default_profile(batch_size: int, n_samples: int, options: dict | None = None) -> ShapeProfile:
    """The profile for a run: batches of 1..``batch_size`` galaxies, 1..``n_samples`` samples.

    ``options`` (``config.plugin_options["tensorrt"]``) may override any field, e.g.
    ``{"max_batch": 4096}``.
    """
    fields = {
        "min_batch": 1,
        "opt_batch": batch_size,
        "max_batch": batch_size,
        "min_samples": 1,
        "opt_samples": n_samples,
        "max_samples": n_samples,
    }
    fields.update({k: int(v) for k, v in (options or {}).items() if k in fields})
    return ShapeProfile(**fields)


def batch_chunks(n: int, profile: ShapeProfile) -> list[tuple[int, int, int]]:
    """Split ``n`` galaxies into ``(start, stop, padded)`` chunks the profile accepts.

    ``stop - start`` real galaxies are run as a batch of ``padded`` rows
    (``min_batch <= padded <= max_batch``); rows beyond ``stop - start`` are padding.
    """
    chunks = []
    for start in range(0, n, profile.max_batch):
        stop = min(n, start + profile.max_batch)
        chunks.append((start, stop, max(stop - start, profile.min_batch)))
    return chunks
