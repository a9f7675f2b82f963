"""Which backend runs a sampler or an encoder: ``--backend`` resolved through the backend registry.

``auto`` takes the first backend the model card names (``architecture.backends``, e.g.
``["onnxruntime", "cuda-graphs", "eager"]``) that is registered and can run on the run's
device: on a CPU ONNX Runtime (``benchmarks/bench_backends.py`` measures it several times
faster than eager torch here), on a GPU CUDA graphs. A named backend is looked up in the
registry as it is; the host knows no backend by any other way, so a plugin's backend
(TensorRT, or one of a user's own) is chosen exactly like a built-in one.
"""

from __future__ import annotations

from astro_galflow.backends.base import Backend, BackendUnavailable
from astro_galflow.model_card import DEFAULT_BACKENDS

__all__ = ["resolve_backend", "auto_backend", "compile_with", "describe_backend"]


def auto_backend(registry, device: str, preferred=DEFAULT_BACKENDS) -> type[Backend]:
    """The first of ``preferred`` that is registered and can run on ``device``.

    Raises
    ------
    BackendUnavailable
        When none of them can.
    """
    for name in preferred:
        if name in registry and registry.get(name).available(device):
            return registry.get(name)
    raise BackendUnavailable(
        f"none of the backends {', '.join(preferred)} can run on device {device!r} here"
        + (" (is torch built with CUDA, and is a GPU visible?)" if device.startswith("cuda") else "")
    )


def resolve_backend(name: str, device: str, registry, preferred=DEFAULT_BACKENDS) -> type[Backend]:
    """The registered backend class ``--backend name`` means on ``device``.

    Parameters
    ----------
    name : str
        ``"auto"`` or a registered backend name.
    device : str
        ``"cpu"`` or ``"cuda[:N]"``.
    registry : astro_galflow.registry.Registry
        The backend registry of the run.
    preferred : sequence of str
        What ``auto`` tries, in order (the model card's ``architecture.backends``).

    Raises
    ------
    astro_galflow.registry.RegistryError
        For a name no plugin registered (listing the registered ones).
    """
    if name == "auto":
        return auto_backend(registry, device, preferred)
    return registry.get(name)


def compile_with(backend: type[Backend], module, example_inputs, device: str, config, *, role: str = "sampler"):
    """Compile ``module`` with ``backend``; the returned callable carries ``backend_info``.

    Parameters
    ----------
    backend : type
        A registered :class:`~astro_galflow.backends.base.Backend` class.
    module : torch.nn.Module
        A sampler ``(features, eps) -> samples`` (``role="sampler"``) or an image encoder
        ``images -> features`` (``role="encoder"``).
    example_inputs : tuple of torch.Tensor
        Representative inputs (for tracing/export).
    device : str
    config : astro_galflow.config.GalflowConfig
        ``config.backend_settings`` are given to the backend.
    role : {"sampler", "encoder"}

    Raises
    ------
    BackendUnavailable
        If ``backend`` cannot run on ``device`` here.
    """
    if not backend.available(device):
        raise BackendUnavailable(
            f"backend {backend.name!r} cannot run on device {device!r} here (it runs on: "
            f"{', '.join(backend.devices)}; check that its libraries are installed)"
        )
    instance = backend(config.backend_settings.as_options())
    if role == "encoder":
        compiled = instance.compile_encoder(module, example_inputs, device)
    else:
        compiled = instance.compile(module, example_inputs, device)
    compiled.backend_info = describe(backend, config.backend, device)
    return compiled


def describe(backend: type[Backend], requested: str, device: str) -> dict:
    """``{"name", "requested", "device", "versions"}`` of a backend class, for table meta."""
    return {"name": backend.name, "requested": requested, "device": device, "versions": backend.versions()}


def describe_backend(config, compiled) -> dict:
    """Backend name, request, device and library versions of a compiled sampler, for table meta.

    Parameters
    ----------
    config : astro_galflow.config.GalflowConfig
    compiled : callable
        What ``galflow_compile_head`` returned; a plugin's sampler without
        ``backend_info`` is described by the request alone.
    """
    info = getattr(compiled, "backend_info", None)
    if info is not None:
        return dict(info)
    return {"name": config.backend, "requested": config.backend, "device": config.device, "versions": {}}
