"""The pipeline stage: mask every sample as the index's reader role may see it.

Before an event is indexed its result samples, bind parameters, response samples and query
string are masked by the policy *as seen by* ``index_view_role`` (default ``soc_analyst``), so no
plaintext that the policy masks for that role reaches an index. The document records what was
masked and how: ``parasol.masked`` (field names, alongside what the understand stage cut) and
``parasol.masking.fields`` (``"db.result_sample.mobile:partial"``, a list — a dict keyed by column
names would add one index mapping per column ever seen).
"""

from __future__ import annotations

from detectors.masking.engine import MaskingEngine
from detectors.masking.model import Subject

__all__ = ["MaskSamples"]

_SAMPLE_FIELDS = ("db.result_sample", "db.parameters", "http.response.sample", "url.query")


class MaskSamples:
    """``event → event`` with its samples masked for ``subject``."""

    def __init__(self, engine: MaskingEngine, subject: Subject):
        self.engine = engine
        self.subject = subject

    def __call__(self, event: dict) -> dict:
        self.engine.mask_document_samples(event, self.subject)
        p = event.get("parasol")
        masking = p.get("masking") if isinstance(p, dict) else None
        if isinstance(masking, dict) and isinstance(masking.get("fields"), dict):
            fields = masking["fields"]
            masking["fields"] = [f"{k}:{v}" for k, v in sorted(fields.items())]
            masked = p.setdefault("masked", [])
            touched = {f for k in fields for f in _SAMPLE_FIELDS if k == f or k.startswith(f + ".")}
            masked.extend(sorted(touched - set(masked)))
        return event
