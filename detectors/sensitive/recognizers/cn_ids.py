"""Chinese identity numbers with checksums: resident ID (GB 11643) and unified social credit
code (GB 32100 with its embedded GB 11714 organisation code).

>>> [(f.entity, f.value, f.score) for f in CnResidentIdRecognizer().analyze("身份证号110101199003074514")]
[('CN_RESIDENT_ID', '110101199003074514', 1.0)]
>>> CnResidentIdRecognizer().analyze("订单号110101199003074519")  # wrong check digit
[]
>>> [round(f.score, 2) for f in CnUsccRecognizer().analyze("91110000600037341L")]
[0.95]
"""

from __future__ import annotations

from detectors.sensitive.base import Pattern, Recognizer
from detectors.sensitive.validators import (
    cn_birth_date_ok,
    cn_resident_id_15,
    gb11643,
    gb11714,
    gb32100,
)

__all__ = ["ID_NEGATIVE_CONTEXT", "CnResidentIdRecognizer", "CnUsccRecognizer"]

#: Labels of identifiers that are not personal data but share their shapes.
# fmt: off
ID_NEGATIVE_CONTEXT = (
    "订单号", "订单编号", "订单", "单号", "流水号", "交易号", "交易流水", "运单号", "快递单号", "物流单号", "工单号", "批次号",
    "序列号", "编号", "版本号", "时间戳", "请求号", "追踪号", "order", "order no", "order id", "tracking",
    "serial", "invoice", "txn", "trace", "request id", "sku", "uuid", "timestamp", "version",
)
# fmt: on

_DATE = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"


class CnResidentIdRecognizer(Recognizer):
    """18-character resident ID (province prefix, real birth date, GB 11643 check char) and
    the old 15-digit form (no check char: needs context or a column hint to be reported)."""

    ENTITY = "CN_RESIDENT_ID"
    PATTERNS = (
        # Digit lookarounds, never \b: the ID is usually glued to Chinese text.
        Pattern(
            "id18",
            rf"(?<!\d)[1-9]\d{{5}}(?:18|19|20)\d\d{_DATE}\d{{3}}(?:\d|[Xx](?![A-Za-z]))(?!\d)",
            0.95,
        ),
        Pattern("id15", rf"(?<!\d)[1-9]\d{{7}}{_DATE}\d{{3}}(?!\d)", 0.3),
    )
    # fmt: off
    CONTEXT = (
        "身份证", "身份证号", "身份证号码", "公民身份号码", "证件号", "证件号码", "居民身份证", "sfz", "sfzh", "id card",
        "idcard", "id_card", "id no", "id number", "identity", "citizen id",
    )
    # fmt: on
    NEGATIVE_CONTEXT = ID_NEGATIVE_CONTEXT

    def validate_result(self, value: str) -> bool:
        return gb11643(value) if len(value) == 18 else cn_resident_id_15(value)

    def validation_name(self) -> str:
        return "GB 11643 region+birth date+check char ok"


class CnUsccRecognizer(Recognizer):
    """Unified social credit code: GB 32100 check char required; the embedded organisation
    code (positions 9–17) passing GB 11714 as well makes it near-certain."""

    ENTITY = "CN_USCC"
    PATTERNS = (
        Pattern(
            "uscc",
            r"(?<![0-9A-Za-z])[1-9ANY][0-9A-HJ-NP-RTUWXY]\d{6}[0-9A-HJ-NP-RTUWXY]{10}(?![0-9A-Za-z])",
            0.7,
        ),
    )
    # fmt: off
    CONTEXT = (
        "统一社会信用代码", "信用代码", "社会信用代码", "营业执照", "纳税人识别号", "税号", "uscc", "credit code", "tax id",
        "business license",
    )
    # fmt: on
    NEGATIVE_CONTEXT = ID_NEGATIVE_CONTEXT

    def validate_result(self, value: str) -> bool | float:
        if not gb32100(value):
            return False
        if gb11714(value[8:17]):
            return 0.95
        # One random code in 31 passes GB 32100 alone: without the organisation code check a
        # context word is needed, and an all-digit code shaped like a resident ID is an ID typo.
        if value.isdigit() and cn_birth_date_ok(value[6:14]):
            return False
        return 0.45

    def validation_name(self) -> str:
        return "GB 32100 check char ok"
