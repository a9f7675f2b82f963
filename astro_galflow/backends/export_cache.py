"""On-disk cache of ONNX exports, so that a model is exported once per machine, not per run.

The dynamo exporter takes 20--50 s on two cores for the shipped ensembles -- longer than
inferring a few thousand galaxies. Exports are therefore kept in a cache directory, one
file per graph, named by what determines the graph: the kind (``sampler``/``encoder``),
:func:`~astro_galflow.backends.export.weights_hash` of the module (class, names, shapes and
values of every parameter and buffer), whether it was restructured, the torch and
onnxscript versions that wrote it and the opset. A changed weight or library gives a new
name, never a stale graph. Files are written under a temporary name and renamed into
place, so concurrent runs (Dask workers, ``pytest -n``) never read half a file.

The name says which weights a graph was exported *from*, not what the file now holds: a
cached file edited afterwards (one initializer scaled) would run silently with other
weights. So the sha256 of each exported file is stored beside it (``<name>.sha256``) and
checked before the file is used; a file whose hash does not match (or that has no hash)
is discarded with a :class:`~astro_galflow.exceptions.GalflowWarning` and exported again.
:func:`graph_sha256` gives the hash of the graph a run used, for its provenance; objects
opened by :func:`open_cached` carry it as ``graph_sha256``.

Where the cache lives, in order: the backend option ``onnx_cache_dir`` (a directory;
``""``, ``None`` or ``False`` disables caching), the environment variable
``GALFLOW_CACHE_DIR`` (its ``onnx/`` subdirectory; empty disables), else
``astropy.config.get_cache_dir_path("astro_galflow") / "onnx"`` (``~/.cache/astro_galflow``
or ``~/.astro_galflow/cache``, as astropy decides). A directory that cannot be written
costs only the cache: the export then stays in memory, with a warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
import warnings
from pathlib import Path

from astro_galflow.exceptions import GalflowWarning

__all__ = [
    "CACHE_ENV",
    "cache_dir_from",
    "cached_export",
    "default_cache_dir",
    "export_key",
    "graph_sha256",
    "open_cached",
]

#: Environment variable naming the cache root (empty: no cache).
CACHE_ENV = "GALFLOW_CACHE_DIR"

_DISABLED = (None, False, "")


def default_cache_dir() -> Path | None:
    """The ONNX export cache used when no ``onnx_cache_dir`` option is given (None: disabled)."""
    root = os.environ.get(CACHE_ENV)
    if root is not None:
        return Path(root).expanduser() / "onnx" if root else None
    from astropy.config import get_cache_dir_path

    return Path(get_cache_dir_path(rootname="astro_galflow")) / "onnx"


def cache_dir_from(options: dict) -> Path | None:
    """The cache directory that backend ``options`` ask for (None: export in memory)."""
    if "onnx_cache_dir" not in options:
        return default_cache_dir()
    value = options["onnx_cache_dir"]
    return None if value in _DISABLED else Path(value).expanduser()


def export_key(kind: str, module, *, variant: str = "") -> str:
    """File name of the cached export of ``module`` (see the module docstring)."""
    from importlib.metadata import version

    import torch

    from astro_galflow.backends.export import DEFAULT_OPSET, weights_hash

    # the installed version, not onnxscript.__version__: importing the exporter costs
    # about 1.3 s (it pulls in torch.export), and a run whose exports are cached never needs it
    parts = [kind, weights_hash(module), variant, f"torch{torch.__version__}", f"onnxscript{version('onnxscript')}"]
    return "-".join(p for p in parts if p) + f"-opset{DEFAULT_OPSET}.onnx"


def cached_export(key: str, export, cache_dir: Path | None):
    """The export named ``key``: from ``cache_dir``, or written there by ``export(path)`` once.

    Parameters
    ----------
    key : str
        From :func:`export_key`.
    export : callable
        ``export(path)`` writes the graph to ``path`` and returns it; ``export(None)``
        returns the serialized graph (bytes).
    cache_dir : pathlib.Path or None
        None exports in memory every time.

    Returns
    -------
    pathlib.Path or bytes
        What ONNX Runtime's ``InferenceSession`` accepts.
    """
    if cache_dir is None:
        return export(None)
    path = Path(cache_dir) / key
    if path.is_file() and _verified(path):
        return path
    scratch = path.with_name(f".{uuid.uuid4().hex}.{key}")
    scratch_hash = _hash_path(scratch)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        export(scratch)
        scratch_hash.write_text(graph_sha256(scratch) + "\n")
        # the hash first: a reader that finds the graph always finds its hash
        os.replace(scratch_hash, _hash_path(path))
        os.replace(scratch, path)
    except OSError as exc:
        for leftover in (scratch, scratch_hash):
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)
        warnings.warn(
            f"cannot write the ONNX export cache in {str(cache_dir)!r} ({exc}); exporting in memory "
            f"(set {CACHE_ENV} or the 'onnx_cache_dir' backend option to a writable directory)",
            GalflowWarning,
            stacklevel=3,
        )
        return export(None)
    return path


def open_cached(key: str, export, cache_dir: Path | None, opener):
    """``opener(graph)`` on the cached export; an unreadable cached file is exported again.

    ``opener`` is e.g. an ONNX Runtime session factory; when it fails on a cached file
    (truncated, corrupt), the file is removed with a warning naming it and the graph is
    exported and opened once more. Failures on a fresh export propagate.
    """
    graph = cached_export(key, export, cache_dir)
    try:
        opened = opener(graph)
    except Exception as exc:  # ORT raises its own pybind exception types for bad files
        if not isinstance(graph, Path):
            raise
        _discard(graph)
        warnings.warn(
            f"discarded the unreadable cached export {graph} ({type(exc).__name__}); exporting again",
            GalflowWarning,
            stacklevel=2,
        )
        graph = cached_export(key, export, cache_dir)
        opened = opener(graph)
    with contextlib.suppress(AttributeError):  # objects with __slots__ cannot carry it
        opened.graph_sha256 = graph_sha256(graph)
    return opened


def graph_sha256(graph) -> str:
    """Hex sha256 of an exported graph: a file (:class:`~pathlib.Path`) or its bytes."""
    if isinstance(graph, (bytes, bytearray, memoryview)):
        return hashlib.sha256(graph).hexdigest()
    h = hashlib.sha256()
    with open(graph, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _hash_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _discard(path: Path) -> None:
    for stale in (path, _hash_path(path)):
        with contextlib.suppress(OSError):
            stale.unlink(missing_ok=True)


def _verified(path: Path) -> bool:
    """Whether the cached ``path`` matches its recorded hash; a mismatch is discarded with a warning."""
    try:
        recorded = _hash_path(path).read_text().strip()
    except OSError:
        recorded = None
    actual = graph_sha256(path)
    if recorded == actual:
        return True
    _discard(path)
    reason = "has no recorded sha256" if recorded is None else f"has sha256 {actual}, not the recorded {recorded}"
    warnings.warn(
        f"discarded the cached export {path}: it {reason} (modified after export?); exporting again",
        GalflowWarning,
        stacklevel=4,
    )
    return False
