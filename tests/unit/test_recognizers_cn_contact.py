"""Chinese contact data: mobiles (checked against libphonenumber's metadata), landlines,
names (surnames + labels) and addresses (division names + suffix grammar)."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from detectors.sensitive import scan_value
from detectors.sensitive.recognizers.cn_contact import CN_MOBILE_PREFIX


def found(text, column=None):
    return [(f.entity, f.value) for f in scan_value(text, column)]


def entities(text, column=None):
    return {f.entity for f in scan_value(text, column)}


# --- mobiles ------------------------------------------------------------------------------------------


def test_mobile_ranges_agree_with_libphonenumber():
    """Every 5-digit prefix 1xxxx: our regex and libphonenumber say the same (two sample
    subscriber numbers per prefix)."""
    rx = re.compile(rf"(?:{CN_MOBILE_PREFIX})\Z")
    disagree = []
    for prefix in range(10000, 20000):
        for tail in ("000000", "987654"):
            number = f"{prefix}{tail}"
            n = phonenumbers.parse(number, "CN")
            lib = phonenumbers.is_valid_number(n) and phonenumbers.number_type(n) in (
                PhoneNumberType.MOBILE,
                PhoneNumberType.FIXED_LINE_OR_MOBILE,
            )
            if lib != bool(rx.match(number)):
                disagree.append((number, lib))
    assert disagree == []


def test_149_is_not_a_mobile_range():
    # Faker zh_CN emits 149 as a "data card" prefix; libphonenumber's metadata rejects it.
    assert not phonenumbers.is_valid_number(phonenumbers.parse("14912345678", "CN"))
    assert scan_value("14912345678") == [] and "CN_MOBILE" not in entities("手机14912345678")


@pytest.mark.parametrize(
    "text, value",
    [
        ("13812345678", "13812345678"),
        ("手机号13812345678", "13812345678"),
        ("手机：138 1234 5678", "138 1234 5678"),
        ("call 138-1234-5678", "138-1234-5678"),
        ("+86 13812345678", "+86 13812345678"),
        ("+86 138 1234 5678", "+86 138 1234 5678"),
        ("0086-19912345678", "0086-19912345678"),
        ("联系电话:16612345678。", "16612345678"),
    ],
)
def test_mobiles(text, value):
    assert ("CN_MOBILE", value) in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "12012345678",  # no such range
        "10012345678",
        "138123456789",  # 12 digits
        "SN13812345678901",  # inside a longer serial
        "459505131b16658338121a4e9347461",  # inside a hash
        "138-1234 5678",  # mixed separators
        "序列号13812345678",  # a serial, by its label
    ],
)
def test_mobile_near_misses(text):
    assert "CN_MOBILE" not in entities(text)


def test_mobile_context_and_hint_raise_score():
    (bare,) = scan_value("13812345678")
    (ctx,) = scan_value("手机13812345678")
    (hinted,) = scan_value("13812345678", column_hint="cust_mobile_no")
    assert bare.score < ctx.score and bare.score < hinted.score
    assert "column hint" in hinted.explanation


def test_mobile_in_order_no_column_is_penalised():
    assert scan_value("13812345678", column_hint="order_no") == []


# --- landlines ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("电话 010-62345678", "010-62345678"),
        ("(0755)86012345", "(0755)86012345"),
        ("座机：021 62345678", "021 62345678"),
        ("办公电话02062345678", "02062345678"),
        ("+86 10 62345678", "+86 10 62345678"),
    ],
)
def test_landlines(text, value):
    assert ("CN_LANDLINE", value) in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "02062345678",  # bare: could be anything without a separator or a cue
        "电话 010-12345678",  # subscriber numbers never start with 1
        "电话 0999-1234567",  # not an area code
    ],
)
def test_landline_near_misses(text):
    assert "CN_LANDLINE" not in entities(text)


# --- names ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, name",
    [
        ("姓名：王建华", "王建华"),
        ("联系人王梅电话13812345678", "王梅"),
        ("收货人：欧阳娜娜，", "欧阳娜娜"),
        ("客户李强的订单已发货", "李强"),
        ("Name: 张伟", "张伟"),
        ("车主周建平驾驶京A12345", "周建平"),
        ("我叫赵敏，来自杭州", "赵敏"),
        ("请转告刘洋先生", "刘洋"),
    ],
)
def test_names_with_cues(text, name):
    assert ("PERSON_NAME", name) in found(text)


def test_bare_name_needs_a_column_hint():
    assert "PERSON_NAME" not in entities("王梅")
    assert ("PERSON_NAME", "王梅") in found("王梅", column="xm")
    assert ("PERSON_NAME", "王梅") in found("王梅", column="姓名")
    assert ("PERSON_NAME", "欧阳娜娜") in found("欧阳娜娜", column="cust_name")


@pytest.mark.parametrize(
    "text", ["高兴", "成功", "黄金", "提高老师待遇", "王先生您好", "今天天气很好"]
)
def test_surname_initial_words_are_not_names(text):
    assert "PERSON_NAME" not in entities(text)


def test_surname_only_with_honorific_scores_below_threshold():
    from detectors.sensitive.recognizers import CnNameRecognizer

    [f] = CnNameRecognizer().analyze("联系李先生")
    assert f.value == "李" and f.score < 0.5


# --- addresses -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, address",
    [
        ("住址：浙江省杭州市西湖区文三路90号3幢201室", "浙江省杭州市西湖区文三路90号3幢201室"),
        ("寄到广东省深圳市南山区科技园南区18栋1203", "广东省深圳市南山区科技园南区18栋1203"),
        ("北京市海淀区中关村南大街5号", "北京市海淀区中关村南大街5号"),
        ("要求改寄到甘肃省宜都市房山广州路Z座。", "甘肃省宜都市房山广州路Z座"),
        ("收货地址 成都市武侯区人民南路四段1号", "成都市武侯区人民南路四段1号"),
        ("新疆维吾尔自治区乌鲁木齐市天山区解放南路", "新疆维吾尔自治区乌鲁木齐市天山区解放南路"),
    ],
)
def test_addresses(text, address):
    assert ("ADDRESS", address) in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "我们明天去北京市开会",
        "上海市场监管局位于黄浦区",
        "广东省内气温回升",
        "香港身份证号码Z727764(5)",
        "欢迎来到杭州",
        "上海市",
    ],
)
def test_place_mentions_are_not_addresses(text):
    assert "ADDRESS" not in entities(text)


def test_more_components_score_higher():
    (short,) = scan_value("北京市朝阳区")
    (long_,) = scan_value("北京市朝阳区建国路88号")
    assert short.score < long_.score
    assert "components" in long_.explanation
