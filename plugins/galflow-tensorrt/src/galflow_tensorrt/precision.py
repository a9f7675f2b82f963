"""Precision policy of TensorRT engines: FP32, TF32, FP16 or BF16 arithmetic inside.

Engine inputs and outputs stay float32 in every mode; only the internal layers change.
The default is ``fp32`` with TF32 disabled: the numerics study in the astro_galflow docs
(``docs/results/benchmarks.rst``) measures how far reduced precision moves posterior
quantiles, and reduced precision is opt-in until a model's own check passes. In reduced
modes the transcendental layers (exp, sinh, asinh of the flows) are pinned to FP32,
since an error in a log-scale is amplified by the exponential.

Hardware requirements follow NVIDIA's TensorRT support matrix: FP16 tensor cores from
compute capability 7.0, TF32 and BF16 from 8.0 (Ampere).
"""

from __future__ import annotations

__all__ = ["PRECISIONS", "DEFAULT_PRECISION", "MIN_COMPUTE_CAPABILITY", "check_precision"]

PRECISIONS = ("fp32", "tf32", "fp16", "bf16")
DEFAULT_PRECISION = "fp32"
#: Lowest compute capability (major, minor) with fast support of each mode.
MIN_COMPUTE_CAPABILITY = {"fp32": (0, 0), "tf32": (8, 0), "fp16": (7, 0), "bf16": (8, 0)}


def check_precision(precision: str | None, compute_capability: tuple[int, int]) -> str:
    """Validate a requested precision against the GPU; return the mode to build.

    Parameters
    ----------
    precision : str or None
        One of :data:`PRECISIONS`; None gives :data:`DEFAULT_PRECISION`.
    compute_capability : tuple of int
        ``torch.cuda.get_device_capability()``.

    Raises
    ------
    ValueError
        For an unknown mode, or one the GPU does not support.
    """
    precision = (precision or DEFAULT_PRECISION).lower()
    if precision not in PRECISIONS:
        raise ValueError(f"unknown TensorRT precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    need = MIN_COMPUTE_CAPABILITY[precision]
    if tuple(compute_capability) < need:
        raise ValueError(
            f"precision {precision!r} needs compute capability >= {need[0]}.{need[1]}, this GPU has "
            f"{compute_capability[0]}.{compute_capability[1]}; use 'fp32'"
        )
    return precision
