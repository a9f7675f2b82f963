"""Which backend runs a sampler: resolution of ``--backend`` and the description for table meta.

``auto`` picks, by device:

* CPU: ``onnxruntime`` when ONNX Runtime is installed (``benchmarks/bench_backends.py``
  measures it several times faster than eager torch on the CPUs we run on), else ``eager``;
* CUDA: ``cuda-graphs`` (kernel launches, not arithmetic, bound the small flow layers).

TensorRT is not built in: the ``galflow-tensorrt`` plugin answers
:func:`~astro_galflow.hookspecs.galflow_compile_head` for ``--backend tensorrt`` before
the built-in default runs.
"""

from __future__ import annotations

import importlib

from astro_galflow.backends.base import Backend, BackendUnavailable

__all__ = ["BUILTIN_BACKENDS", "builtin_backend_class", "resolve_backend", "compile_head", "describe_backend"]

#: Built-in backend names and where their classes live (imported on first use).
BUILTIN_BACKENDS: dict[str, str] = {
    "eager": "astro_galflow.backends.eager:EagerBackend",
    "compile": "astro_galflow.backends.compiled:CompileBackend",
    "cuda-graphs": "astro_galflow.backends.cudagraphs:CudaGraphsBackend",
    "onnxruntime": "astro_galflow.backends.onnxruntime:OnnxRuntimeBackend",
}

_PLUGIN_BACKENDS = {"tensorrt": "galflow-tensorrt"}


def builtin_backend_class(name: str) -> type[Backend]:
    """Import and return the built-in backend class called ``name``.

    Raises
    ------
    BackendUnavailable
        If ``name`` is not a built-in backend (the message says which plugin provides it).
    """
    try:
        target = BUILTIN_BACKENDS[name]
    except KeyError:
        known = ", ".join(["auto", *sorted(BUILTIN_BACKENDS)])
        hint = ""
        if name in _PLUGIN_BACKENDS:
            hint = f"; backend {name!r} is provided by the {_PLUGIN_BACKENDS[name]!r} plugin, which is not installed"
        raise BackendUnavailable(f"unknown backend {name!r} (built-in: {known}){hint}") from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def _auto_order(device: str) -> tuple[str, ...]:
    if device.startswith("cuda"):
        return ("cuda-graphs", "eager")
    return ("onnxruntime", "eager")


def resolve_backend(name: str, device: str = "cpu") -> str:
    """Resolve ``"auto"`` to a concrete built-in backend for ``device``; check others.

    Parameters
    ----------
    name : str
        ``"auto"`` or a built-in backend name.
    device : str
        ``"cpu"`` or ``"cuda[:N]"``.

    Returns
    -------
    str
        The backend that will run.

    Raises
    ------
    BackendUnavailable
        If the named backend does not exist or cannot run on ``device`` here.
    """
    if name == "auto":
        for candidate in _auto_order(device):
            if builtin_backend_class(candidate).available(device):
                return candidate
        raise BackendUnavailable(f"no backend can run on device {device!r} (is torch built with CUDA?)")
    cls = builtin_backend_class(name)
    if not cls.available(device):
        raise BackendUnavailable(
            f"backend {name!r} cannot run on device {device!r} here (it runs on: {', '.join(cls.devices)}; "
            "check that its libraries are installed)"
        )
    return name


def _options(config) -> dict:
    return dict((getattr(config, "options", None) or {}).get("backends", {}))


def compile_head(head, example_inputs, device: str, config, *, backend: str | None = None):
    """Compile ``head`` with the backend ``config.backend`` (or ``backend``) resolves to.

    Parameters
    ----------
    head : torch.nn.Module
        Sampler module ``(context, eps) -> samples``.
    example_inputs : tuple of torch.Tensor
        ``(context, eps)`` of representative shapes.
    device : str
        ``"cpu"`` or ``"cuda[:N]"``.
    config : astro_galflow.config.GalflowConfig
        ``config.backend`` and ``config.options["backends"]`` are read.
    backend : str, optional
        Overrides ``config.backend`` (used by plugins that fall back to the best built-in).

    Returns
    -------
    callable
        ``(context, eps) -> samples``, with a ``backend_info`` dict attribute (the
        :func:`describe_backend` entry of the backend that runs; ``requested`` stays
        ``config.backend`` when ``backend`` overrides it).
    """
    name = resolve_backend(backend or config.backend, device)
    cls = builtin_backend_class(name)
    compiled = cls(_options(config)).compile(head, example_inputs, device)
    compiled.backend_info = _describe(cls, config.backend, device)
    return compiled


def _describe(cls: type[Backend], requested: str, device: str) -> dict:
    return {"name": cls.name, "requested": requested, "device": device, "versions": cls.versions()}


def describe_backend(config, compiled=None) -> dict:
    """Backend name, request, device and library versions, for the posterior table's meta.

    Parameters
    ----------
    config : astro_galflow.config.GalflowConfig
    compiled : callable, optional
        A sampler returned by ``galflow_compile_head``; when it carries ``backend_info``
        (every built-in and TensorRT sampler does) that description is returned, which
        also covers plugin backends and fallbacks; pass it whenever it exists.

    Returns
    -------
    dict
        ``{"name", "requested", "device", "versions"}``.
    """
    info = getattr(compiled, "backend_info", None)
    if info is not None:
        return dict(info)
    if config.backend != "auto" and config.backend not in BUILTIN_BACKENDS:
        # a plugin backend, described without its sampler: the request is all we know
        return {"name": config.backend, "requested": config.backend, "device": config.device, "versions": {}}
    name = resolve_backend(config.backend, config.device)
    return _describe(builtin_backend_class(name), config.backend, config.device)
