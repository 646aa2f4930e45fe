"""The in-process enrichment chain: pure stages that each take and return a normalised event.

Later capabilities (SQL understanding, classification, masking, baselines, rules) add stages here;
the stream calls :func:`enrich` once per event, so stages cost a function call, not a topic hop.

>>> e = enrich({"db": {"statement": "select phone, n from t", "result_sample": [{"phone": "13812345678", "n": None}]}})
>>> e["db"]["result_sample"], e["parasol"]["sensitive"]["entities"], e["parasol"]["masking"]["fields"]
([{'phone': '138****5678', 'n': None}], ['CN_MOBILE'], ['db.result_sample.phone:partial'])
"""

from __future__ import annotations

from typing import Callable, Iterable

from detectors.masking.engine import MaskingEngine
from detectors.masking.keys import Keyring
from detectors.masking.model import Subject
from detectors.masking.stage import MaskSamples
from detectors.understand import Understand

__all__ = ["Stage", "Enricher", "enrich", "default_stages"]

Stage = Callable[[dict], dict]


def default_stages(engine: MaskingEngine | None = None, index_view_role: str = "soc_analyst") -> tuple[Stage, ...]:
    """Stages in order: understand (SQL, classification), then masking of every sample as
    ``index_view_role`` may see it — last, so no later stage can put plaintext back.
    Without an ``engine``, the packaged policy with a throw-away key (pseudonyms then change
    per process: the stream passes one built from settings)."""
    engine = engine or MaskingEngine(keyring=Keyring.ephemeral())
    return (Understand(), MaskSamples(engine, Subject("parasol-indexer", (index_view_role,))))


class Enricher:
    """Runs stages in order; a stage returns the (possibly same) event dict."""

    def __init__(self, stages: Iterable[Stage] | None = None):
        self.stages = tuple(stages) if stages is not None else default_stages()

    def __call__(self, event: dict) -> dict:
        for stage in self.stages:
            event = stage(event)
        return event


enrich = Enricher()
