"""Bank and payment cards (Luhn + issuer + length; never a resident ID) and IBANs."""

from __future__ import annotations

import pytest
from faker import Faker

from detectors.sensitive import scan_value
from detectors.sensitive.validators import card_brand, iban, luhn


def luhn_complete(body: str) -> str:
    for d in "0123456789":
        if luhn(body + d):
            return body + d
    raise AssertionError


def found(text, column_hint=None):
    return [(f.entity, f.value) for f in scan_value(text, column_hint)]


def entities(text, column_hint=None):
    return {f.entity for f in scan_value(text, column_hint)}


UNIONPAY_19 = luhn_complete("622202123456789012")
UNIONPAY_16 = luhn_complete("621700123456789")


@pytest.mark.parametrize(
    "number, brand",
    [
        (UNIONPAY_19, "unionpay"),
        (UNIONPAY_16, "unionpay"),
        ("4111111111111111", "visa"),
        ("5555555555554444", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("378282246310005", "amex"),
        ("3530111333300000", "jcb"),
        ("6011111111111117", "discover"),
        ("30569309025904", "diners"),
    ],
)
def test_card_brands(number, brand):
    assert luhn(number) and card_brand(number) == brand
    assert ("BANK_CARD", number) in found(f"银行卡{number}")  # glued to Chinese


@pytest.mark.parametrize(
    "text, value",
    [
        ("卡号 4111 1111 1111 1111", "4111 1111 1111 1111"),
        ("card: 4111-1111-1111-1111", "4111-1111-1111-1111"),
        ("Amex 3782 822463 10005", "3782 822463 10005"),
        (UNIONPAY_19, UNIONPAY_19),
    ],
)
def test_card_formats(text, value):
    assert ("BANK_CARD", value) in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",  # fails Luhn
        "1234567812345670",  # Luhn-valid, no issuer starts with 1
        "银行卡62220212345678901",  # 17 digits failing Luhn
        "订单号2026112708301512",  # an order id
        "a4111111111111111b",  # glued to letters: a token, not a card
    ],
)
def test_card_near_misses(text):
    assert "BANK_CARD" not in entities(text)


def test_valid_resident_id_is_never_a_card():
    """A Gansu (62…) resident ID that also passes Luhn: an ID, not a UnionPay card."""
    from detectors.sensitive.validators import gb11643_check_char

    for seq in range(100, 1000):
        body = f"62010219900307{seq}"
        rid = body + gb11643_check_char(body)
        if rid.isdigit() and luhn(rid):
            break
    assert card_brand(rid) == "unionpay"
    assert [f.entity for f in scan_value(rid)] == ["CN_RESIDENT_ID"]
    assert [f.entity for f in scan_value(f"银行卡{rid}")] == ["CN_RESIDENT_ID"]


def test_id_shaped_card_needs_context():
    # 18 digits, Gansu prefix, a birth date in place, wrong ID check char, Luhn-valid:
    # a mistyped ID is likelier than an 18-digit card.
    body = "62010219900307451"
    from detectors.sensitive.validators import gb11643_check_char

    for d in "0123456789":
        n = body + d
        if luhn(n) and d != gb11643_check_char(body):
            break
    assert "BANK_CARD" not in entities(n)
    assert "BANK_CARD" in entities(f"银行卡号：{n}")


def test_negative_context_and_identifier_columns():
    assert "BANK_CARD" in entities("4111111111111111")
    assert "BANK_CARD" not in entities("订单号：4111111111111111")
    assert "BANK_CARD" not in entities("4111111111111111", column_hint="order_no")
    assert entities("4111111111111111", column_hint="yhkh") == {"BANK_CARD"}


def test_maestro_needs_context():
    n = luhn_complete("67030000000000")
    assert card_brand(n) == "maestro"
    assert "BANK_CARD" not in entities(n)
    assert "BANK_CARD" in entities(f"debit card {n}")


def test_brand_in_explanation():
    [f] = scan_value("银行卡4111111111111111")
    assert (
        "brand visa" in f.explanation
        and "Luhn ok" in f.explanation
        and "context 银行卡" in f.explanation
    )


# --- IBAN -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "GB82 WEST 1234 5698 7654 32",
        "FR14 2004 1010 0505 0001 3M02 606",
        "NL91ABNA0417164300",
    ],
)
def test_iban_valid(value):
    assert iban(value)
    assert ("IBAN", value) in found(f"IBAN: {value}")


@pytest.mark.parametrize(
    "value",
    [
        "DE88 3704 0044 0532 0130 00",  # check digits
        "DE89 3704 0044 0532 0130",  # too short for DE
        "XX89370400440532013000",  # no such country
    ],
)
def test_iban_invalid(value):
    assert not iban(value) and "IBAN" not in entities(value)


def test_faker_zh_cn_ibans_have_the_wrong_length():
    """Faker's zh_CN provider builds 21-character GB IBANs (GB BBANs are 18 characters):
    honest labelling says they are not IBANs; other locales' IBANs pass."""
    zh = Faker("zh_CN")
    zh.seed_instance(3)
    assert not any(iban(zh.iban()) for _ in range(20))
    de = Faker("de_DE")
    de.seed_instance(3)
    assert all(iban(de.iban()) for _ in range(20))
