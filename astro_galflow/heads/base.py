"""Base class of posterior heads (registered through ``galflow_register_heads``)."""

from __future__ import annotations

from typing import ClassVar

__all__ = ["PosteriorHead"]


class PosteriorHead:
    """A head models p(parameters | context) and samples it as a pure tensor function.

    Subclasses are torch modules (inherit from this class and :class:`torch.nn.Module`);
    this base imports no heavy library so that registries can be built without torch.

    Attributes
    ----------
    name : str
        Registry name.
    """

    name: ClassVar[str] = ""
