"""The rule stage: a rule pack as data, evaluated in-stream on event time.

``RuleEngine(rules, exceptions)`` turns enriched events (and UEBA anomaly alerts) into risk
alerts; rules are YAML files (``data/rules``) or Sigma rules (``data/sigma``); playbooks map
alerts to response actions; every piece of per-entity state is plain JSON for a Faust table.
"""

from __future__ import annotations

from detectors.rules.actions import ACTION_TYPES, Playbook, Playbooks
from detectors.rules.annotate import Annotator, annotate
from detectors.rules.casebook import failures as rule_test_failures
from detectors.rules.conditions import Condition, ConditionError, parse_condition
from detectors.rules.engine import RuleEngine, entity_key
from detectors.rules.export import export_es
from detectors.rules.loader import RuleLoadError, load_rules
from detectors.rules.model import Rule, RuleError
from detectors.rules.scoring import EntityRisk, alert_score, risk_level, severity_of
from detectors.rules.sigma import SigmaError, load_sigma, sigma_rules
from detectors.rules.sqli import SqliDetector, sqli_signals
from detectors.rules.suppression import RuleException, exception_from_verdict, load_exceptions

__all__ = [
    "ACTION_TYPES", "Annotator", "Condition", "ConditionError", "EntityRisk", "Playbook",
    "Playbooks", "Rule", "RuleEngine", "RuleError", "RuleException", "RuleLoadError",
    "SigmaError", "SqliDetector", "alert_score", "annotate", "entity_key",
    "exception_from_verdict", "export_es", "load_exceptions", "load_rules", "load_sigma",
    "parse_condition", "risk_level", "rule_test_failures", "severity_of", "sigma_rules",
    "sqli_signals",
]
