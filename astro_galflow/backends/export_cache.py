"""On-disk cache of ONNX exports, so that a model is exported once per machine, not per run.

The dynamo exporter takes 20--50 s on two cores for the shipped ensembles -- longer than
inferring a few thousand galaxies. Exports are therefore kept in a cache directory, one
file per graph, named by what determines the graph: the kind (``sampler``/``encoder``),
:func:`~astro_galflow.backends.export.weights_hash` of the module (class, names, shapes and
values of every parameter and buffer), whether it was restructured, the torch and
onnxscript versions that wrote it and the opset. A changed weight or library gives a new
name, never a stale graph. Files are written under a temporary name and renamed into
place, so concurrent runs (Dask workers, ``pytest -n``) never read half a file.

Where the cache lives, in order: the backend option ``onnx_cache_dir`` (a directory;
``""``, ``None`` or ``False`` disables caching), the environment variable
``GALFLOW_CACHE_DIR`` (its ``onnx/`` subdirectory; empty disables), else
``astropy.config.get_cache_dir_path("astro_galflow") / "onnx"`` (``~/.cache/astro_galflow``
or ``~/.astro_galflow/cache``, as astropy decides). A directory that cannot be written
costs only the cache: the export then stays in memory, with a warning.
"""

from __future__ import annotations

import contextlib
import os
import uuid
import warnings
from pathlib import Path

from astro_galflow.exceptions import GalflowWarning

__all__ = ["CACHE_ENV", "cache_dir_from", "cached_export", "default_cache_dir", "export_key", "open_cached"]

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
    import onnxscript
    import torch

    from astro_galflow.backends.export import DEFAULT_OPSET, weights_hash

    parts = [kind, weights_hash(module), variant, f"torch{torch.__version__}", f"onnxscript{onnxscript.__version__}"]
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
    if path.is_file():
        return path
    scratch = path.with_name(f".{uuid.uuid4().hex}.{key}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        export(scratch)
        os.replace(scratch, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            scratch.unlink(missing_ok=True)
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
        return opener(graph)
    except Exception as exc:  # ORT raises its own pybind exception types for bad files
        if not isinstance(graph, Path):
            raise
        graph.unlink(missing_ok=True)
        warnings.warn(
            f"discarded the unreadable cached export {graph} ({type(exc).__name__}); exporting again",
            GalflowWarning,
            stacklevel=2,
        )
        return opener(cached_export(key, export, cache_dir))
