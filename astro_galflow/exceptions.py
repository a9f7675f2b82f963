"""Exception and warning classes of astro_galflow."""

from __future__ import annotations

from astropy.utils.exceptions import AstropyUserWarning

__all__ = [
    "SourceError",
    "GalflowError",
    "InputError",
    "MissingColumnError",
    "ModelError",
    "OutputError",
    "GalflowWarning",
]


class GalflowError(Exception):
    """Base class of astro_galflow errors."""


class InputError(GalflowError, ValueError):
    """An input table, file or array cannot be used (the message names column/row/file)."""


class MissingColumnError(InputError, KeyError):
    """Columns the run needs are absent from the input table."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class OutputError(GalflowError, OSError):
    """An output file cannot be written (the message names the file and the cause)."""


class SourceError(GalflowError, RuntimeError):
    """A data source could not deliver what was asked (names the service and query)."""


class ModelError(GalflowError):
    """A model cannot be found, loaded or verified (e.g. sha256 mismatch)."""


class GalflowWarning(AstropyUserWarning):
    """Warnings about inputs or results that are usable but need attention."""
