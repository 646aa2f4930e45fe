"""Tailer checkpoints: which file (fingerprint) and how far, written atomically.

The offset is a *commit point*: every event that starts before it has been acknowledged by
Kafka. A restart re-reads from there; events re-read get the same ``event.id``, so the
duplicates that at-least-once delivery allows are harmless downstream.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

__all__ = ["Checkpoint", "CheckpointStore"]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    fingerprint: str
    path: str
    offset: int
    log_format: str = ""
    updated: float = 0.0


class CheckpointStore:
    """One JSON file per tailed path. ``save`` is atomic (temp file, fsync, rename, fsync dir).

    >>> import tempfile
    >>> store = CheckpointStore(Path(tempfile.mkdtemp()) / "cp.json")
    >>> store.save(Checkpoint("ab12", "/var/log/x.log", 42)); store.load().offset
    42
    """

    def __init__(self, file: str | os.PathLike):
        self.file = Path(file)

    def load(self) -> Checkpoint | None:
        try:
            data = orjson.loads(self.file.read_bytes())
            return Checkpoint(**{k: data[k] for k in Checkpoint.__dataclass_fields__ if k in data})
        except FileNotFoundError:
            return None

    def save(self, cp: Checkpoint) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(cp) | {"updated": time.time()}
        fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=self.file.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(orjson.dumps(data, option=orjson.OPT_INDENT_2))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.file.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself must survive a crash
        finally:
            os.close(dir_fd)
