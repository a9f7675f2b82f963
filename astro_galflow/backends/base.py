"""Base class of inference backends (registered through ``galflow_register_backends``)."""

from __future__ import annotations

from typing import ClassVar

from astro_galflow.exceptions import GalflowError

__all__ = ["Backend", "BackendUnavailable"]


class BackendUnavailable(GalflowError, RuntimeError):
    """The backend's runtime (library, device) is not present on this machine."""


class Backend:
    """An inference backend compiles a sampler module into a fast callable.

    Parameters
    ----------
    options : dict, optional
        :meth:`astro_galflow.config.BackendSettings.as_options` of the run.

    Attributes
    ----------
    name : str
        Registry name, the value of ``--backend``.
    devices : tuple of str
        Device kinds it runs on (``"cpu"``, ``"cuda"``).
    """

    name: ClassVar[str] = ""
    devices: ClassVar[tuple[str, ...]] = ("cpu",)

    @classmethod
    def available(cls, device: str = "cpu") -> bool:
        """Whether this backend can run on ``device`` here (a CUDA device needs a visible GPU)."""
        kind = device.split(":")[0]
        if kind not in cls.devices:
            return False
        if kind == "cuda":
            import torch

            return torch.cuda.is_available()
        return True

    @classmethod
    def versions(cls) -> dict[str, str]:
        """Versions of the libraries this backend runs on (for table provenance)."""
        return {}

    def __init__(self, options: dict | None = None):
        self.options = dict(options or {})

    def compile(self, sampler, example_inputs, device: str = "cpu"):
        """Return a callable ``(features, eps) -> samples`` equivalent to ``sampler``."""
        raise NotImplementedError

    def compile_encoder(self, encoder, example_inputs, device: str = "cpu"):
        """Return a callable ``images -> features`` equivalent to ``encoder``.

        The default runs the torch module on ``device`` under inference mode; backends
        that can do better (ONNX Runtime on CPUs) override it.
        """
        from astro_galflow.backends.encoder import eager_encoder

        return eager_encoder(encoder, device)
