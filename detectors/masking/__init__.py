"""Dynamic data masking: policy as data, masking methods, and per-column decisions.

* :mod:`detectors.masking.policy` — the YAML policy (validated, versioned, explainable);
* :mod:`detectors.masking.methods` — partial, redact, hash, tokenize (format-preserving,
  reversible), generalize, nullify;
* :mod:`detectors.masking.keys` — the :class:`Keyring` of masking keys;
* :mod:`detectors.masking.engine` — :class:`MaskingEngine`: decisions per column and per SQL
  statement (column lineage, probing predicates, bulk reads, risk-adaptive), cached, and the
  maskers of result rows and event samples.

Pure: no Kafka, Faust or Elasticsearch imports.

>>> eng = MaskingEngine(keyring=Keyring({"k1": b"0123456789abcdef"}))
>>> r = Resource("pg-crm-01", "crm", "customers", "mobile", "CN_MOBILE")
>>> eng.decide(Subject("li.na", ["support"]), r, "2026-11-27T03:00:00Z").method
'partial'
>>> eng.decide(Subject("li.na", ["support"], risk_level="high"), r, "2026-11-27T03:00:00Z").method
'redact'
"""

from __future__ import annotations

from detectors.masking.engine import (
    MaskingEngine,
    NotAuthorized,
    StatementDecision,
    hint_classifier,
    is_bulk,
)
from detectors.masking.keys import Keyring, UnknownKey
from detectors.masking.methods import (
    METHODS,
    REDACTED,
    apply,
    detokenize,
    generalize,
    keyed_hash,
    nullify,
    partial,
    redact,
    tokenize,
)
from detectors.masking.model import Decision, Resource, Subject
from detectors.masking.policy import (
    DEFAULT_POLICY_PATH,
    Explanation,
    Policy,
    PolicyError,
    default_policy,
    load_policy,
    parse_policy,
)

__all__ = [
    "DEFAULT_POLICY_PATH",
    "METHODS",
    "REDACTED",
    "Decision",
    "Explanation",
    "Keyring",
    "MaskingEngine",
    "NotAuthorized",
    "Policy",
    "PolicyError",
    "Resource",
    "StatementDecision",
    "Subject",
    "UnknownKey",
    "apply",
    "default_policy",
    "detokenize",
    "generalize",
    "hint_classifier",
    "is_bulk",
    "keyed_hash",
    "load_policy",
    "nullify",
    "parse_policy",
    "partial",
    "redact",
    "tokenize",
]
