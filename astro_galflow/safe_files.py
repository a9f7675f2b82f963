"""Reading files named by users or by data: only regular files, of a sane size, in their place.

A path handed to the host (a model directory's weights, a card, a catalog, a cutouts
file) may be a symlink to ``/dev/zero`` or a FIFO, on which hashing or reading never ends,
or a multi-gigabyte file where a few kilobytes are expected. A path written *inside* data
(a catalog's ``meta["cutouts_file"]``) may point anywhere (``/etc/passwd``, ``../../x``).
:func:`regular_file` refuses the first kind before a byte is read, and
:func:`confined_path` the second.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from astro_galflow.exceptions import InputError

__all__ = ["MAX_CARD_BYTES", "MAX_WEIGHTS_BYTES", "confined_path", "read_text", "regular_file"]

#: Largest ``card.json`` read (a shipped card is ~60 kB, mostly training history).
MAX_CARD_BYTES = 16 * 2**20
#: Largest weights file read (the shipped members are ~2 MB; a ViT-L encoder is ~1.2 GB).
MAX_WEIGHTS_BYTES = 8 * 2**30


def regular_file(path, *, what: str, max_bytes: int | None = None, error: type[Exception] = InputError) -> Path:
    """``path`` if it is (or links to) a regular file of at most ``max_bytes``; else raise.

    Parameters
    ----------
    path : path-like
    what : str
        What the file is, for the message (``"weights file"``, ``"model card"``).
    max_bytes : int, optional
        Size limit; None for none.
    error : type
        Exception raised (an :class:`InputError` or a :class:`ModelError`).

    Raises
    ------
    error
        Naming the file when it is missing, not a regular file (device, FIFO, directory,
        socket) or larger than ``max_bytes``.
    """
    path = Path(path)
    try:
        info = path.stat()  # follows symlinks: a link to a regular file is fine
    except FileNotFoundError:
        raise error(f"{what} {os.fspath(path)!r} does not exist") from None
    except OSError as exc:
        raise error(f"{what} {os.fspath(path)!r} cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file (device, FIFO or socket)"
        raise error(f"{what} {os.fspath(path)!r} is {kind}")
    if max_bytes is not None and info.st_size > max_bytes:
        raise error(f"{what} {os.fspath(path)!r} is {info.st_size} bytes; more than the {max_bytes} a {what} may have")
    return path


def read_text(path, *, what: str, max_bytes: int, error: type[Exception] = InputError) -> str:
    """Text of a regular file checked by :func:`regular_file` (UTF-8)."""
    path = regular_file(path, what=what, max_bytes=max_bytes, error=error)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{what} {os.fspath(path)!r} cannot be read: {exc}") from None


def confined_path(name, directory, *, what: str) -> Path:
    """``directory / name`` if it stays inside ``directory`` (after resolving links); else raise.

    For file names that come from data, such as a catalog's ``meta["cutouts_file"]``:
    an absolute name or one that climbs out with ``..`` is refused, so a catalog cannot
    make the host open an arbitrary file. A user who means such a file passes it
    explicitly (``--cutouts``).

    Raises
    ------
    InputError
        Naming the value and the directory.
    """
    directory = Path(directory).resolve()
    text = os.fspath(name)
    candidate = (directory / text).resolve()
    if Path(text).is_absolute() or not candidate.is_relative_to(directory):
        raise InputError(
            f"{what} {text!r} lies outside the catalog's directory {os.fspath(directory)!r}; "
            "pass the file explicitly (--cutouts) if it is meant"
        )
    return candidate
