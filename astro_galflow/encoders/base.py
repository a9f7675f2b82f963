"""Base class of encoders (registered through ``galflow_register_encoders``)."""

from __future__ import annotations

from typing import ClassVar

__all__ = ["Encoder"]


class Encoder:
    """An encoder maps one kind of input to a feature vector per galaxy.

    Subclasses that are torch modules inherit from both this class and
    :class:`torch.nn.Module`; this base imports no heavy library so that registries can
    be built without torch.

    Attributes
    ----------
    name : str
        Registry name.
    input_kind : str
        ``"image"`` (cutouts) or ``"photometry"`` (catalog magnitudes).
    """

    name: ClassVar[str] = ""
    input_kind: ClassVar[str] = ""

    @classmethod
    def for_model(cls, image: dict):
        """The encoder a model card's ``architecture.image`` entry describes (weights not loaded)."""
        raise NotImplementedError(f"encoder {cls.name!r} cannot be built from a model card")

    def feature_module(self):
        """The pure ``inputs -> features`` torch module the run compiles and calls."""
        raise NotImplementedError(f"encoder {self.name!r} has no feature module")
