"""The in-process enrichment chain: pure stages that each take and return a normalised event.

Later capabilities (SQL understanding, classification, masking, baselines, rules) add stages here;
the stream calls :func:`enrich` once per event, so stages cost a function call, not a topic hop.

>>> enrich({"db": {"result_sample": [{"phone": "13812345678", "n": None}]}})["db"]["result_sample"]
[{'phone': '***', 'n': None}]
"""

from __future__ import annotations

from typing import Callable, Iterable

from detectors.redaction import redact_samples

__all__ = ["Stage", "Enricher", "enrich", "DEFAULT_STAGES"]

Stage = Callable[[dict], dict]

#: Stages in order. ``redact_samples`` is last so no later stage can put plaintext back.
DEFAULT_STAGES: tuple[Stage, ...] = (redact_samples,)


class Enricher:
    """Runs stages in order; a stage returns the (possibly same) event dict."""

    def __init__(self, stages: Iterable[Stage] = DEFAULT_STAGES):
        self.stages = tuple(stages)

    def __call__(self, event: dict) -> dict:
        for stage in self.stages:
            event = stage(event)
        return event


enrich = Enricher()
