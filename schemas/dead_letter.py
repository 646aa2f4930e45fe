"""Dead-letter records (topic ``parasol.dlq``): the original bytes, why they were refused, and
where they came from — a Kafka message (topic/partition/offset) or a log file (path/offset).

Shared by the stream workers and the log tailers, so operators read one format.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

__all__ = ["RAW_KEEP", "dead_letter_record", "rfc3339_now"]

RAW_KEEP = 64 * 1024


def rfc3339_now() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def dead_letter_record(
    raw: bytes | None,
    reason: str,
    error_type: str,
    message: str,
    *,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
    key: bytes | None = None,
    file: str | None = None,
    file_id: str | None = None,
    log_format: str | None = None,
) -> dict:
    """The DLQ value: the original bytes (base64), why, and where the message came from.

    Values over ``RAW_KEEP`` bytes keep only their head (``raw_truncated``): a dead letter must
    fit in the dead-letter topic, and the source offset still points at the whole message.
    From a log file, ``source`` names the file, its identity, the format and the byte offset.
    """
    raw = raw or b""
    ident = (f"{file_id}/{offset}" if file is not None else f"{topic}/{partition}/{offset}").encode()
    return {
        "@timestamp": rfc3339_now(),
        "event": {"id": hashlib.blake2b(ident, digest_size=16).hexdigest(), "kind": "pipeline_error"},
        "reason": reason,
        "error": {"type": error_type, "message": message[:2000]},
        "source": {
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "key": key.decode("utf-8", "replace") if key is not None else None,
        }
        if file is None
        else {"file": file, "file_id": file_id, "format": log_format, "offset": offset},
        "raw_base64": base64.b64encode(raw[:RAW_KEEP]).decode("ascii"),
        "raw_size": len(raw),
        "raw_truncated": len(raw) > RAW_KEEP,
    }
