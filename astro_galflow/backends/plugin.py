"""Built-in backend plugin: registers eager, compile, cuda-graphs and onnxruntime, and
compiles heads with ``config.backend`` as the last-resort ``galflow_compile_head``.

Imports nothing heavy: backend modules import torch/onnxruntime inside their methods.
"""

from __future__ import annotations

from astro_galflow.plugins import hookimpl

__all__ = ["galflow_register_backends", "galflow_compile_head"]


@hookimpl
def galflow_register_backends(registry):
    """Register the built-in backend classes."""
    from astro_galflow.backends.selection import BUILTIN_BACKENDS, builtin_backend_class

    for name in BUILTIN_BACKENDS:
        registry.add(builtin_backend_class(name))


@hookimpl(trylast=True)
def galflow_compile_head(head, example_inputs, device, config):
    """Compile ``head`` with the built-in backend ``config.backend`` resolves to (``auto``: fastest here)."""
    from astro_galflow.backends.selection import compile_head

    return compile_head(head, example_inputs, device, config)
