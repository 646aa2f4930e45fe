"""Recognizers written as classes (checksums with score rules, dictionaries, grammars).

Simple ones (a pattern, an optional named validator, context words, a score) are data:
``detectors/sensitive/data/recognizers.yaml``, loaded by :mod:`detectors.sensitive.loader`.
"""

from __future__ import annotations

from detectors.sensitive.recognizers.cn_contact import CnLandlineRecognizer, CnMobileRecognizer
from detectors.sensitive.recognizers.cn_ids import CnResidentIdRecognizer, CnUsccRecognizer
from detectors.sensitive.recognizers.cn_text import CnAddressRecognizer, CnNameRecognizer
from detectors.sensitive.recognizers.finance import BankCardRecognizer

__all__ = [
    "CLASS_RECOGNIZERS",
    "BankCardRecognizer",
    "CnAddressRecognizer",
    "CnLandlineRecognizer",
    "CnMobileRecognizer",
    "CnNameRecognizer",
    "CnResidentIdRecognizer",
    "CnUsccRecognizer",
]

#: Every class-based recognizer, in the order the scanner runs them.
CLASS_RECOGNIZERS = (
    CnResidentIdRecognizer,
    CnUsccRecognizer,
    CnMobileRecognizer,
    CnLandlineRecognizer,
    BankCardRecognizer,
    CnNameRecognizer,
    CnAddressRecognizer,
)
