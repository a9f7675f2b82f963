"""Resume journal: which chunks of a run are finished, written atomically.

The journal is a small JSON file in the run's parts directory. It is keyed by the
identity of the input file (resolved path, size, modification time) and by the run
configuration, so a rerun continues only the *same* run; anything else is refused
instead of silently mixing outputs. Every update is written to a temporary file and
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

__all__ = ["RunKey", "Journal", "JOURNAL_NAME", "file_identity", "run_identity"]

JOURNAL_NAME = "journal.json"
_VERSION = 1


def file_identity(path) -> dict:
    """Resolved path, size and modification time of ``path`` (what makes it "the same input")."""
    path = Path(path).resolve()
    stat = path.stat()
    return {"path": os.fspath(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def run_identity(config) -> dict:
    """The parts of a :class:`~astro_galflow.config.GalflowConfig` that change the output.

    The command line (recorded for provenance) is left out, so adding ``--resume`` to the
    same command continues the run.
    """
    return config.numeric_identity()


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
            configuration or chunk size), naming what differs.
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
            differs = [name for name in ("input", "config", "chunk_rows") if stored.get(name) != getattr(key, name)]
            raise InputError(
                f"{os.fspath(directory)!r} holds a partial run of a different {' and '.join(differs) or 'run'}; "
                "rerun with the same input, configuration and chunk size, or pass overwrite=True (--overwrite) to start over"
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
