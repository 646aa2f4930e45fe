"""The scanning API: values, records, overlap resolution, the prefilter, and throughput."""

from __future__ import annotations

import json

import pytest

from detectors.sensitive import RecordFindings, Scanner, default_scanner, scan_record, scan_value

VALID_ID = "110101199003074514"


def test_several_entities_in_one_text():
    text = f"客户王梅，身份证号{VALID_ID}，手机13812345678，邮箱wangmei@163.com，住址浙江省杭州市西湖区文三路90号"
    got = [(f.entity, text[f.start : f.end]) for f in scan_value(text)]
    assert got == [
        ("PERSON_NAME", "王梅"),
        ("CN_RESIDENT_ID", VALID_ID),
        ("CN_MOBILE", "13812345678"),
        ("EMAIL", "wangmei@163.com"),
        ("ADDRESS", "浙江省杭州市西湖区文三路90号"),
    ]


@pytest.mark.parametrize(
    "value, expected",
    [
        (13812345678, ["CN_MOBILE"]),  # a BIGINT column holding mobiles
        (13812345678.0, ["CN_MOBILE"]),
        (None, []),
        (True, []),
        (b"13812345678", []),
        ({"a": 1}, []),
        ("", []),
        ("   ", []),
        ("pending", []),
        ("2026-11-27T08:30:00Z", []),
        ("已完成", []),
        (42, []),
    ],
)
def test_value_types(value, expected):
    assert [f.entity for f in scan_value(value)] == expected


def test_overlaps_keep_the_best_finding():
    # an e-mail whose local part is a mobile, a password that looks like a mobile
    assert [f.entity for f in scan_value("13812345678@qq.com")] == ["EMAIL"]
    assert [f.entity for f in scan_value("IDENTIFIED BY '13812345678'")] == ["PASSWORD"]


def test_min_score_is_configurable():
    strict = Scanner(min_score=0.9)
    assert strict.scan_value("13812345678") == [] and strict.scan_value("手机13812345678")


def test_long_values_are_capped():
    s = Scanner(max_chars=100)
    assert s.scan_value("x" * 200 + "13812345678") == []
    assert s.scan_value("13812345678 " + "x" * 200)


def test_scan_record_columns_counts_and_levels():
    row = {
        "xm": "王梅",
        "sjhm": "13812345678",
        "remark": f"身份证{VALID_ID}；备用手机13912345678",
        "salary": 12000,
        "status": "ok",
        "order_no": "4111111111111111",
        "profile": {"email": "wangmei@163.com", "tags": ["vip", "13712345678"]},
    }
    r = scan_record(row, table="crm.customer")
    assert isinstance(r, RecordFindings) and r.table == "crm.customer" and r.sensitive
    assert set(r.columns) == {"xm", "sjhm", "remark", "salary", "profile.email", "profile.tags"}
    assert r.columns["remark"].entities == {"CN_RESIDENT_ID": 1, "CN_MOBILE": 1}
    assert r.columns["remark"].max_level == "general-4"
    assert r.columns["sjhm"].max_level == "general-2"
    assert r.columns["salary"].findings == [] and r.columns["salary"].max_level == "general-4"
    assert r.entities["CN_MOBILE"] == 3
    assert r.max_level == "general-4" and r.grade.jr_0197 == 3
    doc = r.to_dict()
    json.dumps(doc)
    assert "13812345678" not in json.dumps(doc) and VALID_ID not in json.dumps(doc)


def test_record_without_sensitive_columns():
    r = scan_record({"id": 7, "status": "shipped", "updated_at": "2026-11-27 08:30:15"})
    assert not r.sensitive and r.max_level is None and r.grade is None


def test_hint_contradicted_by_values_does_not_grade():
    r = scan_record({"mobile": "4111111111111111"})  # a card in a column named mobile
    col = r.columns["mobile"]
    assert col.entities == {"BANK_CARD": 1} and col.grade.entity == "BANK_CARD"


def test_default_scanner_is_shared():
    assert default_scanner() is default_scanner()
