"""Keep personal data out of every index until a masking policy decides per column.

Result samples (``db.result_sample``, ``http.response.sample``) and bind parameters
(``db.parameters``) may hold personal data. Without a
policy the safe default is to keep their shape (column names, nulls, types) and redact every value.

>>> redact_samples({"http": {"response": {"sample": {"name": "张三", "tags": ["a"], "n": 3}}}})
{'http': {'response': {'sample': {'name': '***', 'tags': ['***'], 'n': '***'}}}, 'parasol': {'masked': ['http.response.sample']}}
"""

from __future__ import annotations

from typing import Any

__all__ = ["redact_samples", "REDACTED"]

REDACTED = "***"


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return None if value is None else REDACTED


def redact_samples(event: dict) -> dict:
    """Redact every value of the result samples in place and record which fields were masked."""
    masked = []
    db = event.get("db")
    if isinstance(db, dict):
        for field in ("result_sample", "parameters"):  # bind parameters are values too
            if db.get(field) is not None:
                db[field] = _redact(db[field])
                masked.append(f"db.{field}")
    response = event.get("http", {}).get("response") if isinstance(event.get("http"), dict) else None
    if isinstance(response, dict) and response.get("sample") is not None:
        response["sample"] = _redact(response["sample"])
        masked.append("http.response.sample")
    if masked:
        event.setdefault("parasol", {}).setdefault("masked", []).extend(masked)
    return event
