"""Base class of inference backends (registered through ``galflow_register_backends``)."""

from __future__ import annotations

from typing import ClassVar

__all__ = ["Backend", "BackendUnavailable"]


class BackendUnavailable(RuntimeError):
    """The backend's runtime (library, device) is not present on this machine."""


class Backend:
    """An inference backend compiles a sampler module into a fast callable.

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

    def compile(self, sampler, example_inputs, device: str = "cpu"):
        """Return a callable ``(context, eps) -> samples`` equivalent to ``sampler``."""
        raise NotImplementedError
