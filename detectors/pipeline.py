"""The in-process enrichment chain: pure stages that each take and return a normalised event.

Later capabilities (SQL understanding, classification, masking, baselines, rules) add stages here;
the stream calls :func:`enrich` once per event, so stages cost a function call, not a topic hop.

>>> e = enrich({"db": {"statement": "select phone, n from t", "result_sample": [{"phone": "13812345678", "n": None}]}})
>>> e["db"]["result_sample"], e["parasol"]["sensitive"]["entities"]
([{'phone': '***', 'n': None}], ['CN_MOBILE'])
"""

from __future__ import annotations

from typing import Callable, Iterable

from detectors.redaction import redact_samples
from detectors.understand import Understand

__all__ = ["Stage", "Enricher", "enrich", "default_stages"]

Stage = Callable[[dict], dict]


def default_stages() -> tuple[Stage, ...]:
    """Stages in order: understand (SQL, classification), then redaction — last, so no later
    stage can put plaintext back."""
    return (Understand(), redact_samples)


class Enricher:
    """Runs stages in order; a stage returns the (possibly same) event dict."""

    def __init__(self, stages: Iterable[Stage] | None = None):
        self.stages = tuple(stages) if stages is not None else default_stages()

    def __call__(self, event: dict) -> dict:
        for stage in self.stages:
            event = stage(event)
        return event


enrich = Enricher()
