"""Sensitive-data detection: recognizers (patterns + checksums + context), column-name hints,
and classification/grading (GB/T 43697-2024, JR/T 0197-2020, GB/T 35273-2020) as data.

Pure analytics: no Kafka, Faust or Elasticsearch. The stream calls :func:`scan_record` /
:func:`scan_value` per event and :func:`classify_column` when cataloguing assets.

>>> [(f.entity, round(f.score, 2)) for f in scan_value("手机号：13812345678")]
[('CN_MOBILE', 1.0)]
"""

from __future__ import annotations

from detectors.sensitive.base import Finding, Pattern, PatternError, PatternRecognizer, Recognizer
from detectors.sensitive.hints import ColumnHints, HintMatch
from detectors.sensitive.loader import DataError, SensitiveData, load_all, load_hints, load_taxonomy
from detectors.sensitive.scanner import (
    ColumnClassification,
    ColumnFindings,
    RecordFindings,
    Scanner,
    classify_column,
    default_scanner,
    scan_record,
    scan_value,
)
from detectors.sensitive.taxonomy import Grade, Taxonomy

__all__ = [
    "ColumnClassification",
    "ColumnFindings",
    "ColumnHints",
    "DataError",
    "Finding",
    "Grade",
    "HintMatch",
    "Pattern",
    "PatternError",
    "PatternRecognizer",
    "Recognizer",
    "RecordFindings",
    "Scanner",
    "SensitiveData",
    "Taxonomy",
    "classify_column",
    "default_scanner",
    "load_all",
    "load_hints",
    "load_taxonomy",
    "scan_record",
    "scan_value",
]
