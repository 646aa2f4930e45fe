"""Chinese phone numbers: mobiles (current MIIT prefixes, cross-checked against
libphonenumber's metadata in the tests) and landlines (validated with libphonenumber).

>>> [(f.value, f.score) for f in CnMobileRecognizer().analyze("手机：13812345678")]
[('13812345678', 1.0)]
>>> CnMobileRecognizer().analyze("14912345678")  # 149: not a mobile range in libphonenumber
[]
>>> [f.value for f in CnLandlineRecognizer().analyze("电话 010-62345678")]
['010-62345678']
"""

from __future__ import annotations

from detectors.sensitive.base import Pattern, Recognizer
from detectors.sensitive.recognizers.cn_ids import ID_NEGATIVE_CONTEXT
from detectors.sensitive.validators import cn_landline

__all__ = ["CN_MOBILE_PREFIX", "CnLandlineRecognizer", "CnMobileRecognizer"]

#: Mobile number ranges (11 digits). REFERENCE.md's regex plus the two 4-digit ranges that
#: libphonenumber also calls mobile (1610, 17400–17405). 149 is NOT here: libphonenumber
#: (9.0.43) rejects it although Faker zh_CN emits it as a "data card" prefix.
CN_MOBILE_PREFIX = (
    r"1(?:3\d|4[57]|5[0-35-9]|6[25-7]|7[0-35-8]|8\d|9[0-35-9])\d{8}|1610\d{7}|1740[0-5]\d{6}"
)
_CC = r"(?:(?:\+|00)86[-\s]?|86-)"
# 138 1234 5678 / 138-1234-5678: the same separator twice (spelled out: no back-reference, so
# the scanner can merge the patterns into one quick check).
_GROUPED = (
    r"1(?:3\d|4[57]|5[0-35-9]|6[25-7]|7[0-35-8]|8\d|9[0-35-9])"
    r"(?:-\d{4}-|\s\d{4}\s)\d{4}(?![0-9A-Za-z])"
)

# fmt: off
_PHONE_CONTEXT = (
    "手机", "手机号", "手机号码", "电话", "联系电话", "联系方式", "移动电话", "电话号码", "号码", "致电", "来电", "拨打", "联系",
    "sjh", "sjhm", "lxdh", "mobile", "phone", "tel", "cell", "telephone", "contact", "call",
)
# fmt: on


class CnMobileRecognizer(Recognizer):
    """Mainland mobile numbers, bare (``13812345678``), grouped (``138 1234 5678``) or with
    the country code (``+86 138…``)."""

    ENTITY = "CN_MOBILE"
    PATTERNS = (
        # Letters around the digits mean a hash, a serial or a token (…b16658338121a…).
        Pattern("mobile_cc", rf"(?<![0-9A-Za-z+]){_CC}(?:{CN_MOBILE_PREFIX})(?![0-9A-Za-z])", 0.75),
        Pattern("mobile", rf"(?<![0-9A-Za-z+])(?:{CN_MOBILE_PREFIX})(?![0-9A-Za-z])", 0.65),
        Pattern("mobile_grouped", rf"(?<![0-9A-Za-z+]){_GROUPED}", 0.65),
        Pattern("mobile_cc_grouped", rf"(?<![0-9A-Za-z+]){_CC}{_GROUPED}", 0.75),
    )
    CONTEXT = _PHONE_CONTEXT
    NEGATIVE_CONTEXT = ID_NEGATIVE_CONTEXT + ("qq", "qq号", "imei", "设备号", "sn")


class CnLandlineRecognizer(Recognizer):
    """Fixed-line numbers: area code 010, 02X or 0XXX + a 7–8 digit subscriber number that does
    not start with 0/1, confirmed by libphonenumber (FIXED_LINE). Bare digits without a
    separator are ambiguous and need context."""

    ENTITY = "CN_LANDLINE"
    PATTERNS = (
        Pattern(
            "landline_sep",
            r"(?<![\d+])(?:\(0\d{2,3}\)\s?|（0\d{2,3}）|0\d{2,3}[-\s])[2-9]\d{6,7}(?!\d)",
            0.55,
        ),
        Pattern(
            "landline_cc",
            r"(?<![\d+])(?:\+|00)86[-\s]?(?:[2-9]\d{1,2}|10)[-\s]?[2-9]\d{6,7}(?!\d)",
            0.75,
        ),
        Pattern("landline_bare", r"(?<![\d+])0(?:10|2\d|[3-9]\d\d)[2-9]\d{6,7}(?!\d)", 0.35),
    )
    # fmt: off
    CONTEXT = _PHONE_CONTEXT + (
        "座机", "固话", "固定电话", "办公电话", "传真", "fax", "landline", "office",
    )
    # fmt: on
    NEGATIVE_CONTEXT = ID_NEGATIVE_CONTEXT

    def validate_result(self, value: str) -> bool:
        return cn_landline(value)

    def validation_name(self) -> str:
        return "libphonenumber fixed line ok"
