"""Resume journal: which chunks of a run are finished, written atomically.

The journal is a small JSON file in the run's parts directory. It is keyed by the
identity of the input file (resolved path, size, modification time), by the model's
weights (their sha256), calibration, domain check and card, and by every setting that
changes a number (:func:`run_identity`), so a rerun continues only the *same* run; anything
else is refused, naming what differs in CLI flags, instead of silently mixing outputs. Every update is written to a temporary file and
moved over the old one with :func:`os.replace`, which is atomic on POSIX, so a run
killed at any instant leaves either the old or the new journal, never a torn one.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from astro_galflow.exceptions import InputError

__all__ = ["RunKey", "Journal", "JOURNAL_NAME", "differing_fields", "file_identity", "model_identity", "run_identity"]

JOURNAL_NAME = "journal.json"
_VERSION = 2  # 2: the key holds the model's weights, calibration and card (issue 15)


def file_identity(path) -> dict:
    """Resolved path, size and modification time of ``path`` (what makes it "the same input")."""
    path = Path(path).resolve()
    stat = path.stat()
    return {"path": os.fspath(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _digest(value) -> str | None:
    """SHA-256 of the canonical JSON of ``value`` (None stays None)."""
    if value is None:
        return None
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def model_identity(model) -> dict:
    """What makes a loaded model give the numbers it gives: weights, calibration, domain check, card.

    The weights' sha256 come from the card, which :func:`astro_galflow.models.load_model`
    checked against the files; the card's digest covers everything else it decides
    (standardisation, architecture), so a model directory replaced mid-run is noticed
    even when its name is the same.
    """
    card = model.card
    return {
        "weights": dict(card.get("sha256") or {}),
        "calibration": _digest(card.get("calibration")),
        "domain": _digest(card.get("domain")),
        "card": _digest(card),
    }


def run_identity(config, model=None) -> dict:
    """Everything of a run that changes a number in its output.

    Parameters
    ----------
    config : GalflowConfig
        Its :meth:`~astro_galflow.config.GalflowConfig.numeric_identity`: seed, sample
        count, batch size, quantiles, stored samples, calibration switch, source, backend
        and its settings, device, compact PDFs and plugin options. The command line
        (recorded for provenance) is left out, so adding ``--resume`` to the same command
        continues the run.
    model : GalflowModel, optional
        The loaded model (:func:`model_identity`) -- its weights, not its name, identify
        it. Without it, the ``config.model`` string stands in.
    """
    meta = config.numeric_identity()
    if model is not None:
        meta["model"] = model_identity(model)
        if not config.calibrate:
            meta["model"]["calibration"] = None  # not applied: cannot change a number
    return meta


#: CLI flag (or what it is) of each key field, for the message of a refused resume.
_FIELD_NAMES = {
    "config.seed": "--seed",
    "config.n_samples": "--n-samples",
    "config.batch_size": "--batch-size",
    "config.quantiles": "--quantiles",
    "config.store_samples": "--store-samples",
    "config.calibrate": "--no-calibration",
    "config.backend": "--backend",
    "config.device": "--device",
    "config.model": "--model",
    "config.source": "--source",
    "config.backend_settings.threads": "--threads",
    "config.backend_settings.rows_per_call": "--rows-per-call",
    "config.backend_settings.restructure": "--no-restructure",
    "config.compact_pdf": "compact PDF settings",
    "config.model.weights": "--model (its weights)",
    "config.model.calibration": "--model (its card's calibration)",
    "config.model.domain": "--model (its card's domain check)",
    "config.model.card": "--model (its card)",
    "input.path": "input catalog path",
    "input.size": "input catalog (its size changed)",
    "input.mtime_ns": "input catalog (it was modified since)",
    "chunk_rows": "--chunk-rows",
}


def _flatten(value, prefix: str) -> dict:
    if isinstance(value, dict) and value:
        out = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}"))
        return out
    return {prefix: value}


def differing_fields(stored: dict, key: dict) -> list[str]:
    """Names (CLI flags where there is one) of the fields in which two run keys differ."""
    a = _flatten(json.loads(json.dumps(stored, default=str)), "")
    b = _flatten(json.loads(json.dumps(key, default=str)), "")
    names = []
    for path in sorted(set(a) | set(b)):
        if a.get(path) == b.get(path):
            continue
        path = path.lstrip(".")
        label = next(
            (
                _FIELD_NAMES[p]
                for p in sorted(_FIELD_NAMES, key=len, reverse=True)
                if path == p or path.startswith(p + ".")
            ),
            None,
        )
        if label is None and path.startswith("config.options."):
            label = f"plugin option {path.removeprefix('config.options.')!r}"
        label = label or path
        if label not in names:
            names.append(label)
    return names


@dataclass(frozen=True)
class RunKey:
    """What a journal belongs to: the input file, the configuration and the chunking."""

    input: dict
    config: dict
    chunk_rows: int

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON of the key."""
        text = json.dumps(
            {"input": self.input, "config": self.config, "chunk_rows": self.chunk_rows}, sort_keys=True, default=str
        )
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Journal:
    """Finished chunks of one run, persisted in ``directory/journal.json``.

    Parameters
    ----------
    directory : path-like
        The run's parts directory.
    key : RunKey
        Identity of the run.
    n_rows : int
        Rows of the input.
    chunks : dict
        ``{chunk index: {"start", "stop", "part", "n_rows"}}`` of finished chunks.
    """

    directory: Path
    key: RunKey
    n_rows: int
    chunks: dict = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return Path(self.directory) / JOURNAL_NAME

    @classmethod
    def open(cls, directory, key: RunKey, n_rows: int) -> Journal:
        """Load the journal of ``directory`` or start an empty one.

        Raises
        ------
        InputError
            If the directory holds the journal of a different run (other input file,
            model, setting or chunk size), naming what differs in CLI flags.
        """
        directory = Path(directory)
        path = directory / JOURNAL_NAME
        if not path.exists():
            return cls(directory, key, n_rows)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(
                f"resume journal {os.fspath(path)!r} is unreadable ({exc}); remove {os.fspath(directory)!r} to start over"
            ) from exc
        if data.get("key_digest") != key.digest:
            stored = data.get("key", {})
            current = {"input": key.input, "config": key.config, "chunk_rows": key.chunk_rows}
            differs = differing_fields(stored, current) or ["journal version"]
            raise InputError(
                f"cannot resume the partial run in {os.fspath(directory)!r}: it was started with a different "
                f"{', '.join(differs)}; rerun with the same settings and --resume, or pass --overwrite to start over"
            )
        chunks = {int(k): v for k, v in data.get("chunks", {}).items()}
        return cls(directory, key, int(data["n_rows"]), chunks)

    def record(self, index: int, start: int, stop: int, part: str, n_rows: int) -> None:
        """Mark chunk ``index`` (input rows ``start:stop``, written to ``part``) finished."""
        self.chunks[int(index)] = {"start": int(start), "stop": int(stop), "part": part, "n_rows": int(n_rows)}
        self.save()

    def save(self) -> None:
        """Write the journal atomically (temporary file, fsync, :func:`os.replace`)."""
        data = {
            "version": _VERSION,
            "key_digest": self.key.digest,
            "key": {"input": self.key.input, "config": self.key.config, "chunk_rows": self.key.chunk_rows},
            "n_rows": self.n_rows,
            "chunks": {str(k): v for k, v in sorted(self.chunks.items())},
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        with open(tmp, "w") as fh:
            json.dump(data, fh, indent=1, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    @property
    def rows_done(self) -> int:
        """Input rows covered by finished chunks."""
        return sum(c["stop"] - c["start"] for c in self.chunks.values())

    def is_complete(self) -> bool:
        """True when the finished chunks tile ``0:n_rows`` exactly once."""
        spans = sorted((c["start"], c["stop"]) for c in self.chunks.values())
        position = 0
        for start, stop in spans:
            if start != position:
                return False
            position = stop
        return position == self.n_rows
