"""``torch.compile`` backend (Inductor; CPU needs a C++ compiler, CUDA needs Triton)."""

from __future__ import annotations

from astro_galflow.backends.base import Backend
from astro_galflow.backends.eager import EagerSampler

__all__ = ["CompileBackend"]


class CompileBackend(Backend):
    """Compile the sampler with :func:`torch.compile` (dynamic batch and sample axes).

    Options (:class:`~astro_galflow.config.BackendSettings`): ``compile_mode`` (passed as ``mode``, e.g.
    ``"max-autotune"``; default torch's default), ``restructure`` (default True: compile
    the :func:`~astro_galflow.backends.fast_sampler.restructure`-d sampler).
    """

    name = "compile"
    devices = ("cpu", "cuda")

    def __init__(self, options: dict | None = None):
        self.options = dict(options or {})

    @classmethod
    def available(cls, device: str = "cpu") -> bool:
        if not super().available(device):
            return False
        if device.startswith("cuda"):
            return True
        import shutil

        # Inductor's CPU code generation shells out to a C++ compiler.
        return shutil.which("c++") is not None or shutil.which("g++") is not None

    @classmethod
    def versions(cls) -> dict[str, str]:
        import torch

        return {"torch": torch.__version__}

    def compile(self, sampler, example_inputs, device: str = "cpu"):
        """Return a compiled sampler; compilation happens on the first call of each shape family."""
        import torch

        from astro_galflow.backends.fast_sampler import restructure

        module = sampler.to(device).eval()
        if self.options.get("restructure", True):
            module = restructure(module)
        compiled = torch.compile(module, dynamic=True, mode=self.options.get("compile_mode"))
        return EagerSampler(compiled, device)
