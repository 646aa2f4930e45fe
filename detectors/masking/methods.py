"""Masking methods: pure functions value → masked value that never raise on odd input.

Every method takes any value: ``None`` stays ``None``; dicts and lists are masked item by item;
numbers, booleans, dates and bytes are masked through their text (bytes decoded as UTF-8), so a
masked number comes back as a string. A value a method cannot handle is replaced by
:data:`REDACTED` rather than passed through: a masking bug must not leak (fail closed).

``partial``
    Keep the first / last characters, format-aware: CN mobile ``138****5678``, resident ID
    (region 6 + last 4), bank card (first 6 + last 4, separators kept), e-mail ``a***@domain``,
    names ``张**`` / ``J*** D**``; anything else keeps at most half of its characters.
``redact``
    A fixed token (default ``***``).
``hash`` (:func:`keyed_hash`)
    HMAC-SHA256 under a keyring key, hex truncated (default 16) after an optional prefix: the
    same value under the same key gives the same pseudonym in every event, so analysts can
    correlate without seeing the value; another key gives another pseudonym.
``tokenize`` / :func:`detokenize`
    Deterministic, keyed, reversible and format-preserving (see "Format-preserving encryption").
``generalize``
    Date → month / year, age → band (``30-39``), IPv4 → /24, IPv6 → /64, address → city or
    province, number → range bucket, coordinates → rounded.
``nullify``
    ``None``.

>>> partial("13812345678"), partial("110101199003074514"), partial("6222021234567890")
('138****5678', '110101********4514', '622202******7890')
>>> partial("alice@example.com"), partial("张三丰"), partial("John Doe")
('a***@example.com', '张**', 'J*** D**')
>>> generalize("1990-03-07"), generalize(34, entity="AGE"), generalize("10.20.21.7")
('1990-03', '30-39', '10.20.21.0/24')
>>> generalize("浙江省杭州市西湖区文三路90号"), generalize("2001:db8:1:2:3:4:5:6")
('浙江省杭州市', '2001:db8:1:2::/64')
>>> ring = Keyring({"k1": b"0123456789abcdef0123"})
>>> t = tokenize("13812345678", keyring=ring)
>>> len(t), t[0], t != "13812345678", detokenize(t, ring)
(11, '1', True, '13812345678')
>>> keyed_hash("13812345678", keyring=ring) == keyed_hash(13812345678, keyring=ring)
True

Format-preserving encryption
    :func:`tokenize` maps a value to a value of the same shape with a keyed permutation: a
    balanced Feistel network (10 rounds, round function HMAC-SHA256 of the key, a tweak naming
    the domain and its size, the round number and the right half) over the smallest even number
    of bits that covers the domain, with cycle walking to stay inside the domain. This is
    FF1-*like* (a Feistel over an integer domain, keyed by a PRF, with a tweak) but **not** NIST
    SP 800-38G FF1: tokens are not interoperable with FF1 implementations, and tiny domains (a
    two-digit string has 100 possible tokens) are as weak as they are with any FPE.

    Domains, chosen by the entity (when the caller knows it) or by the value's shape, each a
    permutation of its own set, so the token is recognised as the same kind and decrypts:

    * CN mobile (optionally ``+86`` and separators): 11 digits with a valid 3-digit prefix;
      prefix and subscriber number are encrypted together.
    * Resident ID (17 digits + check character): a structured ID (valid province code, a date
      in one of three windows 1900–1929, 1930–2019, 2020–2099) becomes another structured ID of
      the same window, so tokens of real people look real (plausible birth date); anything else
      in the 17-digit space stays outside it. The check character keeps its offset from the
      GB 11643 check of the body: a valid ID gives a token with a valid check character.
    * Bank card (12–19 digits, separators kept): the 6-digit BIN is kept (``keep_bin``), the
      rest but the last digit is encrypted, the Luhn check digit keeps its offset (valid → valid).
    * E-mail: the local part is encrypted as below, the domain kept.
    * Anything else: every ASCII digit stays a digit, lower- and upper-case letters stay letters
      of the same case, CJK ideographs stay CJK ideographs; other characters are kept. A result
      that would look like one of the kinds above is encrypted again (cycle walking).
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import hmac
import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from detectors.masking.keys import Keyring
from detectors.sensitive.validators import CN_PROVINCE_CODES, gb11643_check_char

__all__ = [
    "METHODS",
    "METHOD_ORDER",
    "REDACTED",
    "Keyring",
    "MethodSpec",
    "apply",
    "detokenize",
    "fpe_int",
    "generalize",
    "keyed_hash",
    "method_strictness",
    "nullify",
    "partial",
    "redact",
    "tokenize",
]

REDACTED = "***"

# ---------------------------------------------------------------------------------------------
# Plumbing
# ---------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """The text a method works on (bytes as UTF-8, booleans in lower case, dates ISO)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    return str(value)


def _total(fn: Callable[..., Any]) -> Callable[..., Any]:
    """None → None, containers item by item, any failure → :data:`REDACTED` (fail closed)."""

    @functools.wraps(fn)
    def wrapper(value: Any, *args: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, Mapping):
            return {k: wrapper(v, *args, **kwargs) for k, v in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            return [wrapper(v, *args, **kwargs) for v in value]
        try:
            return fn(value, *args, **kwargs)
        except Exception:  # noqa: BLE001 — a value we cannot mask is not shown
            return REDACTED

    return wrapper


def _digit_positions(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if "0" <= ch <= "9"]


def _replace_at(text: str, positions: list[int], chars: str) -> str:
    out = list(text)
    for i, ch in zip(positions, chars):
        out[i] = ch
    return "".join(out)


#: 3-digit CN mobile prefixes: those the CN_MOBILE recognizer accepts
#: (``1(?:3\d|4[57]|5[0-35-9]|6[25-7]|7[0-35-8]|8\d|9[0-35-9])``) and 149 (assigned, and in
#: Faker's list). A value with another prefix is tokenized as plain digits.
_MOBILE_PREFIXES: tuple[str, ...] = tuple(
    p
    for p in (f"1{n:02d}" for n in range(100))
    if re.fullmatch(r"1(?:3\d|4[579]|5[0-35-9]|6[25-7]|7[0-35-8]|8\d|9[0-35-9])", p)
)
_MOBILE_INDEX = {p: i for i, p in enumerate(_MOBILE_PREFIXES)}
_PHONE_CHARS = re.compile(r"\+?[0-9 ()\-.]+")


def _mobile_digits(text: str) -> tuple[list[int], int] | None:
    """(digit positions, index of the national number among them) of a CN mobile, else None."""
    if not _PHONE_CHARS.fullmatch(text):
        return None
    pos = _digit_positions(text)
    digits = "".join(text[i] for i in pos)
    n = len(digits)
    if n == 11:
        start = 0
    elif n == 13 and digits.startswith("86"):
        start = 2
    elif n == 15 and digits.startswith("0086"):
        start = 4
    else:
        return None
    if digits[start : start + 3] not in _MOBILE_INDEX:
        return None
    return pos, start


_ID_RX = re.compile(r"\d{17}[\dXx]")
_ID15_RX = re.compile(r"\d{15}")
_CARD_RX = re.compile(r"\d[\d \-]*\d")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAS_CJK = re.compile(f"[{_CJK}]")
_CJK_NAME_RX = re.compile(f"[{_CJK}][{_CJK}·]{{1,5}}")
_LATIN_NAME_RX = re.compile(r"[A-Za-z][A-Za-z'.\-]*(?:\s+[A-Za-z][A-Za-z'.\-]*){0,4}")
_AUTO_LATIN_NAME_RX = re.compile(r"[A-Z][a-z'.\-]+(?:\s+[A-Z][A-Za-z'.\-]+){1,3}")


def _card_digits(text: str) -> list[int] | None:
    if not _CARD_RX.fullmatch(text):
        return None
    pos = _digit_positions(text)
    return pos if 12 <= len(pos) <= 19 else None


@lru_cache(maxsize=1)
def _compound_surnames() -> frozenset[str]:
    try:
        from detectors.sensitive.loader import load_surnames

        return frozenset(s for s in load_surnames() if len(s) > 1)
    except Exception:  # noqa: BLE001 — the data file is a nicety here, not a requirement
        return frozenset()


# ---------------------------------------------------------------------------------------------
# partial
# ---------------------------------------------------------------------------------------------

_PARTIAL_FORMATS = ("auto", "mobile", "phone", "id", "card", "email", "name", "generic")
_ENTITY_PARTIAL: dict[str, tuple[str, ...]] = {
    "CN_MOBILE": ("mobile", "phone"),  # a "mobile" column may hold a foreign number
    "PHONE_NUMBER": ("phone",),
    "CN_LANDLINE": ("phone",),
    "CN_RESIDENT_ID": ("id",),
    "BANK_CARD": ("card",),
    "BANK_ACCOUNT": ("card",),
    "EMAIL": ("email",),
    "PERSON_NAME": ("name",),
}


def _mask_digits(text: str, pos: list[int], first: int, last: int, ch: str) -> str:
    n = len(pos)
    first, last = _fit(n, first, last)
    hide = pos[first : n - last] if last else pos[first:]
    out = list(text)
    for i in hide:
        out[i] = ch
    return "".join(out)


def _fit(n: int, first: int, last: int) -> tuple[int, int]:
    """Keep counts that leave at least one character masked."""
    if first + last < n:
        return first, last
    last = max(0, min(last, (n - 1) // 2))
    first = max(0, min(first, n - 1 - last))
    return first, last


def _partial_generic(text: str, first: int | None, last: int | None, ch: str) -> str:
    n = len(text)
    if n == 0:
        return text
    if first is None and last is None:
        # Unknown formats keep at most half of the characters, and none of a short value.
        first, last = (0, 0) if n <= 2 else (1, 0) if n <= 4 else (1, 1) if n <= 7 else (2, 2)
    first, last = _fit(n, first or 0, last or 0)
    return text[:first] + ch * (n - first - last) + (text[n - last :] if last else "")


def _partial_name(text: str, ch: str) -> str | None:
    t = text.strip()
    if _CJK_NAME_RX.fullmatch(t):
        keep = 2 if len(t) > 2 and t[:2] in _compound_surnames() else 1
        return t[:keep] + ch * (len(t) - keep)
    if _LATIN_NAME_RX.fullmatch(t):
        return re.sub(
            r"[A-Za-z][A-Za-z'.\-]*", lambda m: m.group(0)[0] + ch * (len(m.group(0)) - 1), t
        )
    return None


def _partial_as(fmt: str, text: str, first: int | None, last: int | None, ch: str) -> str | None:
    """Mask ``text`` as ``fmt``; None when the value does not have that format."""
    if fmt == "mobile":
        m = _mobile_digits(text)
        if m is None:
            return None
        pos, start = m
        keep_first = 3 if first is None else first
        keep_last = 4 if last is None else last
        return _mask_digits(text, pos[start:], keep_first, keep_last, ch)
    if fmt == "phone":
        if _mobile_digits(text) is not None:
            return _partial_as("mobile", text, first, last, ch)
        if not re.fullmatch(r"[+0-9 ()\-.x]+", text):
            return None
        pos = _digit_positions(text)
        if len(pos) < 5:
            return None
        dflt = (3, 4) if len(pos) >= 9 else (0, 2)
        return _mask_digits(
            text, pos, dflt[0] if first is None else first, dflt[1] if last is None else last, ch
        )
    if fmt == "id":
        if not (_ID_RX.fullmatch(text) or _ID15_RX.fullmatch(text)):
            return None
        return _partial_generic(
            text, 6 if first is None else first, 4 if last is None else last, ch
        )
    if fmt == "card":
        pos = _card_digits(text)
        if pos is None:
            return None
        return _mask_digits(
            text, pos, 6 if first is None else first, 4 if last is None else last, ch
        )
    if fmt == "email":
        at = text.rfind("@")
        if at <= 0 or at == len(text) - 1:
            return None
        local = text[:at]
        keep = min(1 if first is None else first, len(local))
        return local[:keep] + ch * 3 + text[at:]
    if fmt == "name":
        return _partial_name(text, ch)
    if fmt == "generic":
        return _partial_generic(text, first, last, ch)
    return None


@_total
def partial(
    value: Any,
    *,
    entity: str | None = None,
    format: str = "auto",  # noqa: A002 — the policy file's parameter name
    keep_first: int | None = None,
    keep_last: int | None = None,
    mask_char: str = "*",
) -> Any:
    """Keep the first ``keep_first`` / last ``keep_last`` characters (defaults by format).

    ``format``: ``auto`` (the entity's format, else the value's shape), ``mobile``, ``phone``,
    ``id``, ``card``, ``email``, ``name`` or ``generic``. A value that does not have the asked
    format is masked as ``generic`` (at most half of it kept).

    >>> partial("+86 138-1234-5678"), partial("6222 0212 3456 7890"), partial("欧阳娜娜")
    ('+86 138-****-5678', '6222 02** **** 7890', '欧阳**')
    >>> partial("110101199003074514", keep_first=3, keep_last=2), partial(None), partial(12345)
    ('110*************14', None, '1***5')
    """
    text = _text(value)
    fmts: tuple[str, ...]
    if format and format != "auto":
        fmts = (format,)
    else:
        fmts = _ENTITY_PARTIAL.get(entity or "", ()) + ("email", "mobile", "id", "card")
        # Shape alone says "name" only for short CJK runs and capitalised word pairs.
        if (_CJK_NAME_RX.fullmatch(text) and len(text) <= 4) or _AUTO_LATIN_NAME_RX.fullmatch(text):
            fmts += ("name",)
    for fmt in fmts:
        out = _partial_as(fmt, text, keep_first, keep_last, mask_char)
        if out is not None:
            return out
    return _partial_generic(text, keep_first, keep_last, mask_char)


# ---------------------------------------------------------------------------------------------
# redact, nullify, hash
# ---------------------------------------------------------------------------------------------


@_total
def redact(value: Any, *, token: str = REDACTED) -> Any:
    """The fixed ``token`` for every value (``None`` stays ``None``: it hides nothing).

    >>> redact("secret"), redact(["a", None]), redact(3, token="[x]")
    ('***', ['***', None], '[x]')
    """
    return token


def nullify(value: Any, **_: Any) -> None:
    """Always ``None``.

    >>> nullify("13812345678") is None
    True
    """
    return None


@_total
def keyed_hash(
    value: Any,
    *,
    keyring: Keyring,
    key_id: str | None = None,
    length: int = 16,
    prefix: str = "",
    context: str = "",
) -> str:
    """``prefix`` + the first ``length`` hex digits of HMAC-SHA256(key, value).

    The value's text is stripped first (``" 138… "`` and ``138…`` are one person). ``context``
    separates pseudonym spaces under one key (empty: the same value correlates across columns).

    >>> ring = Keyring({"a": b"a" * 16, "b": b"b" * 16}, current="a")
    >>> h = keyed_hash("alice@example.com", keyring=ring, prefix="h:")
    >>> h.startswith("h:"), len(h), h == keyed_hash("alice@example.com", keyring=ring, key_id="b")
    (True, 18, False)
    """
    key = keyring.derive("hash", key_id)
    msg = context.encode("utf-8") + b"\x00" + _text(value).strip().encode("utf-8", "surrogatepass")
    return prefix + hmac.digest(key, msg, "sha256").hex()[: max(1, int(length))]


# ---------------------------------------------------------------------------------------------
# Format-preserving encryption
# ---------------------------------------------------------------------------------------------

_ROUNDS = 10


def _round(key: bytes, tweak: bytes, i: int, half: int, bits: int) -> int:
    size = (bits + 7) // 8
    msg = tweak + bytes((i,)) + half.to_bytes(size, "big")
    out = hmac.digest(key, msg, "sha256")
    counter = 1
    while len(out) < size:  # domains wider than 512 bits (long free text)
        out += hmac.digest(key, msg + counter.to_bytes(4, "big"), "sha256")
        counter += 1
    return int.from_bytes(out[:size], "big") & ((1 << bits) - 1)


def _feistel(x: int, bits: int, key: bytes, tweak: bytes, decrypt: bool) -> int:
    h = bits // 2
    left, right = x >> h, x & ((1 << h) - 1)
    if decrypt:
        for i in reversed(range(_ROUNDS)):
            left, right = right ^ _round(key, tweak, i, left, h), left
    else:
        for i in range(_ROUNDS):
            left, right = right, left ^ _round(key, tweak, i, right, h)
    return (left << h) | right


def fpe_int(x: int, n: int, key: bytes, tweak: bytes = b"", decrypt: bool = False) -> int:
    """A keyed permutation of ``range(n)`` (and its inverse with ``decrypt=True``).

    >>> k = b"k" * 32
    >>> ys = [fpe_int(x, 1000, k) for x in range(1000)]
    >>> sorted(ys) == list(range(1000)), [fpe_int(y, 1000, k, decrypt=True) for y in ys[:3]]
    (True, [0, 1, 2])
    """
    if n <= 1:
        return x
    if not 0 <= x < n:
        raise ValueError("value outside the domain")
    bits = max(2, (n - 1).bit_length())
    bits += bits & 1
    t = b"%s/%d/" % (tweak, n)
    y = _feistel(x, bits, key, t, decrypt)
    while y >= n:  # cycle walking: the Feistel permutes 2**bits (< 4n) values
        y = _feistel(y, bits, key, t, decrypt)
    return y


# -- generic shape: digits stay digits, letters letters (same case), CJK CJK ----------------

_CJK_LO, _CJK_N = 0x4E00, 0x9FFF - 0x4E00 + 1
_MAX_FPE_CHARS = 4096


def _char_class(ch: str) -> tuple[int, int] | None:
    """(radix, base code point) of an encrypted character class, None for kept characters."""
    if "0" <= ch <= "9":
        return 10, 48
    if "a" <= ch <= "z":
        return 26, 97
    if "A" <= ch <= "Z":
        return 26, 65
    o = ord(ch)
    if _CJK_LO <= o < _CJK_LO + _CJK_N:
        return _CJK_N, _CJK_LO
    return None


def _shape_perm(text: str, key: bytes, tweak: bytes, decrypt: bool) -> str:
    if len(text) > _MAX_FPE_CHARS:
        raise ValueError("value too long to tokenize")
    slots: list[tuple[int, int, int]] = []
    sig = []
    for i, ch in enumerate(text):
        c = _char_class(ch)
        if c is None:
            sig.append(ch)
        else:
            slots.append((i, c[0], c[1]))
            sig.append({10: "d", 26: "l" if c[1] == 97 else "u"}.get(c[0], "c"))
    if not slots:
        return text
    x, n = 0, 1
    for i, radix, base in slots:
        x += (ord(text[i]) - base) * n
        n *= radix
    shape = hashlib.blake2b("".join(sig).encode("utf-8", "surrogatepass"), digest_size=8).digest()
    y = fpe_int(x, n, key, tweak + b"/" + shape, decrypt)
    out = list(text)
    for i, radix, base in slots:
        y, d = divmod(y, radix)
        out[i] = chr(base + d)
    return "".join(out)


# -- schemes: each a permutation of its own set of values -----------------------------------


def _perm_generic(text: str, key: bytes, decrypt: bool, keep_bin: bool) -> str:
    return _shape_perm(text, key, b"generic", decrypt)


def _perm_email(text: str, key: bytes, decrypt: bool, keep_bin: bool) -> str:
    at = text.rfind("@")
    return _shape_perm(text[:at], key, b"email", decrypt) + text[at:]


def _perm_mobile(text: str, key: bytes, decrypt: bool, keep_bin: bool) -> str:
    found = _mobile_digits(text)
    assert found is not None
    pos, start = found
    nat = "".join(text[i] for i in pos[start : start + 11])
    x = _MOBILE_INDEX[nat[:3]] * 10**8 + int(nat[3:])
    y = fpe_int(x, len(_MOBILE_PREFIXES) * 10**8, key, b"mobile", decrypt)
    new = _MOBILE_PREFIXES[y // 10**8] + f"{y % 10**8:08d}"
    return _replace_at(text, pos[start : start + 11], new)


_ID_ALPHABET = "0123456789X"
_ID_PROVINCES = tuple(sorted(CN_PROVINCE_CODES))
_ID_WINDOWS = (
    (_dt.date(1900, 1, 1), _dt.date(1929, 12, 31)),
    (_dt.date(1930, 1, 1), _dt.date(2019, 12, 31)),
    (_dt.date(2020, 1, 1), _dt.date(2099, 12, 31)),
)
_ID_PROV_INDEX = {p: i for i, p in enumerate(_ID_PROVINCES)}


def _id_window(body: str) -> tuple[int, _dt.date] | None:
    if body[:2] not in _ID_PROV_INDEX:
        return None
    try:
        d = _dt.date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        return None
    for w, (lo, hi) in enumerate(_ID_WINDOWS):
        if lo <= d <= hi:
            return w, d
    return None


def _id_days(w: int) -> int:
    lo, hi = _ID_WINDOWS[w]
    return (hi - lo).days + 1


def _perm_id(text: str, key: bytes, decrypt: bool, keep_bin: bool) -> str:
    body, check = text[:17], text[17].upper()
    offset = (_ID_ALPHABET.index(check) - _ID_ALPHABET.index(gb11643_check_char(body))) % 11
    found = _id_window(body)
    if found is not None:
        # A structured ID (province, birth date) maps to a structured ID of the same window.
        w, born = found
        days = _id_days(w)
        x = (_ID_PROV_INDEX[body[:2]] * 10**4 + int(body[2:6])) * days + (
            born - _ID_WINDOWS[w][0]
        ).days
        x = x * 1000 + int(body[14:17])
        y = fpe_int(x, len(_ID_PROVINCES) * 10**4 * days * 1000, key, b"id/%d" % w, decrypt)
        y, seq = divmod(y, 1000)
        y, day = divmod(y, days)
        prov, region = divmod(y, 10**4)
        d = _ID_WINDOWS[w][0] + _dt.timedelta(days=day)
        new = f"{_ID_PROVINCES[prov]}{region:04d}{d:%Y%m%d}{seq:03d}"
    else:
        # Everything else in the 17-digit space stays outside the structured set.
        y = fpe_int(int(body), 10**17, key, b"id/other", decrypt)
        while _id_window(f"{y:017d}") is not None:
            y = fpe_int(y, 10**17, key, b"id/other", decrypt)
        new = f"{y:017d}"
    return new + _ID_ALPHABET[(_ID_ALPHABET.index(gb11643_check_char(new)) + offset) % 11]


def _luhn_digit(payload: str) -> int:
    """The digit that makes ``payload + digit`` pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = ord(ch) - 48
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def _perm_card(text: str, key: bytes, decrypt: bool, keep_bin: bool) -> str:
    pos = _card_digits(text)
    assert pos is not None
    digits = "".join(text[i] for i in pos)
    keep = 6 if keep_bin else 0
    mid = digits[keep:-1]
    offset = (int(digits[-1]) - _luhn_digit(digits[:-1])) % 10
    y = fpe_int(int(mid), 10 ** len(mid), key, b"card/%d/%d" % (len(digits), keep), decrypt)
    new = digits[:keep] + f"{y:0{len(mid)}d}"
    new += str((_luhn_digit(new) + offset) % 10)
    return _replace_at(text, pos, new)


_CLAIMS: dict[str, Callable[[str], bool]] = {
    "email": lambda t: t.rfind("@") > 0,
    "mobile": lambda t: _mobile_digits(t) is not None,
    "id": lambda t: _ID_RX.fullmatch(t) is not None,
    "card": lambda t: _card_digits(t) is not None,
}
_PERMS = {
    "email": _perm_email,
    "mobile": _perm_mobile,
    "id": _perm_id,
    "card": _perm_card,
    "generic": _perm_generic,
}
_TOKEN_FORMATS = ("auto", *_CLAIMS, "generic")
_DEFAULT_ORDER = ("email", "mobile", "id", "card")
_ENTITY_TOKEN = {
    "EMAIL": "email",
    "CN_MOBILE": "mobile",
    "PHONE_NUMBER": "mobile",
    "CN_RESIDENT_ID": "id",
    "BANK_CARD": "card",
    "BANK_ACCOUNT": "card",
}


def _candidates(entity: str | None, fmt: str) -> tuple[str, ...]:
    if fmt and fmt != "auto":
        return () if fmt == "generic" else (fmt,)
    first = _ENTITY_TOKEN.get(entity or "")
    if not first:
        return _DEFAULT_ORDER
    return (first, *(s for s in _DEFAULT_ORDER if s != first))


def _scheme(text: str, candidates: tuple[str, ...]) -> str:
    for s in candidates:
        if _CLAIMS[s](text):
            return s
    return "generic"


def _walk(text: str, candidates: tuple[str, ...], key: bytes, keep_bin: bool, decrypt: bool) -> str:
    # Each scheme permutes a superset of the values it claims; walking until the result is
    # claimed by the same scheme again makes it a permutation of exactly those values, so
    # detokenize picks the same scheme from the token alone.
    scheme = _scheme(text, candidates)
    perm = _PERMS[scheme]
    out = perm(text, key, decrypt, keep_bin)
    while _scheme(out, candidates) != scheme:
        out = perm(out, key, decrypt, keep_bin)
    return out


@_total
def tokenize(
    value: Any,
    *,
    keyring: Keyring,
    key_id: str | None = None,
    entity: str | None = None,
    format: str = "auto",  # noqa: A002 — the policy file's parameter name
    keep_bin: bool = True,
    marker: str = "",
) -> str:
    """A reversible, format-preserving token of ``value`` under a keyring key (module doc).

    Pass the same ``entity``, ``format``, ``keep_bin`` and ``marker`` to :func:`detokenize`.

    >>> from detectors.sensitive.validators import gb11643
    >>> ring = Keyring({"k": b"k" * 16})
    >>> t = tokenize("110101199003074514", keyring=ring)
    >>> len(t), gb11643(t), detokenize(t, ring)
    (18, True, '110101199003074514')
    >>> tokenize("张三", keyring=ring) != "张三", len(tokenize("AB-1234", keyring=ring))
    (True, 7)
    """
    key = keyring.derive("fpe", key_id)
    return marker + _walk(_text(value), _candidates(entity, format), key, keep_bin, False)


def detokenize(
    token: Any,
    keyring: Keyring,
    key_id: str | None = None,
    *,
    entity: str | None = None,
    format: str = "auto",  # noqa: A002
    keep_bin: bool = True,
    marker: str = "",
) -> str:
    """The plaintext of a :func:`tokenize` token (``key_id``: the key it was made with).

    Unlike the masking methods this raises: ``ValueError`` for no token, :class:`UnknownKey`
    for a key the ring does not hold. A token made with other parameters decrypts to garbage.
    """
    if token is None:
        raise ValueError("no token")
    text = _text(token)
    if marker and text.startswith(marker):
        text = text[len(marker) :]
    key = keyring.derive("fpe", key_id)
    return _walk(text, _candidates(entity, format), key, keep_bin, True)


# ---------------------------------------------------------------------------------------------
# generalize
# ---------------------------------------------------------------------------------------------

_GENERALIZE_KINDS = ("auto", "date", "age", "ip", "address", "number", "coordinate", "postal")
_ENTITY_KIND = {
    "BIRTH_DATE": "date",
    "AGE": "age",
    "IP_ADDRESS": "ip",
    "ADDRESS": "address",
    "POSTAL_CODE": "postal",
    "SALARY": "number",
    "ACCOUNT_BALANCE": "number",
    "TRANSACTION": "number",
    "CREDIT_RECORD": "number",
    "LOCATION": "coordinate",
}
_DATE_RX = re.compile(
    r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})(?:\s*[-/.月]\s*(\d{1,2})\s*日?)?\s*(?:月\s*)?(?:[T\s].*)?"
)
_DATE8_RX = re.compile(r"\s*(\d{4})(\d{2})(\d{2})\s*")
_NUMBER_RX = re.compile(r"\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*")


def _date_parts(value: Any, compact: bool) -> tuple[int, int, int | None] | None:
    if isinstance(value, _dt.datetime | _dt.date):
        return value.year, value.month, value.day
    text = _text(value)
    m = _DATE_RX.fullmatch(text) or (_DATE8_RX.fullmatch(text) if compact else None)
    if not m:
        return None
    y, mo = int(m.group(1)), int(m.group(2))
    d = int(m.group(3)) if m.group(3) else None
    if not 1 <= mo <= 12 or (d is not None and not 1 <= d <= 31):
        return None
    return y, mo, d


def _gen_date(value: Any, granularity: str, compact: bool) -> str | None:
    parts = _date_parts(value, compact)
    if parts is None:
        return None
    y, mo, d = parts
    if granularity == "year":
        return f"{y:04d}"
    if granularity == "decade":
        return f"{y // 10 * 10:04d}s"
    if granularity == "day" and d is not None:
        return f"{y:04d}-{mo:02d}-{d:02d}"
    return f"{y:04d}-{mo:02d}"


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, (float, Decimal)):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else f
    text = _text(value)
    if not _NUMBER_RX.fullmatch(text):
        return None
    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        return None
    return (
        int(d)
        if d == d.to_integral_value() and "." not in text and "e" not in text.lower()
        else float(d)
    )


def _gen_age(value: Any, width: float | None) -> str | None:
    v = _number(value)
    if v is None or not 0 <= v <= 150:
        return None
    w = int(width or 10)
    lo = int(v) // w * w
    return f"{lo}-{lo + w - 1}"


def _gen_number(value: Any, width: float | None) -> str | None:
    v = _number(value)
    if v is None:
        return None
    if width:
        w: float = width
    else:
        mag = abs(v)
        w = 10 ** math.floor(math.log10(mag)) if mag >= 1 else 1
    lo = math.floor(v / w) * w
    if isinstance(v, int) and float(w).is_integer() and lo >= 0:
        lo, w = int(lo), int(w)
        return f"{lo}-{lo + w - 1}"

    def fmt(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else f"{x:g}"

    return f"[{fmt(lo)}, {fmt(lo + w)})"


def _gen_ip(value: Any, v4: int, v6: int) -> str | None:
    try:
        ip = ipaddress.ip_address(_text(value).strip())
    except ValueError:
        return None
    prefix = v4 if ip.version == 4 else v6
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


@lru_cache(maxsize=1)
def _divisions_rx() -> tuple[re.Pattern[str], frozenset[str]]:
    names: set[str] = set()
    municipalities: set[str] = set()
    try:
        from detectors.sensitive.loader import load_divisions

        div = load_divisions()
        for short, full in div.provinces.values():
            names.update({full, short + "省", short})
            if full.endswith("市"):
                municipalities.update({full, short})
    except Exception:  # noqa: BLE001 — without the data the suffix grammar still cuts
        pass
    alts = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(f"(?:{alts})" if alts else r"(?!)"), frozenset(municipalities)


# The shortest run ending in an administrative suffix, but not one that another suffix follows
# (杭州市 is a city named 杭州, not the unit 杭州 followed by 市).
_UNIT_RX = re.compile(
    r"[^\d\s,，;；()（）#\-]{1,8}?(?:自治州|地区|盟|州|市|县|区|旗)(?![市县区旗州盟])"
)


def _gen_cn_address(text: str, level: str) -> str | None:
    t = text.strip()
    prov_rx, municipalities = _divisions_rx()
    m = prov_rx.match(t)
    prov = m.group(0) if m else ""
    rest = t[len(prov) :]
    if level == "province":
        return prov or None
    if prov and prov in municipalities:
        city = prov if prov.endswith("市") else prov + "市"
        if rest.startswith("市"):
            rest = rest[1:]
    else:
        u = _UNIT_RX.match(rest)
        city = prov + (u.group(0) if u else "")
        rest = rest[len(u.group(0)) :] if u else rest
    if level == "city":
        return city or None
    u = _UNIT_RX.match(rest)
    return (city + u.group(0)) if u else (city or None)


def _gen_latin_address(text: str, level: str) -> str | None:
    parts = [p.strip() for p in re.split(r"[\n,]", text) if p.strip()]
    if len(parts) < 2:
        return None
    # Drop the street line, the postal code that ends the address, and any part with numbers
    # left (a PO box, a suite): what remains is the city and the state.
    parts = parts[1:]
    parts[-1] = re.sub(r"\s+\d[\d\- ]{2,}$", "", parts[-1])
    parts = [p for p in parts if p and not any(ch.isdigit() for ch in p)]
    if not parts:
        return None
    return parts[-1] if level == "province" else ", ".join(parts)


def _gen_address(value: Any, level: str) -> str | None:
    text = _text(value)
    if _HAS_CJK.search(text):
        return _gen_cn_address(text, level)
    return _gen_latin_address(text, level)


def _gen_coordinate(value: Any, decimals: int) -> Any:
    v = _number(value)
    if v is not None:
        return round(float(v), decimals)
    parts = re.split(r"\s*[,;]\s*", _text(value).strip())
    if len(parts) == 2 and all(_NUMBER_RX.fullmatch(p) for p in parts):
        return ",".join(f"{round(float(p), decimals):.{decimals}f}" for p in parts)
    return None


def _gen_postal(value: Any, keep: int) -> str | None:
    text = _text(value).strip()
    if not text.isdigit() or len(text) < 3:
        return None
    keep = max(0, min(keep, len(text) - 1))
    return text[:keep] + "*" * (len(text) - keep)


def _guess_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (_dt.datetime, _dt.date)):
        return "date"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    text = _text(value).strip()
    try:
        ipaddress.ip_address(text)
        return "ip"
    except ValueError:
        pass
    if _DATE_RX.fullmatch(text):
        return "date"
    if _NUMBER_RX.fullmatch(text):
        return "number"
    if _HAS_CJK.search(text) and (_divisions_rx()[0].match(text) or _UNIT_RX.match(text)):
        return "address"
    if re.search(r"\d", text) and re.search(r"[\n,]", text):
        return "address"
    return None


@_total
def generalize(
    value: Any,
    *,
    entity: str | None = None,
    kind: str = "auto",
    granularity: str = "month",
    width: float | None = None,
    ipv4_prefix: int = 24,
    ipv6_prefix: int = 64,
    level: str = "city",
    decimals: int = 2,
    keep: int = 3,
) -> Any:
    """A coarser value: ``kind`` ``date`` (``granularity`` ``day``/``month``/``year``/``decade``),
    ``age`` (band of ``width``, default 10), ``number`` (bucket of ``width``, default the value's
    order of magnitude), ``ip`` (network of ``ipv4_prefix``/``ipv6_prefix``), ``address``
    (``level`` ``province``/``city``/``district``), ``coordinate`` (``decimals``), ``postal``
    (first ``keep`` digits). ``auto``: by the entity, else by the value's shape. A value that
    cannot be generalised as asked is :data:`REDACTED`.

    >>> generalize("1990年3月7日", granularity="year"), generalize(_dt.date(1990, 3, 7))
    ('1990', '1990-03')
    >>> generalize(5234), generalize(12000.5, entity="SALARY"), generalize(72, width=25)
    ('5000-5999', '[10000, 20000)', '50-74')
    >>> generalize("上海市浦东新区世纪大道100号"), generalize("新疆维吾尔自治区福州市浔阳王街b座")
    ('上海市', '新疆维吾尔自治区福州市')
    >>> generalize("1777 Kramer Court\\nJohnsonfurt, NE 80119"), generalize("just text")
    ('Johnsonfurt, NE', '***')
    """
    k = kind if kind and kind != "auto" else (_ENTITY_KIND.get(entity or "") or _guess_kind(value))
    out: Any = None
    if k == "date":
        out = _gen_date(value, granularity, compact=kind == "date" or entity == "BIRTH_DATE")
    elif k == "age":
        out = _gen_age(value, width)
    elif k == "number":
        out = _gen_number(value, width)
    elif k == "ip":
        out = _gen_ip(value, ipv4_prefix, ipv6_prefix)
    elif k == "address":
        out = _gen_address(value, level)
    elif k == "coordinate":
        out = _gen_coordinate(value, decimals)
    elif k == "postal":
        out = _gen_postal(value, keep)
    return REDACTED if out is None else out


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------


def _int(lo: int, hi: int) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        ok = isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi
        return None if ok else f"must be an integer {lo}..{hi}"

    return check


def _number_param(v: Any) -> str | None:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0
    return None if ok else "must be a positive number"


def _str(max_len: int = 64, min_len: int = 0) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        ok = isinstance(v, str) and min_len <= len(v) <= max_len
        return None if ok else f"must be a string of {min_len}..{max_len} characters"

    return check


def _one_of(*choices: str) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if v in choices else f"must be one of {', '.join(choices)}"

    return check


def _bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else "must be true or false"


@dataclass(frozen=True)
class MethodSpec:
    """A method as the policy names it: the function, its parameters (name → validator that
    returns an error message or None), whether it needs a key, and how strict it is."""

    name: str
    fn: Callable[..., Any]
    params: Mapping[str, Callable[[Any], str | None]]
    keyed: bool
    strength: int  #: 1 partial < 2 generalize < 3 hash/tokenize < 4 redact/nullify

    def check_params(self, params: Mapping[str, Any]) -> list[str]:
        errors = []
        for k, v in params.items():
            check = self.params.get(k)
            if check is None:
                known = ", ".join(sorted(self.params)) or "none"
                errors.append(f"unknown parameter {k!r} for {self.name} (known: {known})")
            else:
                msg = check(v)
                if msg:
                    errors.append(f"parameter {k} of {self.name} {msg}")
        return errors


METHODS: dict[str, MethodSpec] = {
    "partial": MethodSpec(
        "partial",
        partial,
        {
            "keep_first": _int(0, 64),
            "keep_last": _int(0, 64),
            "mask_char": _str(1, 1),
            "format": _one_of(*_PARTIAL_FORMATS),
        },
        False,
        1,
    ),
    "generalize": MethodSpec(
        "generalize",
        generalize,
        {
            "kind": _one_of(*_GENERALIZE_KINDS),
            "granularity": _one_of("day", "month", "year", "decade"),
            "width": _number_param,
            "ipv4_prefix": _int(0, 32),
            "ipv6_prefix": _int(0, 128),
            "level": _one_of("province", "city", "district"),
            "decimals": _int(0, 8),
            "keep": _int(0, 10),
        },
        False,
        2,
    ),
    "tokenize": MethodSpec(
        "tokenize",
        tokenize,
        {
            "key_id": _str(128, 1),
            "format": _one_of(*_TOKEN_FORMATS),
            "keep_bin": _bool,
            "marker": _str(16),
        },
        True,
        3,
    ),
    "hash": MethodSpec(
        "hash",
        keyed_hash,
        {"key_id": _str(128, 1), "length": _int(8, 64), "prefix": _str(16), "context": _str(64)},
        True,
        3,
    ),
    "nullify": MethodSpec("nullify", nullify, {}, False, 4),
    "redact": MethodSpec("redact", redact, {"token": _str(64)}, False, 4),
}

#: Strictness order, weakest first: strength groups (partial < generalize < hash/tokenize <
#: redact/nullify), ties broken by this order (an irreversible hash over a reversible token,
#: a visible redaction token over a null).
METHOD_ORDER = ("partial", "generalize", "tokenize", "hash", "nullify", "redact")
_ORDER_INDEX = {m: i for i, m in enumerate(METHOD_ORDER)}


def method_strictness(method: str | None) -> tuple[int, int]:
    """Sort key: higher is stricter. Unknown methods count as the strictest (fail closed).

    >>> sorted(["redact", "partial", "hash", "generalize"], key=method_strictness)
    ['partial', 'generalize', 'hash', 'redact']
    """
    spec = METHODS.get(method or "")
    if spec is None:
        return (9, 9)
    return (spec.strength, _ORDER_INDEX[spec.name])


def apply(
    method: str,
    value: Any,
    params: Mapping[str, Any] | None = None,
    *,
    entity: str | None = None,
    keyring: Keyring | None = None,
    key_id: str | None = None,
) -> Any:
    """Mask ``value`` with the named method and parameters (``entity`` guides formats).

    Unknown methods, keyed methods without a keyring and failures give :data:`REDACTED`.

    >>> apply("partial", "13812345678", {"keep_first": 3, "keep_last": 2}, entity="CN_MOBILE")
    '138******78'
    >>> apply("hash", "x"), apply("nope", "x"), apply("nullify", "x")
    ('***', '***', None)
    """
    spec = METHODS.get(method)
    if spec is None:
        return None if value is None else REDACTED
    kwargs = dict(params or {})
    if spec.keyed:
        if keyring is None:
            return None if value is None else REDACTED
        kwargs["keyring"] = keyring
        if key_id is not None:
            kwargs["key_id"] = key_id
    if spec.name in ("partial", "generalize", "tokenize"):
        kwargs.setdefault("entity", entity)
    try:
        return spec.fn(value, **kwargs)
    except Exception:  # noqa: BLE001 — bad parameters at run time: fail closed
        return None if value is None else REDACTED
