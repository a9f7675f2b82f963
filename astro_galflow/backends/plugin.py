"""Built-in backend plugin: registers eager, compile, cuda-graphs and onnxruntime, and
compiles samplers and encoders with the backend the run resolved, as the last-resort
``galflow_compile_head``.

Imports nothing heavy: backend modules import torch/onnxruntime inside their methods.
"""

from __future__ import annotations

from astro_galflow.plugins import hookimpl

__all__ = ["galflow_register_backends", "galflow_compile_head"]


@hookimpl
def galflow_register_backends(registry):
    """Register the built-in backend classes."""
    from astro_galflow.backends.compiled import CompileBackend
    from astro_galflow.backends.cudagraphs import CudaGraphsBackend
    from astro_galflow.backends.eager import EagerBackend
    from astro_galflow.backends.onnxruntime import OnnxRuntimeBackend

    for cls in (EagerBackend, CompileBackend, CudaGraphsBackend, OnnxRuntimeBackend):
        registry.add(cls)


@hookimpl(trylast=True)
def galflow_compile_head(head, example_inputs, device, config, backend, role):
    """Compile ``head`` with ``backend``, the registered class the run resolved ``--backend`` to."""
    from astro_galflow.backends.selection import compile_with

    return compile_with(backend, head, example_inputs, device, config, role=role)
