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
