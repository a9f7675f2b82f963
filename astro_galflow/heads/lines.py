"""The emission-line head: log1p-space means plus a 4-D conditional RealNVP.

Siddiqa et al. (2025, §2.3) model Hα, Hβ, [N II] 6584 and [O III] 5007 as MLP means in
``log1p(flux)`` space plus a 12-coupling conditional RealNVP on the residuals. The
``log1p`` transform belongs to the parameters (:mod:`astro_galflow.params`), so this head
only sees standardised model-space values.
"""

from __future__ import annotations

from astro_galflow.heads.core import FlowHead
from astro_galflow.params import LINE_PARAMETERS

__all__ = ["LinesHead"]


class LinesHead(FlowHead):
    """Mean MLP + conditional RealNVP on the (subset of the) four line fluxes."""

    name = "lines"

    def __init__(self, context_dim: int, parameter_names=LINE_PARAMETERS, **kwargs):
        super().__init__(parameter_names, context_dim, **kwargs)

    @classmethod
    def build(cls, context_dim: int, parameter_names=None, **kwargs) -> LinesHead:
        """An instance with default options (``parameter_names`` default: the four lines)."""
        return cls(context_dim, parameter_names or LINE_PARAMETERS, **kwargs)
