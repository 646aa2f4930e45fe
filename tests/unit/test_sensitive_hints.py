"""Column-name hints and the column classification that combines name and value evidence."""

from __future__ import annotations

import pytest
from faker import Faker

from detectors.sensitive import classify_column, load_hints
from detectors.sensitive.hints import normalise_tokens, value_has_shape

HINTS = load_hints()


def test_at_least_sixty_names():
    assert len(HINTS) >= 60


@pytest.mark.parametrize(
    "column, entity",
    [
        # the names the brief lists, English / pinyin / Chinese
        ("id_card", "CN_RESIDENT_ID"),
        ("idcard", "CN_RESIDENT_ID"),
        ("sfzh", "CN_RESIDENT_ID"),
        ("身份证号", "CN_RESIDENT_ID"),
        ("mobile", "CN_MOBILE"),
        ("phone", "CN_MOBILE"),
        ("sjhm", "CN_MOBILE"),
        ("手机号", "CN_MOBILE"),
        ("bank_card", "BANK_CARD"),
        ("yhkh", "BANK_CARD"),
        ("salary", "SALARY"),
        ("gz", "SALARY"),
        ("工资", "SALARY"),
        ("email", "EMAIL"),
        ("address", "ADDRESS"),
        ("dz", "ADDRESS"),
        ("name", "PERSON_NAME"),
        ("xm", "PERSON_NAME"),
        ("姓名", "PERSON_NAME"),
        ("birthday", "BIRTH_DATE"),
        ("csrq", "BIRTH_DATE"),
        ("passport", "CN_PASSPORT"),
        ("password", "PASSWORD"),
        ("pwd", "PASSWORD"),
        # normalisation: case, separators, camelCase, qualifiers, prefixes and suffixes
        ("ID-CARD", "CN_RESIDENT_ID"),
        ("IdCardNo", "CN_RESIDENT_ID"),
        ("cust_mobile_no", "CN_MOBILE"),
        ("custMobileNo", "CN_MOBILE"),
        ("crm.t_customer.mobile", "CN_MOBILE"),
        ("MOBILE_PHONE", "CN_MOBILE"),
        ("emergency_contact_phone", "CN_MOBILE"),
        ("home_address", "ADDRESS"),
        ("user_email_address", "EMAIL"),
        ("客户手机号", "CN_MOBILE"),
        ("联系人手机号码", "CN_MOBILE"),
        ("客户身份证号码", "CN_RESIDENT_ID"),
        ("`user_pwd`", "PASSWORD"),
        ("password_hash", "PASSWORD"),
        ("hphm", "CN_LICENSE_PLATE"),
        ("order_no", "NON_SENSITIVE_ID"),
    ],
)
def test_hint_names(column, entity):
    m = HINTS.match(column)
    assert m is not None and m.entity == entity, (column, m)


@pytest.mark.parametrize(
    "column",
    [
        "phone_type",
        "email_verified",
        "id_card_status",
        "product_name",
        "company_name",
        "status",
        "created_at",
        "amount",
        "remark",
        "备注",
        "证件类型",
        "",
        "123",
    ],
)
def test_no_hint(column):
    assert HINTS.match(column) is None


def test_looser_matches_lower_the_prior():
    exact, affix, span = (
        HINTS.match("mobile"),
        HINTS.match("cust_mobile_no"),
        HINTS.match("emergency_mobile_x"),
    )
    assert (exact.how, affix.how, span.how) == ("exact", "affix", "span")
    assert exact.prior > affix.prior > span.prior
    assert "cust_mobile_no" in affix.explanation


def test_pinyin_initials_never_match_inside_words():
    assert HINTS.match("xml") is None and HINTS.match("gzip") is None and HINTS.match("adz") is None


def test_tokens():
    assert normalise_tokens("t.userIDCard") == ["user", "id", "card"]
    assert normalise_tokens("ＭＯＢＩＬＥ") == ["mobile"]  # full-width, NFKC


def test_shapes():
    assert value_has_shape("1990年3月7日", "date") and value_has_shape(19900307, "number")
    assert value_has_shape("女", "gender") and not value_has_shape("maybe", "gender")


# --- classification ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zh():
    f = Faker("zh_CN")
    f.seed_instance(9)
    return f


def test_name_and_values_agree_high(zh):
    phones = [p for p in (zh.phone_number() for _ in range(60)) if not p.startswith("149")][:50]
    c = classify_column("mobile", phones)
    assert c.entity == "CN_MOBILE" and c.confidence > 0.95
    assert "mobile" in c.explanation and "values 50/50" in c.explanation
    assert c.level == "general-2" and c.grade.jr_0197 == 3


def test_values_alone_detect_an_id_in_a_remark(zh):
    values = ["无", "客户要求加急", f"身份证{zh.ssn()}", "ok", "已回访"]
    c = classify_column("remark", values)
    assert c.entity == "CN_RESIDENT_ID" and c.confidence >= 0.5
    assert c.level == "general-4" and c.grade.sensitive_personal


def test_name_with_contradicting_values_is_lower(zh):
    good = classify_column("mobile", [zh.phone_number() for _ in range(10)])
    bad = classify_column("mobile", ["abc", "N/A", "unknown", "测试", "x", "y"])
    assert bad.entity == "CN_MOBILE" and bad.confidence < 0.5 < good.confidence


def test_name_only_entities_use_value_shapes():
    assert classify_column("salary", ["12000", "8,500.50", "¥9000"]).confidence == pytest.approx(
        0.9
    )
    assert classify_column("salary", ["abc", "def", "ghi", "jkl", "mno"]).confidence < 0.5
    assert classify_column("birthday", ["1990-03-07", "19851231"]).entity == "BIRTH_DATE"


def test_a_few_values_say_little_against_the_name():
    assert (
        classify_column("mobile", ["n/a"]).confidence
        > classify_column("mobile", ["n/a"] * 10).confidence
    )


def test_names_in_a_name_column(zh):
    c = classify_column("xm", [zh.name() for _ in range(30)])
    assert c.entity == "PERSON_NAME" and c.confidence > 0.9


def test_landline_values_under_a_phone_name():
    c = classify_column("phone", ["010-62345678", "021-62345678", "0755-86012345"])
    assert c.entity == "CN_LANDLINE"


def test_no_evidence():
    c = classify_column("status", ["ok", "fail", None, ""])
    assert c.entity is None and c.confidence == 0 and c.grade is None and c.values_scanned == 2


def test_identifier_column_is_not_a_category(zh):
    c = classify_column("order_no", ["2026112708301512", "2026112708301513"])
    assert c.entity is None
    d = classify_column("order_no", ["4111111111111111"] * 5)  # card-shaped ids: penalised
    assert d.entity is None or d.confidence < 0.5


def test_to_dict_is_json_ready():
    import json

    c = classify_column("mobile", ["13812345678"])
    assert json.loads(json.dumps(c.to_dict()))["entity"] == "CN_MOBILE"
