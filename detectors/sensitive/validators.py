"""Checksums and structural checks that turn a regex candidate into a finding.

Every validator takes the matched text (separators included) and returns ``True`` (valid),
``False`` (reject the candidate) or ``None`` (cannot tell: keep the pattern score). They are
registered by name in :data:`VALIDATORS` so YAML recognizers can name them.

>>> luhn("4111 1111 1111 1111"), luhn("4111111111111112")
(True, False)
>>> gb11643("11010519491231002X"), gb11643("110101199003074519")
(True, False)
>>> gb32100("91110000600037341L"), hkid("A123456(3)"), iban("DE89 3704 0044 0532 0130 00")
(True, True, True)
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import ipaddress
import re
from collections.abc import Callable
from functools import lru_cache

import orjson

__all__ = [
    "CN_PROVINCE_CODES",
    "IBAN_LENGTHS",
    "VALIDATORS",
    "Validator",
    "card_brand",
    "cn_birth_date_ok",
    "cn_landline",
    "cn_resident_id_15",
    "digits_only",
    "e164",
    "email",
    "gb11643",
    "gb11643_check_char",
    "gb11714",
    "gb32100",
    "gb32100_check_char",
    "hkid",
    "iban",
    "ipv4",
    "ipv6",
    "jwt",
    "luhn",
    "nanp",
    "secret_value",
    "us_ssn",
]

Validator = Callable[[str], bool | None]

_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")


def digits_only(text: str) -> str:
    """Strip separators (spaces, dashes, dots, parentheses, '+').

    >>> digits_only("6222 0212-3456.7890")
    '6222021234567890'
    """
    return _NON_ALNUM.sub("", text)


# --- Luhn -----------------------------------------------------------------------------------

_LUHN_DOUBLE = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn(text: str) -> bool:
    """ISO/IEC 7812 Luhn check over the digits of ``text`` (separators ignored)."""
    digits = digits_only(text)
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        total += _LUHN_DOUBLE[d] if i & 1 else d
    return total % 10 == 0


# --- GB 11643-1999 resident identity number -------------------------------------------------

#: Province-level prefixes of GB/T 2260 used in resident IDs (REFERENCE.md): 81–83 are the
#: residence permits of HK, Macau and Taiwan residents, 91 foreigners' permanent residence.
CN_PROVINCE_CODES = frozenset(
    [f"{n}" for n in (*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47))]
    + [f"{n}" for n in (*range(50, 55), *range(61, 66), 71, 81, 82, 83, 91)]
)
_GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_GB11643_CHARS = "10X98765432"


def gb11643_check_char(first17: str) -> str:
    """The check character of an 18-character resident ID.

    >>> gb11643_check_char("11010119900307451")
    '4'
    """
    s = sum((ord(c) - 48) * w for c, w in zip(first17, _GB11643_WEIGHTS))
    return _GB11643_CHARS[s % 11]


def cn_birth_date_ok(yyyymmdd: str, today: _dt.date | None = None) -> bool:
    """A real calendar date, not in the future and not before 1900 (nobody alive is older)."""
    try:
        born = _dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return _dt.date(1900, 1, 1) <= born <= (today or _dt.date.today())


def gb11643(text: str) -> bool:
    """Full check of an 18-character resident ID: province prefix, birth date, check char."""
    if len(text) != 18 or not text[:17].isdigit():
        return False
    if text[:2] not in CN_PROVINCE_CODES or not cn_birth_date_ok(text[6:14]):
        return False
    return gb11643_check_char(text[:17]) == text[17].upper()


def cn_resident_id_15(text: str) -> bool:
    """The old 15-digit form (before 1999): region + YYMMDD (19xx) + 3-digit sequence, no check.

    >>> cn_resident_id_15("110105491231002"), cn_resident_id_15("110105491331002")
    (True, False)
    """
    return (
        len(text) == 15
        and text.isdigit()
        and text[:2] in CN_PROVINCE_CODES
        and cn_birth_date_ok("19" + text[6:12])
    )


# --- GB 32100-2015 unified social credit code (+ GB 11714 organisation code) ----------------

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_GB11714_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def gb32100_check_char(first17: str) -> str | None:
    try:
        s = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS))
    except KeyError:
        return None
    return _USCC_ALPHABET[(31 - s % 31) % 31]


def gb11714(code: str) -> bool:
    """Organisation code (8 chars + check): check = 11 − Σ mod 11, 10 → X, 11 → 0.

    >>> gb11714("600037341"), gb11714("600037342")
    (True, False)
    """
    code = code.replace("-", "").upper()
    if len(code) != 9 or not code[:8].isalnum():
        return False
    try:
        s = sum((int(c, 36)) * w for c, w in zip(code[:8], _GB11714_WEIGHTS))
    except ValueError:
        return False
    c = 11 - s % 11
    return code[8] == ("X" if c == 10 else "0" if c == 11 else str(c))


def gb32100(text: str) -> bool:
    """GB 32100 check character and a plausible region (positions 3–8: a province, or 10 for
    national registrations). The embedded organisation code is checked separately
    (:func:`gb11714`) because some registrants' codes predate it."""
    text = text.upper()
    if len(text) != 18 or not text[2:8].isdigit():
        return False
    if text[2:4] not in CN_PROVINCE_CODES and text[2:4] != "10":
        return False
    return gb32100_check_char(text[:17]) == text[17]


# --- Hong Kong identity card ------------------------------------------------------------------


def hkid(text: str) -> bool:
    """HKID ``A123456(3)``: letters A=10.., a missing first letter (one-letter IDs) counts 36,
    weights 9..2 (or 8..2), check = 11 − Σ mod 11, 10 → A, 11 → 0."""
    t = _NON_ALNUM.sub("", text).upper()
    if not 8 <= len(t) <= 9:
        return False
    letters, digits, check = t[:-7], t[-7:-1], t[-1]
    if not letters.isalpha() or not digits.isdigit() or not (check.isdigit() or check == "A"):
        return False
    if len(letters) == 1:
        letters = " " + letters
    vals = [36 if c == " " else ord(c) - 55 for c in letters] + [int(d) for d in digits]
    s = sum(v * w for v, w in zip(vals, range(9, 1, -1)))
    c = 11 - s % 11
    return check == ("A" if c == 10 else "0" if c == 11 else str(c))


# --- IBAN (ISO 13616) ---------------------------------------------------------------------------

#: Lengths from the SWIFT IBAN registry (recalled; the mod-97 check does the real work).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def iban(text: str) -> bool:
    """Country length from the registry and ISO 7064 mod 97-10 == 1."""
    t = _NON_ALNUM.sub("", text).upper()
    if IBAN_LENGTHS.get(t[:2]) != len(t) or not t[2:4].isdigit():
        return False
    rearranged = t[4:] + t[:4]
    try:
        return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1
    except ValueError:
        return False


# --- US social security number -------------------------------------------------------------------


def us_ssn(text: str) -> bool:
    """Area not 000, 666 or 9xx; group not 00; serial not 0000; not the famous advertising
    numbers (078-05-1120, 219-09-9999).

    >>> us_ssn("536-22-1234"), us_ssn("666-12-3456"), us_ssn("123-00-4567")
    (True, False, False)
    """
    d = digits_only(text)
    if len(d) != 9 or not d.isdigit():
        return False
    area, group, serial = d[:3], d[3:5], d[5:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    return d not in ("078051120", "219099999", "123456789")


# --- network and mail -------------------------------------------------------------------------


def ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    # 0.0.0.0 and x.x.x.0-less shapes like "1.2.3.4" are legal but rarely personal; keep them,
    # the score decides. Leading zeros are rejected by ipaddress already.
    return True


def ipv6(text: str) -> bool:
    """A real IPv6 address with at least two non-empty groups: times (``12:30:45``) and MAC
    addresses fail the parse, and ``::1`` (loopback) identifies nobody."""
    if text.count(":") < 2 or not any(c in "0123456789abcdefABCDEF" for c in text):
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return len([g for g in text.split(":") if g]) >= 2


_TLD = re.compile(r"^[A-Za-z]{2,24}$|^xn--[a-z0-9-]{2,59}$")
_FILE_TLDS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "js", "css", "map", "ts"})


def email(text: str) -> bool:
    """Local part ≤ 64, domain ≤ 253, labels ≤ 63 without leading/trailing '-', alphabetic TLD
    that is not an image/asset extension (``logo@2x.png`` is a file name)."""
    local, _, domain = text.rpartition("@")
    if not local or len(local) > 64 or len(domain) > 253 or ".." in text:
        return False
    labels = domain.split(".")
    if len(labels) < 2 or any(
        not lab or len(lab) > 63 or lab[0] == "-" or lab[-1] == "-" for lab in labels
    ):
        return False
    tld = labels[-1].lower()
    return bool(_TLD.match(tld)) and tld not in _FILE_TLDS


def _b64url_json(segment: str) -> object | None:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return None


def jwt(text: str) -> bool:
    """Three base64url segments whose header decodes to a JSON object naming an ``alg``."""
    parts = text.split(".")
    if len(parts) != 3:
        return False
    header = _b64url_json(parts[0])
    return isinstance(header, dict) and isinstance(header.get("alg"), str)


# --- phone numbers (libphonenumber metadata) -----------------------------------------------------


@lru_cache(maxsize=4096)
def _parse_phone(text: str, region: str | None):
    import phonenumbers  # imported lazily: only candidates that need it pay the import

    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def e164(text: str) -> bool:
    """An international number (``+CC …``) that libphonenumber's metadata calls valid. Chinese
    numbers (+86) are left to the CN_MOBILE / CN_LANDLINE recognizers, so one number is never
    reported as two entities."""
    import phonenumbers

    num = _parse_phone(text.strip(), None)
    return bool(num) and num.country_code != 86 and phonenumbers.is_valid_number(num)


def cn_landline(text: str) -> bool:
    """A Chinese fixed-line number: a real area code and subscriber length per libphonenumber."""
    import phonenumbers
    from phonenumbers import PhoneNumberType

    t = digits_only(text)
    if t.startswith("86") and not t.startswith("0"):
        t = t[2:]
    if not t.startswith("0"):
        t = "0" + t
    num = _parse_phone(t, "CN")
    if not num or not phonenumbers.is_valid_number(num):
        return False
    return phonenumbers.number_type(num) in (
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def nanp(text: str) -> bool:
    """A North American number written without ``+1`` that libphonenumber calls valid."""
    import phonenumbers

    num = _parse_phone(text.strip(), "US")
    return bool(num) and phonenumbers.is_valid_number(num)


# --- secrets -------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(
    r"^(?:\?|%s|\$\d+|:\w+|\*+|x+|•+|<[^>]*>|\{[^}]*\}|\$\{[^}]*\}|null|none|redacted|masked|\*\*\*)$",
    re.IGNORECASE,
)


def secret_value(text: str) -> bool:
    """A password or key literal, not a bind placeholder or an already masked value.

    >>> secret_value("S3cr3t!"), secret_value("?"), secret_value("******"), secret_value("%s")
    (True, False, False, False)
    """
    return bool(text) and not _PLACEHOLDER.match(text.strip())


# --- payment cards -------------------------------------------------------------------------------

# (brand, IIN regex, allowed lengths). UnionPay 62 and 81 (its 8-series), the big networks, and
# the Chinese domestic pre-UnionPay IINs (ICBC 9558, 95xxx debit cards) that are still in use.
_BRANDS: tuple[tuple[str, re.Pattern, frozenset[int]], ...] = tuple(
    (b, re.compile(p), frozenset(ls))
    for b, p, ls in (
        ("unionpay", r"62|81", range(16, 20)),
        ("visa", r"4", (13, 16, 19)),
        ("mastercard", r"5[1-5]|2(?:2[2-9][1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)", (16,)),
        ("amex", r"3[47]", (15,)),
        ("jcb", r"35(?:2[89]|[3-8]\d)", (16, 17, 18, 19)),
        ("jcb", r"2131|1800", (15,)),
        ("discover", r"6011|64[4-9]|65", (16, 17, 18, 19)),
        ("diners", r"30[0-5]|36|38|39", (14, 15, 16, 17, 18, 19)),
        ("maestro", r"50[0-9]|5[6-9]|6[0-9]", range(12, 20)),
        ("cn-domestic", r"95\d\d", range(16, 20)),
    )
)


def card_brand(digits: str) -> str | None:
    """Brand by IIN and length, or None. Order matters: UnionPay 62 before Discover/Maestro.

    >>> card_brand("6222021234567890123"), card_brand("4111111111111111"), card_brand("1234567890123456")
    ('unionpay', 'visa', None)
    """
    n = len(digits)
    for brand, iin, lengths in _BRANDS:
        if n in lengths and iin.match(digits):
            return brand
    return None


VALIDATORS: dict[str, Validator] = {
    "luhn": luhn,
    "gb11643": gb11643,
    "cn_resident_id_15": cn_resident_id_15,
    "gb32100": gb32100,
    "gb11714": gb11714,
    "hkid": hkid,
    "iban": iban,
    "us_ssn": us_ssn,
    "ipv4": ipv4,
    "ipv6": ipv6,
    "email": email,
    "jwt": jwt,
    "e164": e164,
    "cn_landline": cn_landline,
    "nanp": nanp,
    "secret_value": secret_value,
}
"""Named validators a YAML recognizer may reference."""
