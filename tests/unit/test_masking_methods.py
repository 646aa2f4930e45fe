"""Masking methods: formats, keyed hashes, format-preserving tokens, generalisation, odd input."""

from __future__ import annotations

import datetime as dt
import doctest
import importlib
import re
from decimal import Decimal

import pytest
from faker import Faker

from detectors.masking.keys import Keyring, UnknownKey
from detectors.masking.methods import (
    METHODS,
    REDACTED,
    apply,
    detokenize,
    fpe_int,
    generalize,
    keyed_hash,
    method_strictness,
    nullify,
    partial,
    redact,
    tokenize,
)
from detectors.sensitive.validators import gb11643, luhn

RING = Keyring({"k1": b"0123456789abcdef-one", "k2": b"0123456789abcdef-two"}, current="k1")
ODD = [
    None,
    0,
    -7,
    3.5,
    Decimal("12.30"),
    True,
    b"\xff\xfe13812345678",
    bytearray(b"abc"),
    dt.date(1990, 3, 7),
    dt.datetime(2026, 1, 2, 3, 4, 5),
    {"a": 1},
    [1, "x", None],
    (2,),
    object(),
    float("nan"),
    "",
    " ",
    "\x00\u202e",
    "a" * 5000,
]


@pytest.fixture(scope="module")
def fakers():
    zh, en = Faker("zh_CN"), Faker("en_US")
    zh.seed_instance(11)
    en.seed_instance(11)
    return zh, en


@pytest.mark.parametrize(
    "name", ["detectors.masking.methods", "detectors.masking.keys", "detectors.masking.model"]
)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted and result.failed == 0


# -- keyring --------------------------------------------------------------------------------------


def test_keyring_hides_keys_and_validates():
    assert "0123456789" not in repr(RING) and "0123456789" not in str(RING)
    assert RING.current == "k1" and RING.ids == ["k1", "k2"]
    with pytest.raises(ValueError):
        Keyring({"short": b"x" * 8})
    with pytest.raises(ValueError):
        Keyring({"a": b"a" * 16, "b": b"b" * 16})  # several keys, no current
    with pytest.raises(ValueError):
        Keyring({"a": b"a" * 16}, current="b")
    with pytest.raises(UnknownKey):
        RING.derive("hash", "nope")
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(RING)

    class Secret:  # pydantic SecretStr's shape
        def get_secret_value(self):
            return "s" * 20

    assert Keyring({"s": Secret()}).current == "s"


# -- never raising --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", sorted(METHODS))
def test_methods_never_raise_on_odd_input(method):
    for value in ODD:
        out = apply(method, value, {}, keyring=RING)
        if value is None:
            assert out is None
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if isinstance(value, (str, bytes, int, float)) and any(c.isalnum() for c in text):
            # Masked text never equals an original with content (numbers come back as text;
            # tokenize keeps punctuation-only values, which have no letters or digits to map).
            assert out != value or method == "nullify"


def test_apply_fails_closed():
    assert apply("hash", "13812345678") == REDACTED  # keyed method without a keyring
    assert apply("no-such-method", "x") == REDACTED
    assert apply("partial", "13812345678", {"keep_first": "three"}) == REDACTED
    assert apply("tokenize", "13812345678", keyring=RING, key_id="missing") == REDACTED


def test_strictness_order():
    order = sorted(
        ["partial", "redact", "hash", "generalize", "tokenize", "nullify"], key=method_strictness
    )
    assert order == ["partial", "generalize", "tokenize", "hash", "nullify", "redact"]
    assert method_strictness("hash")[0] == method_strictness("tokenize")[0]
    assert method_strictness("redact")[0] == method_strictness("nullify")[0]


# -- partial ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, kwargs, expected",
    [
        ("13812345678", {}, "138****5678"),
        ("+86 138 1234 5678", {}, "+86 138 **** 5678"),
        ("8613812345678", {}, "86138****5678"),
        ("110101199003074514", {}, "110101********4514"),
        ("11010119900307451X", {}, "110101********451X"),
        ("110101199003074514", {"keep_first": 0, "keep_last": 4}, "**************4514"),
        ("110105491231002", {}, "110105*****1002"),
        ("6222021234567890", {}, "622202******7890"),
        ("6222-0212-3456-7890-123", {}, "6222-02**-****-***0-123"),
        ("alice@example.com", {}, "a***@example.com"),
        ("x@example.com", {}, "x***@example.com"),
        ("张三", {}, "张*"),
        ("张三丰", {}, "张**"),
        ("欧阳娜娜", {}, "欧阳**"),
        ("John Doe", {}, "J*** D**"),
        ("john", {"entity": "PERSON_NAME"}, "j***"),
        ("secretvalue", {}, "se*******ue"),
        ("ab", {}, "**"),
        ("0571-88886666", {"entity": "CN_LANDLINE"}, "057*-****6666"),
        ("13812345678", {"format": "generic"}, "13*******78"),
        ("13812345678", {"mask_char": "#"}, "138####5678"),
        (13812345678, {}, "138****5678"),
        (b"13812345678", {}, "138****5678"),
    ],
)
def test_partial_formats(value, kwargs, expected):
    assert partial(value, **kwargs) == expected


def test_partial_never_keeps_everything():
    for v in ("a", "ab", "abc", "abcd", "x" * 9):
        out = partial(v, keep_first=10, keep_last=10)
        assert "*" in out and len(out) == len(v)


# -- redact, nullify, hash ---------------------------------------------------------------------


def test_redact_and_nullify():
    assert redact("x") == "***" and redact("x", token="[REDACTED]") == "[REDACTED]"
    assert redact({"a": "1", "b": [None, 2]}) == {"a": "***", "b": [None, "***"]}
    assert nullify("13812345678") is None and nullify(None) is None


def test_hash_is_a_keyed_pseudonym():
    a = keyed_hash("13812345678", keyring=RING)
    assert re.fullmatch(r"[0-9a-f]{16}", a)
    assert a == keyed_hash("13812345678", keyring=RING)  # same key: same pseudonym
    assert a == keyed_hash(13812345678, keyring=RING) == keyed_hash(" 13812345678 ", keyring=RING)
    assert a != keyed_hash("13812345679", keyring=RING)
    assert a != keyed_hash("13812345678", keyring=RING, key_id="k2")  # another key
    other = Keyring({"k1": b"another-key-0123456789"})
    assert a != keyed_hash("13812345678", keyring=other)  # same id, other secret
    assert keyed_hash("x", keyring=RING, length=8, prefix="h:").startswith("h:")
    assert len(keyed_hash("x", keyring=RING, length=8, prefix="h:")) == 10
    assert keyed_hash("x", keyring=RING, context="a") != keyed_hash("x", keyring=RING, context="b")
    # a hash and a token of one value under one key are unrelated (separate sub-keys)
    assert keyed_hash("13812345678", keyring=RING) != tokenize("13812345678", keyring=RING)


# -- tokenize -----------------------------------------------------------------------------------

MOBILE_RX = re.compile(r"1(?:3\d|4[579]|5[0-35-9]|6[25-7]|7[0-35-8]|8\d|9[0-35-9])\d{8}")


def test_fpe_int_is_a_permutation():
    key = b"k" * 32
    for n in (2, 3, 10, 97, 1000, 4099):
        ys = [fpe_int(x, n, key, b"t") for x in range(n)]
        assert sorted(ys) == list(range(n))
        assert [fpe_int(y, n, key, b"t", decrypt=True) for y in ys] == list(range(n))
    assert fpe_int(5, 1000, key, b"a") != fpe_int(5, 1000, key, b"b") or fpe_int(
        6, 1000, key, b"a"
    ) != fpe_int(6, 1000, key, b"b")


def test_tokenized_mobile_stays_a_mobile(fakers):
    zh, _ = fakers
    seen = set()
    for _ in range(200):
        m = zh.phone_number()
        t = tokenize(m, keyring=RING)
        assert len(t) == 11 and t.isdigit() and t[0] == "1" and MOBILE_RX.fullmatch(t), (m, t)
        assert t != m
        assert tokenize(m, keyring=RING) == t  # deterministic
        assert tokenize(m, keyring=RING, key_id="k2") != t  # keyed
        assert detokenize(t, RING) == m
        assert detokenize(tokenize(m, keyring=RING, key_id="k2"), RING, "k2") == m
        seen.add(t[:3])
    assert len(seen) > 10  # the prefix is encrypted too, not kept
    formatted = tokenize("+86 138-1234-5678", keyring=RING)
    assert re.fullmatch(r"\+86 1\d\d-\d{4}-\d{4}", formatted)
    assert detokenize(formatted, RING) == "+86 138-1234-5678"


def test_tokenized_resident_id_keeps_a_valid_check_digit(fakers):
    zh, _ = fakers
    years = []
    for _ in range(200):
        rid = zh.ssn()
        assert gb11643(rid)
        t = tokenize(rid, keyring=RING)
        assert len(t) == 18 and gb11643(t), (rid, t)  # province, plausible date, check digit
        assert t != rid and detokenize(t, RING) == rid
        years.append(int(t[6:10]))
    assert 1930 <= min(years) and max(years) <= 2019  # the birth-date window is kept
    # an invalid ID stays invalid (its check offset is kept) and still round-trips
    bad = "110101199003074515"
    tb = tokenize(bad, keyring=RING)
    assert len(tb) == 18 and not gb11643(tb) and detokenize(tb, RING) == bad
    # outside the structured space (no province, impossible date) stays outside
    odd = "990000000000000000"
    to = tokenize(odd, keyring=RING)
    assert len(to) == 18 and detokenize(to, RING) == odd and not gb11643(to)


def test_tokenized_card_keeps_bin_length_and_luhn(fakers):
    zh, en = fakers
    for f in (zh, en):
        for _ in range(50):
            card = f.credit_card_number()
            t = tokenize(card, keyring=RING, entity="BANK_CARD")
            assert len(t) == len(card) and t.isdigit() and t[:6] == card[:6]
            assert luhn(t) == luhn(card)
            assert detokenize(t, RING, entity="BANK_CARD") == card
    t = tokenize("6222 0212 3456 7890", keyring=RING)
    assert re.fullmatch(r"622202\d\d \d{4} \d{4}".replace("622202", "6222 02"), t)
    t2 = tokenize("6222021234567890", keyring=RING, keep_bin=False)
    assert detokenize(t2, RING, keep_bin=False) == "6222021234567890"


def test_tokenize_generic_shapes(fakers):
    zh, en = fakers
    cases = [
        "张三丰",
        "John Doe",
        "AB-1234-cd",
        "007",
        "12345",
        "order 42 for 张三",
        "x",
        en.email(),
        zh.email(),
        en.ssn(),
        "13812345678@qq.com",
        zh.address(),
    ]
    for v in cases:
        t = tokenize(v, keyring=RING)
        assert len(t) == len(v)
        for a, b in zip(v, t):
            if a.isascii() and a.isdigit():
                assert b.isascii() and b.isdigit()
            elif a.isascii() and a.isalpha():
                assert b.isascii() and b.isalpha() and a.isupper() == b.isupper()
            elif "\u4e00" <= a <= "\u9fff":
                assert "\u4e00" <= b <= "\u9fff"
            else:
                assert a == b
        assert detokenize(t, RING) == v
    email = en.email()
    assert tokenize(email, keyring=RING).split("@")[1] == email.split("@")[1]
    # a digit string that would look like a mobile after encryption is walked on
    for n in range(300):
        v = f"{n:011d}"
        t = tokenize(v, keyring=RING)
        assert len(t) == 11 and not MOBILE_RX.fullmatch(t) and detokenize(t, RING) == v


def test_tokenize_marker_and_types():
    t = tokenize("13812345678", keyring=RING, marker="tok:")
    assert t.startswith("tok:") and detokenize(t, RING, marker="tok:") == "13812345678"
    assert tokenize("13812345678", keyring=RING) == t[4:]  # no marker unless configured
    assert tokenize(13812345678, keyring=RING) == t[4:]
    assert tokenize(None, keyring=RING) is None
    assert tokenize({"m": "13812345678"}, keyring=RING) == {"m": t[4:]}
    with pytest.raises(ValueError):
        detokenize(None, RING)
    with pytest.raises(UnknownKey):
        detokenize("13812345678", RING, "nope")


def test_rotated_keyring_still_detokenizes_old_tokens():
    old = Keyring({"2025": b"old-key-0123456789"})
    token = tokenize("110101199003074514", keyring=old)
    rotated = Keyring(
        {"2025": b"old-key-0123456789", "2026": b"new-key-0123456789"}, current="2026"
    )
    assert tokenize("110101199003074514", keyring=rotated) != token
    assert detokenize(token, rotated, "2025") == "110101199003074514"


# -- generalize ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, kwargs, expected",
    [
        ("1990-03-07", {}, "1990-03"),
        ("1990-03-07", {"granularity": "year"}, "1990"),
        ("1990/3/7", {}, "1990-03"),
        ("1990年3月7日", {"granularity": "year"}, "1990"),
        ("19900307", {"entity": "BIRTH_DATE"}, "1990-03"),
        ("2026-11-27T08:30:00Z", {"granularity": "day"}, "2026-11-27"),
        (dt.date(1990, 3, 7), {"granularity": "decade"}, "1990s"),
        (dt.datetime(2001, 12, 31, 23, 59), {}, "2001-12"),
        (34, {"entity": "AGE"}, "30-39"),
        ("34", {"kind": "age"}, "30-39"),
        (34, {"kind": "age", "width": 5}, "30-34"),
        (200, {"kind": "age"}, REDACTED),
        ("10.20.21.7", {}, "10.20.21.0/24"),
        ("10.20.21.7", {"ipv4_prefix": 16}, "10.20.0.0/16"),
        ("2001:db8:1:2:3:4:5:6", {}, "2001:db8:1:2::/64"),
        ("浙江省杭州市西湖区文三路90号", {}, "浙江省杭州市"),
        ("浙江省杭州市西湖区文三路90号", {"level": "district"}, "浙江省杭州市西湖区"),
        ("浙江省杭州市西湖区文三路90号", {"level": "province"}, "浙江省"),
        ("北京市朝阳区建国路88号", {}, "北京市"),
        ("北京市朝阳区建国路88号", {"level": "district"}, "北京市朝阳区"),
        ("内蒙古自治区欢县徐汇韦街b座 469074", {}, "内蒙古自治区欢县"),
        ("杭州市西湖区文三路90号", {}, "杭州市"),
        ("1777 Kramer Court\nJohnsonfurt, NE 80119", {}, "Johnsonfurt, NE"),
        ("1777 Kramer Court\nJohnsonfurt, NE 80119", {"level": "province"}, "NE"),
        (5234, {}, "5000-5999"),
        (12000.5, {"entity": "SALARY"}, "[10000, 20000)"),
        ("8800", {"kind": "number", "width": 1000}, "8000-8999"),
        (-42, {"kind": "number", "width": 10}, "[-50, -40)"),
        ("310012", {"entity": "POSTAL_CODE"}, "310***"),
        (30.274084, {"entity": "LOCATION"}, 30.27),
        ("30.274084,120.155070", {"kind": "coordinate"}, "30.27,120.16"),
        ("张三", {}, REDACTED),  # nothing to generalise: not shown
        ("张三", {"kind": "date"}, REDACTED),
        (True, {}, REDACTED),
    ],
)
def test_generalize(value, kwargs, expected):
    assert generalize(value, **kwargs) == expected


def test_generalize_faker_addresses_cut_at_city_level(fakers):
    zh, en = fakers
    for _ in range(100):
        a = zh.address()
        g = generalize(a, entity="ADDRESS")
        assert g != REDACTED and a.startswith(g) and len(g) < len(a)
        assert g[-1] in "省市区县州盟旗" or g.endswith(("自治区", "特别行政区")), (a, g)
        assert not re.search(r"\d", g)
    for _ in range(50):
        a = en.address()
        g = generalize(a, entity="ADDRESS")
        assert not re.search(r"\d", g) and g in a.replace("\n", ", ")
