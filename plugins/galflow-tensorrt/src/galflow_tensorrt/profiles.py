"""TensorRT optimisation profiles for the batch and sample axes, and fitting shapes to them.

An engine is built for ranges ``[min, max]`` of the galaxy (batch) axis and of the sample
axis, tuned at ``opt``. Galaxies are independent, so a batch beyond ``max_batch`` is split
into chunks that fit and a batch below ``min_batch`` is padded (and the padding dropped).
The sample axis is not split: an ensemble assigns sample blocks to members from the total
count, so a sample count outside the profile needs an engine of its own (built and cached
under its own profile).

An image encoder has the batch axis only (:class:`BatchProfile`); its bounds have options
of their own (``encoder_max_batch``, ...) because a batch of cutouts holds far more
activation memory per galaxy than a galaxy's flow samples.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = [
    "ShapeProfile",
    "BatchProfile",
    "DEFAULT_ENCODER_MAX_BATCH",
    "default_profile",
    "encoder_profile",
    "batch_chunks",
]


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


@dataclass(frozen=True)
class BatchProfile:
    """Range of the batch axis of an engine whose other axes are fixed (an image encoder).

    Raises
    ------
    ValueError
        Unless ``1 <= min_batch <= opt_batch <= max_batch``.
    """

    min_batch: int
    opt_batch: int
    max_batch: int

    def __post_init__(self):
        if not 1 <= self.min_batch <= self.opt_batch <= self.max_batch:
            raise ValueError(
                "profile batch axis needs 1 <= min <= opt <= max, got "
                f"{self.min_batch}, {self.opt_batch}, {self.max_batch}"
            )

    def shapes(self, item_shape: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """``(min, opt, max)`` shapes of an input whose rows have shape ``item_shape``."""
        item = tuple(int(n) for n in item_shape)
        return tuple((getattr(self, f"{k}_batch"), *item) for k in ("min", "opt", "max"))

    def as_dict(self) -> dict:
        """Plain dict (part of the engine cache key)."""
        return asdict(self)


#: Default upper bound of the encoder's batch axis: the host encodes cutouts at most 256
#: at a time (:meth:`astro_galflow.models.GalflowModel.features`), and an execution
#: context reserves activation memory for the largest shape of its profile (about 1.7 MB
#: per 3x160x160 cutout for the shipped VAE), so a bound at ``--batch-size 16384`` would
#: reserve ~28 GB for batches that never come.
DEFAULT_ENCODER_MAX_BATCH = 256


def encoder_profile(batch_size: int, options: dict | None = None) -> BatchProfile:
    """The encoder profile for a run: batches of 1..``min(batch_size, 256)`` cutouts.

    Parameters
    ----------
    batch_size : int
        ``config.batch_size``.
    options : dict, optional
        ``config.plugin_options["tensorrt"]``: ``encoder_min_batch``, ``encoder_opt_batch``
        and ``encoder_max_batch`` set the bounds (the sampler's ``min_batch``, ... do not
        apply: a cutout needs far more memory than a galaxy's samples). Without
        ``encoder_opt_batch`` the profile is tuned at the largest batch it accepts.

    Returns
    -------
    BatchProfile
        Larger batches are split by :func:`batch_chunks`.
    """
    options = options or {}
    max_batch = int(options.get("encoder_max_batch", min(int(batch_size), DEFAULT_ENCODER_MAX_BATCH)))
    min_batch = int(options.get("encoder_min_batch", 1))
    opt_batch = int(options.get("encoder_opt_batch", max_batch))
    return BatchProfile(min_batch, opt_batch, max_batch)


def batch_chunks(n: int, profile: ShapeProfile | BatchProfile) -> list[tuple[int, int, int]]:
    """Split ``n`` galaxies into ``(start, stop, padded)`` chunks the profile accepts.

    ``stop - start`` real galaxies are run as a batch of ``padded`` rows
    (``min_batch <= padded <= max_batch``); rows beyond ``stop - start`` are padding.
    """
    chunks = []
    for start in range(0, n, profile.max_batch):
        stop = min(n, start + profile.max_batch)
        chunks.append((start, stop, max(stop - start, profile.min_batch)))
    return chunks
