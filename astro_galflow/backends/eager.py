"""Eager torch backend (CPU or CUDA): the sampler module itself, under inference mode."""

from __future__ import annotations

from astro_galflow.backends.base import Backend

__all__ = ["EagerBackend", "EagerSampler"]


class EagerSampler:
    """Callable ``(context, eps) -> samples`` running ``module`` on ``device`` without autograd.

    Parameters
    ----------
    module : torch.nn.Module
        The sampler, already on ``device`` and in eval mode.
    device : str
        Inputs are moved there; the samples stay there.
    """

    def __init__(self, module, device: str = "cpu"):
        self.module = module
        self.device = device

    def __call__(self, context, eps):
        import torch

        with torch.inference_mode():
            return self.module(context.to(self.device), eps.to(self.device))


class EagerBackend(Backend):
    """Plain torch execution; the reference every other backend is tested against."""

    name = "eager"
    devices = ("cpu", "cuda")

    def __init__(self, options: dict | None = None):
        self.options = dict(options or {})

    @classmethod
    def versions(cls) -> dict[str, str]:
        import torch

        return {"torch": torch.__version__}

    def compile(self, sampler, example_inputs, device: str = "cpu"):
        """Return ``sampler`` moved to ``device``, in eval mode, wrapped in inference mode."""
        return EagerSampler(sampler.to(device).eval(), device)
