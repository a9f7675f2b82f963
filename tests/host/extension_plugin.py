"""A third-party-style plugin for the extension test: a new head and a new backend, under new names.

Imported by name through ``GALFLOW_PLUGINS`` in a subprocess, as a user's plugin would be.
"""

from __future__ import annotations

from astro_galflow.backends.eager import EagerBackend, EagerSampler
from astro_galflow.heads.gaussian import GaussianHead
from astro_galflow.plugins import hookimpl

#: Calls of samplers the backend compiled, in this process.
CALLS = []


class WideGaussianHead(GaussianHead):
    """The Gaussian head with every standard deviation doubled (so a test can tell it ran)."""

    name = "test-wide-gaussian"

    def forward(self, context, eps, condition=None):
        mean, log_std = self._mean_logstd(context)
        return mean.unsqueeze(1) + 2.0 * log_std.exp().unsqueeze(1) * eps


class _CountingSampler(EagerSampler):
    def __call__(self, context, eps):
        CALLS.append(len(context))
        return super().__call__(context, eps)


class CountingBackend(EagerBackend):
    """Eager torch that counts the rows it samples."""

    name = "test-counting"

    def compile(self, sampler, example_inputs, device="cpu"):
        return _CountingSampler(sampler.to(device).eval(), device)


@hookimpl
def galflow_register_heads(registry):
    registry.add(WideGaussianHead)


@hookimpl
def galflow_register_backends(registry):
    registry.add(CountingBackend)
