"""On-disk cache of serialized TensorRT engines.

An engine is only valid for the weights, GPU model, compute capability, TensorRT version,
shape profile and precision it was built with, so all of these form the key, together
with what the engine is (its ``role``, ``"sampler"`` or ``"encoder"``), the fixed shape of
an input row (an encoder's ``(bands, height, width)``) and any graph constant that is
not a weight (``variant``: the encoder's asinh softening). Each entry is
``<digest>.engine`` plus ``<digest>.json`` holding the full key and the SHA-256 of the
engine bytes. A sidecar naming another key (a copied or hand-edited cache) is treated as
a miss and the engine rebuilt; an unreadable sidecar or engine whose hash does not match
is deleted with an :class:`EngineCacheWarning`.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from astro_galflow.exceptions import GalflowWarning

__all__ = ["EngineKey", "EngineCache", "EngineCacheWarning", "default_cache_dir"]

ENV_CACHE_DIR = "GALFLOW_TENSORRT_CACHE"


class EngineCacheWarning(GalflowWarning):
    """A cached engine was unusable and has been discarded."""


def default_cache_dir() -> Path:
    """``$GALFLOW_TENSORRT_CACHE``, else ``$XDG_CACHE_HOME/astro_galflow/tensorrt`` (``~/.cache`` default)."""
    if os.environ.get(ENV_CACHE_DIR):
        return Path(os.environ[ENV_CACHE_DIR])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "astro_galflow" / "tensorrt"


@dataclass(frozen=True)
class EngineKey:
    """Everything an engine depends on.

    Parameters
    ----------
    weights_hash : str
        :func:`astro_galflow.backends.export.weights_hash` of the module.
    gpu_name : str
    compute_capability : tuple of int
    tensorrt_version : str
    profile : dict
        ``as_dict()`` of the engine's shape profile.
    precision : str
    role : {"sampler", "encoder"}
        What the engine computes (the hook's ``role``).
    input_shape : tuple of int
        Fixed (non-batch) shape of an input row; empty for samplers, whose feature sizes
        follow from the weights.
    variant : str
        Graph constants that are not weights, e.g. ``"softening=0.02"``.
    """

    weights_hash: str
    gpu_name: str
    compute_capability: tuple[int, int]
    tensorrt_version: str
    profile: dict
    precision: str
    role: str = "sampler"
    input_shape: tuple[int, ...] = ()
    variant: str = ""

    def as_dict(self) -> dict:
        """JSON-serialisable form (tuples as lists)."""
        data = asdict(self)
        data["compute_capability"] = list(self.compute_capability)
        data["input_shape"] = list(self.input_shape)
        return data

    def digest(self) -> str:
        """SHA-256 of the canonical JSON of the key."""
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()


class EngineCache:
    """Directory of engines keyed by :class:`EngineKey`.

    Parameters
    ----------
    directory : str or pathlib.Path, optional
        Default :func:`default_cache_dir`.
    """

    def __init__(self, directory=None):
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def _paths(self, key: EngineKey) -> tuple[Path, Path]:
        digest = key.digest()
        return self.directory / f"{digest}.engine", self.directory / f"{digest}.json"

    def _discard(self, key: EngineKey, reason: str) -> None:
        for path in self._paths(key):
            path.unlink(missing_ok=True)
        warnings.warn(
            f"discarded the cached TensorRT engine {self._paths(key)[0]} ({reason}); it will be rebuilt",
            EngineCacheWarning,
            stacklevel=3,
        )

    def load(self, key: EngineKey) -> bytes | None:
        """Serialized engine for ``key``, or None if absent, stale or corrupt."""
        engine_path, meta_path = self._paths(key)
        if not engine_path.is_file() or not meta_path.is_file():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            stored_key, stored_sha = meta["key"], meta["sha256"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self._discard(key, f"unreadable metadata: {exc}")
            return None
        if stored_key != key.as_dict():
            return None
        blob = engine_path.read_bytes()
        if hashlib.sha256(blob).hexdigest() != stored_sha:
            self._discard(key, "the engine file does not match its recorded SHA-256")
            return None
        return blob

    def discard(self, key: EngineKey, reason: str) -> None:
        """Delete the entry of ``key`` with a warning (e.g. TensorRT could not deserialize it)."""
        self._discard(key, reason)

    def store(self, key: EngineKey, blob: bytes) -> Path:
        """Write an engine atomically; return its path."""
        self.directory.mkdir(parents=True, exist_ok=True)
        engine_path, meta_path = self._paths(key)
        for path, data in (
            (engine_path, bytes(blob)),
            (meta_path, json.dumps({"key": key.as_dict(), "sha256": hashlib.sha256(blob).hexdigest()}).encode()),
        ):
            tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return engine_path
