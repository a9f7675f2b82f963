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

    @classmethod
    def build(cls, context_dim: int, parameter_names=None, **kwargs):
        """An instance with default options for ``parameter_names`` (the head contract's constructor)."""
        raise NotImplementedError(f"head {cls.name!r} does not implement build()")

    @classmethod
    def for_model(
        cls,
        context_dim: int,
        parameter_names,
        *,
        condition_dim: int = 0,
        n_couplings: int = 12,
        flow_hidden: int = 64,
        scalar_layers: int = 2,
    ):
        """The head of one slot of a :class:`~astro_galflow.heads.network.JointNetwork`.

        Called with the model card's architecture when a model is built from the names
        its card gives; a head that ignores the flow sizes may keep this default.

        Parameters
        ----------
        context_dim : int
            Width of the shared context.
        parameter_names : tuple of str
            Parameters of the slot, in sample order.
        condition_dim : int
            Number of values of the slots before this one; a head that is conditioned on
            them (``condition_dim`` attribute > 0) receives their samples.
        n_couplings, flow_hidden, scalar_layers : int
            Flow sizes from the model card.
        """
        return cls.build(context_dim, parameter_names)
