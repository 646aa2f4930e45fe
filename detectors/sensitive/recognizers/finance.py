"""Payment and bank cards: Luhn, then an issuer (IIN) and a length that issuer uses.

Luhn alone passes one random digit string in ten, so the brand decides the score and a valid
resident ID (18 digits that may also pass Luhn) is never reported as a card.

>>> [(f.value, round(f.score, 2)) for f in BankCardRecognizer().analyze("银行卡6222021234567890128")]
[('6222021234567890128', 0.95)]
>>> [f.notes for f in BankCardRecognizer().analyze("4111 1111 1111 1111")]
[('brand visa',)]
"""

from __future__ import annotations

from detectors.sensitive.base import Finding, Pattern, Recognizer
from detectors.sensitive.recognizers.cn_ids import ID_NEGATIVE_CONTEXT
from detectors.sensitive.validators import (
    CN_PROVINCE_CODES,
    card_brand,
    cn_birth_date_ok,
    digits_only,
    gb11643,
    luhn,
)

__all__ = ["BRAND_SCORES", "ID_SHAPE_PENALTY", "BankCardRecognizer"]

ID_SHAPE_PENALTY = 0.25

#: Score of a Luhn-valid number per brand, before context. UnionPay 62 is by far the most
#: common card in Chinese data; legacy and ambiguous issuers need context to be reported.
BRAND_SCORES = {
    "unionpay": 0.6,
    "visa": 0.55,
    "mastercard": 0.55,
    "amex": 0.55,
    "jcb": 0.5,
    "discover": 0.5,
    "diners": 0.5,
    "maestro": 0.35,
    "cn-domestic": 0.45,
}


class BankCardRecognizer(Recognizer):
    """Bank and payment cards of every major network (UnionPay, Visa, Mastercard, Amex, JCB,
    Discover, Diners, Maestro, Chinese domestic IINs), bare or grouped in fours."""

    ENTITY = "BANK_CARD"
    PATTERNS = (
        # Letters glued to the digits mean a hash or a serial, not a card.
        Pattern("card", r"(?<![0-9A-Za-z])\d{12,19}(?![0-9A-Za-z])", 0.5),
        Pattern(
            "card_grouped",
            r"(?<![0-9A-Za-z])\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,4})?(?![0-9A-Za-z])",
            0.5,
        ),
        Pattern("amex_grouped", r"(?<![0-9A-Za-z])3[47]\d\d[ -]\d{6}[ -]\d{5}(?![0-9A-Za-z])", 0.5),
    )
    # fmt: off
    CONTEXT = (
        "银行卡", "银行卡号", "卡号", "银行账号", "银行账户", "账号", "帐号", "储蓄卡", "借记卡", "信用卡", "开户行", "收款账户",
        "付款账户", "收款卡", "还款卡", "yhk", "yhkh", "khh", "card", "card no", "card number",
        "credit card", "debit card", "pan", "visa", "mastercard", "amex", "unionpay",
        "account",
    )
    # fmt: on
    # fmt: off
    NEGATIVE_CONTEXT = ID_NEGATIVE_CONTEXT + (
        "手机", "电话", "phone", "imei", "条码", "barcode", "isbn",
    )
    # fmt: on

    def analyze(self, text: str, hints: frozenset[str] = frozenset()) -> list[Finding]:
        out: list[Finding] = []
        seen: set[tuple[int, int]] = set()
        for pattern in self._patterns:
            for m in pattern.compiled.finditer(text):
                span = m.span()
                if span in seen:
                    continue
                digits = digits_only(m.group(0))
                if len(digits) < 12 or len(digits) > 19:
                    continue
                # A valid resident ID is an ID, whatever Luhn says.
                if len(digits) == 18 and gb11643(digits):
                    continue
                if not luhn(digits):
                    continue
                brand = card_brand(digits)
                if brand is None:
                    continue
                seen.add(span)
                base = BRAND_SCORES[brand]
                notes = [f"brand {brand}"]
                # 18 digits with a province prefix and a birth date in place: a resident ID with
                # a typo in its check digit is likelier than an 18-digit card.
                if (
                    len(digits) == 18
                    and digits[:2] in CN_PROVINCE_CODES
                    and cn_birth_date_ok(digits[6:14])
                ):
                    base -= ID_SHAPE_PENALTY
                    notes.append(f"shaped like a resident ID -{ID_SHAPE_PENALTY:.2f}")
                f = Finding(
                    self._entity,
                    span[0],
                    span[1],
                    base,
                    self._name,
                    pattern.name,
                    m.group(0),
                    base,
                    validation="Luhn ok",
                )
                out.append(self.enhance(text, f, hints, notes))
        return out
