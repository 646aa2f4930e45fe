"""Follow a log file across rotation and restarts, yielding complete lines with byte offsets.

File identity
    A file is known by a fingerprint of its first line (blake2b over at most 1 KiB), not by its
    name or inode: a rename-rotated file keeps its fingerprint under its new name, a
    copytruncate copy has the same fingerprint as the original had (same first line, same
    offsets, so re-read events get the same ids), and a truncated file gets a new one as soon as
    its new first line is complete. Offsets are byte offsets within that file.

Rotation while following
    *rename* (logrotate's default, PostgreSQL's own rotation to a new name): when the path now
    names another inode, the old descriptor is read to its end first, then the new file is
    opened at 0. *copytruncate*: when the file shrinks below the read position, reading restarts
    at 0 under a new fingerprint (lines written between logrotate's copy and its truncate are
    lost — copytruncate's known race, not ours). A final line without a newline in a file that
    has been rotated away is delivered as it is; in the live file it waits for its newline.

Restart
    :meth:`Follower.resume` takes a checkpoint (fingerprint + offset). If the live file has that
    fingerprint, reading continues at the offset; otherwise the rotated sibling with that
    fingerprint (``access.log.1``, ``postgresql-….json``) is finished first, then the live file is
    read from its start. Memory is bounded by ``read_size`` and ``max_line``: a longer line is cut
    and reported as too long instead of growing the buffer.
"""

from __future__ import annotations

import glob
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from connectors.sources.base import Line

__all__ = ["Follower", "Position", "fingerprint_of", "FINGERPRINT_BYTES"]

FINGERPRINT_BYTES = 1024


@dataclass(frozen=True, slots=True)
class Position:
    """Where reading stands: which file (by fingerprint), its current name, the byte offset."""

    fingerprint: str
    path: str
    offset: int


def fingerprint_of(first_line: bytes) -> str:
    return hashlib.blake2b(first_line[:FINGERPRINT_BYTES], digest_size=10).hexdigest()


def _read_first_line(path: str) -> bytes | None:
    """The file's first complete line (capped), or None while it has none."""
    try:
        with open(path, "rb") as f:
            head = f.read(FINGERPRINT_BYTES + 1)
    except OSError:
        return None
    nl = head.find(b"\n")
    if nl >= 0:
        return head[:nl]
    return head[:FINGERPRINT_BYTES] if len(head) > FINGERPRINT_BYTES else None


class Follower:
    """Reads ``path`` (a file, or a glob whose newest match is the live file) line by line.

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "a.log")
    >>> _ = open(p, "wb").write(b"one\\ntwo\\npart")
    >>> f = Follower(p)
    >>> [(l.data, l.offset) for l in f.read()]
    [(b'one', 0), (b'two', 4)]
    >>> f.position.offset, f.lag_bytes()
    (8, 4)
    """

    def __init__(self, path: str | os.PathLike, read_size: int = 1 << 20, max_line: int = 8 << 20):
        self.pattern = str(path)
        self.read_size = read_size
        self.max_line = max_line
        self._fd: int | None = None
        self._ino: tuple[int, int] | None = None
        self._name: str | None = None
        self._fp: str | None = None
        self._offset = 0  # offset of the first byte not yet returned as part of a line
        self._buf = b""
        self._draining: list[str] = []  # rotated files to finish before the live one
        self.switched = False  # set when the last read moved to another file
        self.batch_fingerprint = ""  # identity of the file the last read's lines came from
        self.too_long: list[Line] = []  # cut lines, for the caller to dead-letter
        self.rotations = 0
        self.truncations = 0

    # -- which file -------------------------------------------------------------------------
    def live_path(self) -> str | None:
        """The live file: the path itself, or the newest match of a glob."""
        if any(c in self.pattern for c in "*?["):
            matches = [m for m in glob.glob(self.pattern) if os.path.isfile(m)]
            return max(matches, key=lambda m: (os.stat(m).st_mtime, m)) if matches else None
        return self.pattern if os.path.isfile(self.pattern) else None

    def _siblings(self) -> list[str]:
        live = self.live_path() or self.pattern
        base = Path(live)
        cands = set(glob.glob(str(base) + "*")) | set(glob.glob(str(base.with_suffix("")) + "*"))
        if any(c in self.pattern for c in "*?["):
            cands |= set(glob.glob(self.pattern))
        return sorted(c for c in cands if os.path.isfile(c) and not c.endswith((".gz", ".xz", ".zst", ".bz2")))

    def resume(self, fingerprint: str, offset: int) -> bool:
        """Continue from a checkpoint. Returns False when the checkpointed file is gone."""
        live = self.live_path()
        if live and self._fingerprint(live) == fingerprint:
            self._open(live, offset, fingerprint)
            return True
        for cand in self._siblings():
            if cand != live and self._fingerprint(cand) == fingerprint:
                self._open(cand, offset, fingerprint)
                self._draining = [live] if live else []
                return True
        return False

    @staticmethod
    def _fingerprint(path: str) -> str | None:
        first = _read_first_line(path)
        return None if first is None else fingerprint_of(first)

    def _open(self, name: str, offset: int, fp: str | None) -> None:
        self._close()
        self._fd = os.open(name, os.O_RDONLY)
        st = os.fstat(self._fd)
        self._ino = (st.st_dev, st.st_ino)
        self._name = name
        self._fp = fp
        self._offset = min(offset, st.st_size)
        self._buf = b""
        os.lseek(self._fd, self._offset, os.SEEK_SET)

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd = None

    def close(self) -> None:
        self._close()

    # -- reading ---------------------------------------------------------------------------
    @property
    def position(self) -> Position:
        return Position(self._fp or "", self._name or self.pattern, self._offset)

    def lag_bytes(self) -> int:
        """Bytes written to the current file and not yet returned (plus files waiting)."""
        if self._fd is None:
            live = self.live_path()
            return os.path.getsize(live) if live else 0
        size = os.fstat(self._fd).st_size
        waiting = sum(os.path.getsize(p) for p in self._draining if os.path.exists(p))
        return max(0, size - self._offset) + waiting

    def at_end(self) -> bool:
        """Everything written so far has been returned (a partial last line still waits)."""
        if self._draining:
            return False
        if self._fd is None:
            return self.live_path() is None
        return os.fstat(self._fd).st_size <= self._offset + len(self._buf)

    def read(self) -> list[Line]:
        """Complete lines available now (at most about ``read_size`` bytes of them)."""
        self.switched = False
        self.batch_fingerprint = self._fp or ""
        if self._fd is None:
            live = self._draining.pop(0) if self._draining else self.live_path()
            if live is None:
                return []
            self._open(live, 0, self._fingerprint(live))
        if self._fp is None:
            self._fp = self._fingerprint(self._name)  # type: ignore[arg-type]
            if self._fp is None:
                return []  # no complete first line yet: nothing to read anyway
        self.batch_fingerprint = self._fp
        chunk = os.read(self._fd, self.read_size)
        if chunk:
            return self._split(chunk)
        return self._at_end()

    def _split(self, chunk: bytes) -> list[Line]:
        data = self._buf + chunk if self._buf else chunk
        base = self._offset
        lines: list[Line] = []
        start = 0
        find = data.find
        while True:
            nl = find(b"\n", start)
            if nl < 0:
                break
            end = nl - 1 if nl > start and data[nl - 1] == 13 else nl  # CRLF
            lines.append(Line(data[start:end], base + start, base + nl + 1))
            start = nl + 1
        self._buf = data[start:]
        self._offset = base + start
        if len(self._buf) > self.max_line:
            # Bounded memory: a runaway line is cut here and reported; reading goes on after it.
            self.too_long.append(Line(self._buf[: 64 * 1024], self._offset, self._offset + len(self._buf)))
            self._skip_rest_of_line()
        return lines

    def _skip_rest_of_line(self) -> None:
        skipped = len(self._buf)
        self._buf = b""
        while True:
            chunk = os.read(self._fd, self.read_size)  # type: ignore[arg-type]
            if not chunk:
                self._offset += skipped  # the line goes on in data not written yet: skip that too
                return
            nl = chunk.find(b"\n")
            if nl >= 0:
                skipped += nl + 1
                self._offset += skipped
                os.lseek(self._fd, self._offset, os.SEEK_SET)  # type: ignore[arg-type]
                return
            skipped += len(chunk)

    def _at_end(self) -> list[Line]:
        """At the end of the current file: detect truncation and rotation."""
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        if size < self._offset + len(self._buf):
            self.truncations += 1
            self._offset, self._buf = 0, b""
            os.lseek(self._fd, 0, os.SEEK_SET)
            self._fp = self._fingerprint(self._name)  # type: ignore[arg-type]
            self.switched = True
            return []
        live = self._draining[0] if self._draining else self.live_path()
        if live is None:
            return []  # the path is being rotated right now: look again later
        try:
            st = os.stat(live)
        except OSError:
            return []
        if (st.st_dev, st.st_ino) == self._ino and not self._draining:
            return []  # still the live file: wait for more
        # Another file is live now: this one is finished. Its unterminated tail is a line too.
        tail: list[Line] = []
        if self._buf:
            tail.append(Line(self._buf.rstrip(b"\r"), self._offset, self._offset + len(self._buf)))
            self._offset += len(self._buf)
            self._buf = b""
        self.rotations += 1
        self._close()
        if self._draining:
            self._draining.pop(0)
        self._open(live, 0, self._fingerprint(live))
        self.switched = True
        return tail
