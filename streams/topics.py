"""Contract topics (CONTRACT.md) as Faust topic objects; raw bytes in and out."""

from __future__ import annotations

from connectors.settings import TOPICS
from streams.app import app, settings
from streams.processing import KINDS

__all__ = ["alert_feedback", "by_address", "dlq", "inputs", "masking_requests", "observations", "outputs", "risk_levels"]


def _topic(name: str):
    return app.topic(settings.topic(name), key_type=bytes, value_type=bytes, partitions=settings.partitions)


#: Input kind (``db``/``api``) → its contract topic.
inputs = {kind: _topic(name) for kind, name in KINDS.items()}
dlq = _topic("dlq")
#: Internal: asset evidence per batch, keyed by asset key (feeds the catalogue table).
observations = _topic("asset_observations")
#: Subjects' risk levels (compacted, keyed by user).
risk_levels = _topic("risk_levels")
#: Every contract output topic, by name (``alerts``, ``actions``, ``masking_decisions``).
outputs = {name: _topic(name) for name in TOPICS if name in ("alerts", "actions", "masking_decisions")}
masking_requests = _topic("masking_requests")
#: Analysts' verdicts (`parasol alerts close`), keyed by user like the inputs.
alert_feedback = _topic("alert_feedback")
#: Events for the rules keyed by client address, re-keyed by source.ip.
by_address = _topic("by_address")
