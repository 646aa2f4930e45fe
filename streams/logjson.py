"""JSON log lines (ECS field names) for log shippers: ``PARASOL_LOG_FORMAT=json``.

One object per line: ``@timestamp``, ``log.level``, ``log.logger``, ``message``,
``process.pid``, ``event.id`` and ``alert.id`` when the record carries them (``extra={"event_id":
…, "alert_id": …}``: an alert's line names its latest evidence event), and
``error.*`` for exceptions.

>>> import logging
>>> rec = logging.LogRecord("parasol.worker", logging.INFO, "x.py", 1, "dead letter %s", ("p/1/2",), None)
>>> rec.event_id = "e1"
>>> line = orjson.loads(JsonFormatter().format(rec))
>>> line["message"], line["log.level"], line["event.id"]
('dead letter p/1/2', 'info', 'e1')
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson

__all__ = ["JsonFormatter", "logging_config"]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "@timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "log.level": record.levelname.lower(),
            "log.logger": record.name,
            "message": record.getMessage(),
            "process.pid": record.process,
        }
        event_id = getattr(record, "event_id", None)
        if event_id:
            doc["event.id"] = event_id
        alert_id = getattr(record, "alert_id", None)
        if alert_id:
            doc["alert.id"] = alert_id
        if record.exc_info:
            doc["error.type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            doc["error.stack_trace"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def logging_config(level: str) -> dict:
    """A ``logging.config.dictConfig`` that writes JSON lines to stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
    }
