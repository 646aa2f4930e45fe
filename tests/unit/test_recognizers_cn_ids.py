"""Chinese identity documents: resident ID (GB 11643), unified social credit code (GB 32100 +
GB 11714), passports, exit-entry and home-return permits, Taiwan permits, HKID, licence plates."""

from __future__ import annotations

import datetime as dt

import pytest

from detectors.sensitive import scan_value
from detectors.sensitive.validators import (
    gb11643,
    gb11643_check_char,
    gb32100,
    gb32100_check_char,
    hkid,
)

VALID_ID = "110101199003074514"  # 1990-03-07, Beijing Dongcheng; check char 4


def found(text, column=None):
    return [(f.entity, f.value) for f in scan_value(text, column)]


def entities(text, column=None):
    return {f.entity for f in scan_value(text, column)}


# --- resident ID ----------------------------------------------------------------------------------


def test_check_char_of_the_briefs_example():
    # The brief quotes 110101199003074519; its check character is 4, not 9.
    assert gb11643_check_char("11010119900307451") == "4"
    assert not gb11643("110101199003074519")
    assert gb11643(VALID_ID)


@pytest.mark.parametrize(
    "text",
    [
        f"身份证号{VALID_ID}",  # glued to Chinese (\b would fail here)
        f"身份证号：{VALID_ID}，请核实",
        f"ID number {VALID_ID}.",
        VALID_ID,
        "11010519491231002X",  # the standard's own example, X check char
        "11010519491231002x",
    ],
)
def test_valid_ids_found(text):
    [(entity, value)] = found(text)
    assert entity == "CN_RESIDENT_ID" and value.upper() in text.upper()


@pytest.mark.parametrize(
    "text",
    [
        "订单号110101199003074519",  # the brief's order id: wrong check char
        "110101199003074519",
        "990101199003074516",  # region 99 is no province
        "110101199002304510",  # 30 February
        f"110101{dt.date.today().year + 1}0101451X",  # born next year
        "1101011990030745149",  # 19 digits: no ID inside a longer number
        "20261127083015123",  # a 17-digit timestamp
    ],
)
def test_invalid_ids_not_found(text):
    assert "CN_RESIDENT_ID" not in entities(text)


def test_future_birth_date_rejected_even_with_valid_check_char():
    body = f"110101{dt.date.today().year + 1}0101451"
    assert not gb11643(body + gb11643_check_char(body))


def test_order_id_label_lowers_but_does_not_hide_a_valid_id():
    [f] = scan_value(f"订单号{VALID_ID}")
    assert f.score < 0.95 and "negative context" in f.explanation


def test_old_15_digit_id_needs_context():
    old = "110105491231002"
    assert "CN_RESIDENT_ID" not in entities(old)
    assert ("CN_RESIDENT_ID", old) in found(f"身份证号码：{old}")
    assert ("CN_RESIDENT_ID", old) in found(old, column="sfzh")
    assert "CN_RESIDENT_ID" not in entities("身份证号码：110105491331002")  # month 13


def test_explanation_names_pattern_validation_and_context():
    [f] = scan_value(f"身份证号{VALID_ID}")
    assert "id18" in f.explanation and "GB 11643" in f.explanation and "身份证" in f.explanation
    assert VALID_ID not in f.explanation and VALID_ID not in repr(f) and "value" not in f.to_dict()


# --- unified social credit code -----------------------------------------------------------------------


def test_uscc_valid_with_both_checks():
    [f] = scan_value("91110000600037341L")
    assert f.entity == "CN_USCC" and f.score >= 0.9 and "GB 32100" in f.explanation


@pytest.mark.parametrize("code", ["91110000600037341M", "91110000600037341I", "9111000060003734"])
def test_uscc_wrong_check_or_shape(code):
    assert "CN_USCC" not in entities(code)


def test_uscc_without_valid_organisation_code_needs_context():
    body = "91110000600037342"  # organisation code check digit wrong
    code = body + gb32100_check_char(body)
    assert gb32100(code)
    assert "CN_USCC" not in entities(code)
    assert "CN_USCC" in entities(f"统一社会信用代码：{code}")


# --- documents without check digits: context decides ---------------------------------------------------


@pytest.mark.parametrize(
    "value, label, entity",
    [
        ("E12345678", "护照号码", "CN_PASSPORT"),
        ("EA1234567", "护照", "CN_PASSPORT"),
        ("G12345678", "passport no", "CN_PASSPORT"),
        ("C12345678", "往来港澳通行证", "CN_HK_MACAU_PERMIT"),
        ("W12345678", "港澳通行证", "CN_HK_MACAU_PERMIT"),
        ("H12345678", "回乡证", "CN_HOME_RETURN_PERMIT"),
        ("M1234567801", "港澳居民来往内地通行证", "CN_HOME_RETURN_PERMIT"),
        ("12345678", "台胞证号", "CN_TAIWAN_PERMIT"),
    ],
)
def test_documents_found_with_context_only(value, label, entity):
    assert (entity, value) in found(f"{label}：{value}")
    assert entity not in entities(value)  # bare: any product code looks like this
    assert entity in entities(
        value,
        column={
            "CN_PASSPORT": "passport_no",
            "CN_HK_MACAU_PERMIT": "gatxz",
            "CN_HOME_RETURN_PERMIT": "hxz",
            "CN_TAIWAN_PERMIT": "tbz",
        }[entity],
    )


@pytest.mark.parametrize(
    "text", ["护照号码EI1234567", "护照号码E1234567", "护照号码X12345678", "护照号码E123456789"]
)
def test_passport_near_misses(text):
    assert "CN_PASSPORT" not in entities(text)


def test_taiwan_permit_shape_without_cue_is_nothing():
    assert scan_value("20261127") == [] and scan_value("发票号码 12345678") == []


# --- HKID -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["A123456(3)", "AB987654(3)", "Z727764(5)"])
def test_hkid_valid(value):
    assert hkid(value)
    assert ("HKID", value) in found(f"香港身份证{value}")


def test_hkid_check_digit_and_context():
    assert not hkid("A123456(4)")
    assert "HKID" not in entities("A123456(4)")
    assert "HKID" in entities("A123456(3)")  # parenthesised check digit is distinctive
    assert "HKID" not in entities("A1234563")  # plain: needs a cue
    assert "HKID" in entities("HKID: A1234563")


# --- licence plates ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "plate",
    ["京A12345", "粤B·D12345", "沪AD12345", "苏E12345F", "川A·F1234", "浙BX2J85", "粤Z1234港"],
)
def test_plates(plate):
    assert ("CN_LICENSE_PLATE", plate) in found(f"车牌号{plate}于昨日违停")


@pytest.mark.parametrize(
    "text", ["浙Z-98751", "京I12345", "京A1234", "京AO1234", "京A123456", "粤语ABCDE"]
)
def test_plate_near_misses(text):
    # Faker's zh_CN plates (浙Z-98751) are not GA 36 plates; I and O are never used.
    assert "CN_LICENSE_PLATE" not in entities(text)
