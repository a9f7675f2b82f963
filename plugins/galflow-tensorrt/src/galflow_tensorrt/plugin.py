"""Hook implementations of the galflow-tensorrt plugin (entry point ``tensorrt``).

Imports nothing heavy: TensorRT and torch are imported when a head is compiled.
"""

from __future__ import annotations

import warnings

from astro_galflow.exceptions import GalflowWarning
from astro_galflow.plugins import hookimpl

__all__ = ["TensorRTFallbackWarning", "galflow_register_backends", "galflow_compile_head"]


class TensorRTFallbackWarning(GalflowWarning):
    """``--backend tensorrt`` was asked for but cannot run here; another backend runs instead."""


@hookimpl
def galflow_register_backends(registry):
    """Register the ``tensorrt`` backend class."""
    from galflow_tensorrt.backend import TensorRTBackend

    registry.add(TensorRTBackend)


@hookimpl
def galflow_compile_head(head, example_inputs, device, config, backend, fallback, role):
    """Compile a sampler or the image encoder into a TensorRT engine when the run resolved ``--backend`` to ``tensorrt``.

    Any other backend: return None (the built-in default answers). Samplers
    (``role="sampler"``) become an :class:`~galflow_tensorrt.backend.EngineSet`, the image
    encoder (``role="encoder"``) a :class:`~galflow_tensorrt.engine.TensorRTEncoder`; both
    carry ``backend_info`` naming ``tensorrt`` and the precision. Without TensorRT or CUDA:
    warn with :class:`TensorRTFallbackWarning` and compile with ``fallback``, the backend
    ``--backend auto`` picks on ``device``; its ``backend_info`` records both the request
    and the backend that runs. A role this plugin does not know gets None.
    """
    if backend.name != "tensorrt":
        return None
    from astro_galflow.backends.selection import compile_with
    from galflow_tensorrt.backend import TensorRTBackend, unavailable_reason

    reason = unavailable_reason(device)
    if reason is None:
        if role not in ("sampler", "encoder"):
            return None
        trt = TensorRTBackend(
            config.plugin_options.get("tensorrt", {}), batch_size=config.batch_size, n_samples=config.n_samples
        )
        if role == "encoder":
            compiled = trt.compile_encoder(head, example_inputs, device)
        else:
            compiled = trt.compile(head, example_inputs, device)
        compiled.backend_info = {
            "name": "tensorrt",
            "requested": config.backend,
            "device": device,
            "versions": TensorRTBackend.versions(),
            "precision": trt.options.get("precision", "fp32"),
        }
        return compiled
    compiled = compile_with(fallback, head, example_inputs, device, config, role=role)
    warnings.warn(
        f"--backend tensorrt cannot run: {reason}; falling back to backend "
        f"{compiled.backend_info['name']!r} on device {device!r}",
        TensorRTFallbackWarning,
        stacklevel=2,
    )
    return compiled
