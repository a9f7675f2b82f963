"""Built-in plugin registering the posterior heads.

The head modules import torch, so they are imported inside the hook: importing this
module (which the plugin manager does at start-up) stays cheap.
"""

from __future__ import annotations

from astro_galflow.plugins import hookimpl


@hookimpl
def galflow_register_heads(registry):
    """Register the ``gaussian``, ``flow``, ``core``, ``metallicity`` and ``lines`` heads."""
    from astro_galflow.heads.core import CoreHead, FlowHead
    from astro_galflow.heads.gaussian import GaussianHead
    from astro_galflow.heads.lines import LinesHead
    from astro_galflow.heads.metallicity import MetallicityHead

    for cls in (GaussianHead, FlowHead, CoreHead, MetallicityHead, LinesHead):
        registry.add(cls)
