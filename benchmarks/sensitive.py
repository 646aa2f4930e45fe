"""Sensitive-data recognizers, record scanning and SQL analysis: speed and quality, and Presidio.

    python benchmarks/sensitive.py [--values 50000] [--records 10000] [--statements 20000]
                                   [--runs 3] [--presidio-python PATH] [--en-per-entity 40]

Everything is generated once (Faker with fixed seeds), then timed ``--runs`` times; the printed
and recorded figure is the median. Quality figures are deterministic and computed once.

values (recognizers)
    ``parasol``: :func:`detectors.sensitive.scan_value` over ``--values`` labelled short values —
    the corpus of ``tests/unit/test_sensitive_quality.py`` (``build_corpus``: Faker zh_CN, en_US
    and European locales, seeds 11, 23, 47, then 101, 102, … until there are enough; values bare
    under a realistic or generic column name, which is passed as the column hint as the stream
    does, and inside Chinese and English sentences; hard negatives: failed checksums, order ids,
    timestamps, serials, hashes, …), shuffled. ``baseline``: one compiled ``\\d{11,19}|@``
    ``search`` per value, the cheapest prefilter a scanner could start with. Precision and recall
    per entity and per family.
records
    :func:`detectors.sensitive.scan_record` on dict rows of 8 columns (name, mobile, resident ID,
    e-mail, address, bank card, status, amount) under four realistic column-naming schemes
    (English, English variants, pinyin initials, Chinese). Also: the share of rows in which each
    column got its expected entity, and findings in ``status``/``amount`` (false positives).
sql
    :class:`detectors.sql.SqlAnalyzer` over ``--statements`` PostgreSQL statements from 20 OLTP
    templates. ``cold``: each statement gets identifiers of its own (``customers_17``) so that
    every call misses the shape cache and parses; ``cached``: the same templates with fixed
    identifiers and varying literals (a realistic mix: 20 shapes). Baseline: plain
    ``sqlglot.parse_one(sql, read="postgres")`` on the same statements.
presidio (side by side, when ``--presidio-python`` points at an interpreter with
``presidio-analyzer``; default ``/tmp/presidio-venv/bin/python`` if it exists, ``none`` skips)
    Presidio lives in its own environment, so the English corpus — en_US values generated here
    (e-mails, US phones valid per libphonenumber, cards, SSNs, IBANs, IPs, ITINs, US passports,
    JWTs, API keys; bare and in English sentences; English hard negatives), no column names — is
    written to a temporary JSONL file and :data:`PRESIDIO_SCRIPT` runs in that interpreter: an
    ``AnalyzerEngine`` with Presidio's ``NoOpNlpEngine`` (no spaCy model: only its pattern and
    checksum recognizers; a minimal ``NlpEngine`` returning empty artifacts on versions without
    it), ``analyze(text, language="en")`` per record, ``--runs`` times, findings written back as
    JSONL. Presidio's findings are scored with the same function as parasol's after mapping its
    entity names (``EMAIL_ADDRESS`` → ``EMAIL``, ``CREDIT_CARD`` → ``BANK_CARD``, ``IBAN_CODE`` →
    ``IBAN``, …); entities a tool has no recognizer for are reported as unsupported; Presidio
    entities outside the labelled set (``URL``, ``DATE_TIME``, ``US_BANK_NUMBER``, …) are counted
    apart, not scored. Presidio is scored at its default threshold (0: everything it returns) and
    at 0.5 (parasol's ``min_score``). It also runs on the Chinese samples of seeds 11, 23, 47 that
    hold a resident ID or a mobile: how many of those it finds at all, and as what.

The values corpus is the generator the recognizers were developed against (the quality test
asserts ≥ 0.97 on seeds 11, 23, 47): its figures are in-distribution. The English corpus is
written here and was not used to tune either tool; parasol scans it without column hints, as
Presidio does. Presidio without an NLP model gets no context from the text (its context enhancer
works on the NLP engine's tokens and lemmas), so patterns it scores low without context
(``PHONE_NUMBER`` 0.4, ``US_PASSPORT`` 0.05, weak SSN forms) stay low.

Matching rule (everywhere): a labelled entity is found (true positive) when a finding *of the same
entity* overlaps its labelled span; a finding that overlaps no label of its entity is a false
positive; ``exact`` is the share of true positives whose finding has exactly the labelled span.

Figures are printed and written to ``benchmarks/results/sensitive-<time>.json`` (git-ignored).
Needs the test extra (``tests/unit/test_sensitive_quality.py`` imports pytest).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import phonenumbers  # noqa: E402
import sqlglot  # noqa: E402
from faker import Faker  # noqa: E402

from detectors.sensitive import default_scanner  # noqa: E402
from detectors.sql import COMPILED, SqlAnalyzer  # noqa: E402
from tests.unit.test_sensitive_quality import (  # noqa: E402
    SEEDS,
    Sample,
    build_corpus,
    is_cn_mobile,
    luhn_complete,
    luhn_ok,
    make_api_key,
    make_jwt,
    sentence,
)

DEFAULT_PRESIDIO = "/tmp/presidio-venv/bin/python"

FAMILIES = {
    "CN identity documents": ["CN_RESIDENT_ID", "CN_USCC", "CN_PASSPORT", "CN_HK_MACAU_PERMIT",
                              "CN_HOME_RETURN_PERMIT", "CN_TAIWAN_PERMIT", "HKID",
                              "CN_LICENSE_PLATE"],
    "CN contact": ["CN_MOBILE", "CN_LANDLINE"],
    "names, addresses": ["PERSON_NAME", "ADDRESS"],
    "financial": ["BANK_CARD", "IBAN"],
    "international": ["EMAIL", "IP_ADDRESS", "PHONE_NUMBER", "US_SSN"],
    "secrets": ["JWT", "API_KEY", "PRIVATE_KEY", "PASSWORD"],
}

#: Presidio entity → parasol entity (or a label of its own where parasol has no equivalent).
PRESIDIO_MAP = {
    "EMAIL_ADDRESS": "EMAIL", "CREDIT_CARD": "BANK_CARD", "PHONE_NUMBER": "PHONE_NUMBER",
    "US_SSN": "US_SSN", "IBAN_CODE": "IBAN", "IP_ADDRESS": "IP_ADDRESS", "US_ITIN": "US_ITIN",
    "US_PASSPORT": "US_PASSPORT",
}
EN_ENTITIES = ["EMAIL", "PHONE_NUMBER", "BANK_CARD", "US_SSN", "IBAN", "IP_ADDRESS", "US_ITIN",
               "US_PASSPORT", "JWT", "API_KEY"]


# --- scoring (one function for parasol and Presidio) ---------------------------------------------


def score(samples, found, entity_map=None, min_score=0.0) -> dict:
    """Per-entity tp/fp/fn over ``samples``; ``found[i]`` holds ``(entity, start, end, score)`` of
    sample i. With ``entity_map``, entities are renamed through it and those it lacks are counted
    in ``other`` (and ``other_on_negatives``: on samples without any label) instead of scored."""
    tp, fp, fn, exact = Counter(), Counter(), Counter(), Counter()
    other, other_neg = Counter(), Counter()
    for s, fs in zip(samples, found):
        kept = []
        for e, a, b, sc in fs:
            if sc < min_score:
                continue
            if entity_map is not None:
                m = entity_map.get(e)
                if m is None:
                    other[e] += 1
                    other_neg[e] += not s.labels
                    continue
                e = m
            kept.append((e, a, b))
        for ent, a, b in s.labels:
            spans = [(fa, fb) for fe, fa, fb in kept if fe == ent and fa < b and fb > a]
            if spans:
                tp[ent] += 1
                exact[ent] += (a, b) in spans
            else:
                fn[ent] += 1
        for fe, fa, fb in kept:
            if not any(e == fe and fa < b and fb > a for e, a, b in s.labels):
                fp[fe] += 1
    ents = {}
    for e in sorted(set(tp) | set(fp) | set(fn)):
        ents[e] = {
            "tp": tp[e], "fp": fp[e], "fn": fn[e],
            "precision": tp[e] / (tp[e] + fp[e]) if tp[e] + fp[e] else None,
            "recall": tp[e] / (tp[e] + fn[e]) if tp[e] + fn[e] else None,
            "exact": exact[e] / tp[e] if tp[e] else None,
        }
    return {"entities": ents, "other": dict(other), "other_on_negatives": dict(other_neg)}


def _totals(ents: dict, names) -> dict:
    tp = sum(ents.get(e, {}).get("tp", 0) for e in names)
    fp = sum(ents.get(e, {}).get("fp", 0) for e in names)
    fn = sum(ents.get(e, {}).get("fn", 0) for e in names)
    return {"tp": tp, "fp": fp, "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None}


def _pct(x) -> str:
    return "—" if x is None else f"{x:.3f}"


def _findings(fs) -> list[tuple]:
    return [(f.entity, f.start, f.end, f.score) for f in fs]


def _median_rate(n: int, times: list[float]) -> float:
    return n / statistics.median(times)


# --- 1. values ------------------------------------------------------------------------------------


def values_corpus(n: int) -> tuple[list[Sample], list[int]]:
    seeds, samples = [], []
    extra = iter(range(101, 10_000))
    while len(samples) < n:
        seed = SEEDS[len(seeds)] if len(seeds) < len(SEEDS) else next(extra)
        seeds.append(seed)
        samples.extend(build_corpus(seed))
    random.Random(7).shuffle(samples)
    return samples[:n], seeds


PREFILTER = re.compile(r"\d{11,19}|@").search


def bench_values(samples: list[Sample], runs: int) -> dict:
    scanner = default_scanner()
    scan = scanner.scan_value
    pairs = [(s.text, s.column) for s in samples]
    scan(pairs[0][0], pairs[0][1])  # plans and lazy tables built outside the clock
    t_scan, t_base, out = [], [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        hits = 0
        for text, _col in pairs:
            if PREFILTER(text) is not None:
                hits += 1
        t_base.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        out = [scan(text, col) for text, col in pairs]
        t_scan.append(time.perf_counter() - t0)
    q = score(samples, [_findings(fs) for fs in out])
    chars = sum(len(t) for t, _ in pairs)
    return {
        "values": len(samples), "mean_chars": chars / len(samples),
        "labels": sum(len(s.labels) for s in samples),
        "negatives": sum(1 for s in samples if s.kind == "negative"),
        "parasol_values_per_s": _median_rate(len(pairs), t_scan),
        "baseline_values_per_s": _median_rate(len(pairs), t_base),
        "baseline_hits": hits, "us_per_value": statistics.median(t_scan) / len(pairs) * 1e6,
        "quality": q,
        "families": {fam: _totals(q["entities"], ents) for fam, ents in FAMILIES.items()},
    }


# --- 2. records -----------------------------------------------------------------------------------

SCHEMES = [
    ("name", "mobile", "id_card", "email", "address", "bank_card", "status", "amount"),
    ("cust_name", "phone", "id_no", "email_addr", "home_addr", "card_no", "order_status",
     "total_amount"),
    ("xm", "sjhm", "sfzh", "yx", "dz", "yhkh", "zt", "je"),
    ("姓名", "手机号", "身份证号", "邮箱", "地址", "银行卡号", "状态", "金额"),
]
EXPECTED = ["PERSON_NAME", "CN_MOBILE", "CN_RESIDENT_ID", "EMAIL", "ADDRESS", "BANK_CARD", None,
            None]
STATUSES = ["active", "pending", "closed", "refunded", "已支付", "待发货", "正常", "注销"]


def gen_records(n: int, seed: int = 5) -> list[dict]:
    rnd = random.Random(seed)
    zh, en = Faker("zh_CN"), Faker("en_US")
    zh.seed_instance(seed)
    en.seed_instance(seed + 1)
    rows = []
    for i in range(n):
        mobile = zh.phone_number()
        while not is_cn_mobile(mobile):
            mobile = zh.phone_number()
        card = (luhn_complete("62" + "".join(rnd.choice(string.digits) for _ in range(4)), 19, rnd)
                if rnd.random() < 0.6 else
                zh.credit_card_number(card_type=rnd.choice(["visa", "mastercard", "unionpay"])))
        vals = (zh.name(), mobile, zh.ssn(), rnd.choice([zh, en]).email(),
                zh.address().split(" ")[0], card, rnd.choice(STATUSES),
                rnd.choice([round(rnd.uniform(1, 99999), 2), rnd.randint(1, 5000),
                            f"{rnd.uniform(1, 99999):.2f}"]))
        rows.append(dict(zip(SCHEMES[i % len(SCHEMES)], vals)))
    return rows


def bench_records(rows: list[dict], runs: int) -> dict:
    scanner = default_scanner()
    scan_record = scanner.scan_record
    scan_record(rows[0], table="crm.customer")
    times, base, out = [], [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        for row in rows:
            for v in row.values():
                PREFILTER(str(v))
        base.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        out = [scan_record(row, table="crm.customer") for row in rows]
        times.append(time.perf_counter() - t0)
    detected = Counter()
    false_cols = Counter()
    graded = Counter()
    for row, rec in zip(rows, out):
        graded[rec.max_level] += 1
        for pos, col in enumerate(row):
            want = EXPECTED[pos]
            got = rec.columns.get(col)
            ents = set(got.entities) if got else set()
            if want is None:
                false_cols[SCHEMES[0][pos]] += bool(ents)
            else:
                detected[SCHEMES[0][pos]] += want in ents
    n = len(rows)
    return {
        "records": n, "columns": 8,
        "records_per_s": _median_rate(n, times), "values_per_s": _median_rate(n * 8, times),
        "baseline_records_per_s": _median_rate(n, base),
        "us_per_record": statistics.median(times) / n * 1e6,
        "detected": {c: detected[c] / n for c in SCHEMES[0] if EXPECTED[SCHEMES[0].index(c)]},
        "findings_in_non_pii_columns": {c: false_cols[c] for c in ("status", "amount")},
        "record_levels": {str(k): v for k, v in graded.items()},
    }


# --- 3. sql ---------------------------------------------------------------------------------------

# {t0}, {t1}: tables; {c}: a column; literals: {n}, {m}, {s}, {d}
SQL_TEMPLATES = [
    "SELECT id, name, mobile, email FROM {t0} WHERE id = {n}",
    "SELECT * FROM {t0} WHERE {c} = '{s}' LIMIT 1",
    "SELECT c.id, c.name, o.total FROM {t0} c JOIN {t1} o ON o.customer_id = c.id "
    "WHERE c.id = {n} ORDER BY o.created_at DESC LIMIT 20",
    "INSERT INTO {t1} (customer_id, total, status, created_at) VALUES ({n}, {m}.50, 'new', "
    "'{d}')",
    "UPDATE {t0} SET {c} = '{s}', updated_at = now() WHERE id = {n}",
    "DELETE FROM {t1} WHERE id = {n} AND status = 'cancelled'",
    "SELECT count(*) FROM {t1} WHERE created_at >= '{d}' AND status = 'paid'",
    "SELECT status, count(*), sum(total) FROM {t1} WHERE created_at >= '{d}' GROUP BY status "
    "HAVING count(*) > {m}",
    "SELECT id, name FROM {t0} WHERE id IN ({n}, {m}, {n2}, {m2})",
    "SELECT id, email FROM {t0} WHERE name LIKE '{s}%' ORDER BY id LIMIT 50 OFFSET {m}",
    "INSERT INTO {t0} (name, mobile, {c}) VALUES ('{s}', '138{n8}', 'x') RETURNING id",
    "UPDATE {t1} SET status = 'shipped' WHERE customer_id IN (SELECT id FROM {t0} "
    "WHERE {c} = '{s}')",
    "WITH recent AS (SELECT customer_id, max(created_at) AS last FROM {t1} GROUP BY customer_id) "
    "SELECT c.name, r.last FROM {t0} c JOIN recent r ON r.customer_id = c.id WHERE r.last < '{d}'",
    "SELECT id FROM {t0} WHERE {c} = '{s}' UNION SELECT customer_id FROM {t1} WHERE total > {m}",
    "SELECT id, total, row_number() OVER (PARTITION BY customer_id ORDER BY created_at) AS rn "
    "FROM {t1} WHERE customer_id = {n}",
    "INSERT INTO {t0} (id, name, {c}) VALUES ({n}, '{s}', 'y') ON CONFLICT (id) DO UPDATE "
    "SET name = EXCLUDED.name",
    "SELECT o.id, o.total, c.mobile FROM {t1} o LEFT JOIN {t0} c ON c.id = o.customer_id "
    "WHERE o.created_at BETWEEN '{d}' AND '{d}' AND o.total > {m}",
    "SELECT lower({c}) AS v, coalesce(email, '') FROM {t0} WHERE id > {n} ORDER BY id LIMIT 100",
    "UPDATE {t0} SET {c} = NULL WHERE updated_at < '{d}' AND id = {n}",
    "SELECT EXISTS (SELECT 1 FROM {t1} WHERE customer_id = {n} AND status = 'open')",
]


def gen_statements(n: int, cold: bool, seed: int) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        tpl = SQL_TEMPLATES[i % len(SQL_TEMPLATES)] if cold else rnd.choice(SQL_TEMPLATES)
        sfx = f"_{i}" if cold else ""
        out.append(tpl.format(
            t0=f"crm.customers{sfx}", t1=f"crm.orders{sfx}", c=f"remark{sfx}",
            n=rnd.randrange(1, 10**7), m=rnd.randrange(1, 1000), n2=rnd.randrange(1, 10**7),
            m2=rnd.randrange(1, 1000), n8=f"{rnd.randrange(10**8):08d}",
            s=rnd.choice(["王梅", "alice", "o'brien".replace("'", "''"), "ZHANG Wei", "x"]) +
            str(rnd.randrange(100)),
            d=f"2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"))
    return out


def bench_sql(n: int, runs: int) -> dict:
    res = {"compiled_sqlglot": COMPILED, "sqlglot": sqlglot.__version__}
    for mode in ("cold", "cached"):
        stmts = gen_statements(n, cold=mode == "cold", seed=13)
        t_an, t_base, hits, misses, failed = [], [], 0, 0, 0
        for _ in range(runs):
            a = SqlAnalyzer()
            t0 = time.perf_counter()
            for s in stmts:
                a.analyze(s, "postgresql")
            t_an.append(time.perf_counter() - t0)
            hits, misses = a.hits, a.misses
            t0 = time.perf_counter()
            for s in stmts:
                sqlglot.parse_one(s, read="postgres")
            t_base.append(time.perf_counter() - t0)
        a = SqlAnalyzer()
        failed = sum(not a.analyze(s, "postgresql").parse_ok for s in stmts[:200])
        res[mode] = {
            "statements": n, "shapes": misses, "hit_rate": hits / n,
            "analyzer_per_s": _median_rate(n, t_an), "parse_one_per_s": _median_rate(n, t_base),
            "us_per_statement": statistics.median(t_an) / n * 1e6,
            "parse_failures_in_first_200": failed,
        }
    return res


# --- 4. English corpus and Presidio ---------------------------------------------------------------


def build_english(seed: int, per_entity: int) -> list[Sample]:
    """en_US values, bare (no column) and in English sentences, and English hard negatives."""
    rnd = random.Random(seed)
    en = Faker("en_US")
    en.seed_instance(seed)
    out: list[Sample] = []

    def rand(alphabet, k):
        return "".join(rnd.choice(alphabet) for _ in range(k))

    def phone():
        while True:
            v = en.phone_number()
            try:
                if phonenumbers.is_valid_number(phonenumbers.parse(v, "US")):
                    return v
            except phonenumbers.NumberParseException:
                pass

    def card():
        kind = rnd.randrange(6)
        if kind == 5:  # JCB from its real IIN range (Faker's "35" strays outside it)
            return luhn_complete(str(rnd.randint(3528, 3589)), 16, rnd)
        return en.credit_card_number(card_type=["visa", "mastercard", "amex", "discover",
                                                "diners"][kind])

    def grouped(v):
        return rnd.choice([v, " ".join(v[i:i + 4] for i in range(0, len(v), 4)),
                           "-".join(v[i:i + 4] for i in range(0, len(v), 4))]) \
            if len(v) == 16 else v

    def iban():
        v = en.iban()
        return rnd.choice([v, " ".join(v[i:i + 4] for i in range(0, len(v), 4))])

    def ip():
        return rnd.choice([en.ipv4(), en.ipv4_private(), en.ipv4_public(), en.ipv6()])

    gens = [
        ("EMAIL", en.email, ["Please email {p} at {v} before Friday.", "Contact: {v}",
                             "{p} <{v}> wrote:"]),
        ("PHONE_NUMBER", phone, ["Call {p} on {v} after 6pm.", "Phone: {v}",
                                 "You can reach me at {v}."]),
        ("BANK_CARD", lambda: grouped(card()), ["Card number {v}, exp 09/28.",
                                                "{p} paid with credit card {v}",
                                                "cc: {v}"]),
        ("US_SSN", en.ssn, ["SSN: {v}", "{p}'s social security number is {v}.",
                            "Please confirm the SSN {v} on file."]),
        ("IBAN", iban, ["Wire the refund to IBAN {v} by Monday.", "Bank account: {v}",
                        "{p} — IBAN {v}"]),
        ("IP_ADDRESS", ip, ["Login from {v} at 10:42.", "client ip {v} blocked",
                            "{p} connected from {v}"]),
        ("US_ITIN", en.itin, ["ITIN: {v}", "{p}'s individual taxpayer identification number "
                              "is {v}."]),
        ("US_PASSPORT", en.passport_number, ["US passport number {v}", "{p}, passport {v}, "
                                             "expires 2031."]),
        ("JWT", lambda: make_jwt(rnd, en), ["Authorization: Bearer {v}"]),
        ("API_KEY", lambda: make_api_key(rnd), ["export API_KEY={v}", "api key {v} rotated"]),
    ]
    for _ in range(per_entity):
        for ent, gen, templates in gens:
            v = gen()
            out.append(Sample(v, None, [(ent, 0, len(v))], "bare"))
            v = gen()
            head, tail = rnd.choice(templates).split("{v}")
            head, tail = head.replace("{p}", en.name()), tail.replace("{p}", en.name())
            out.append(sentence([head, (v, ent), tail]).sample())
        neg = [
            str(en.uuid4()), en.md5(), en.sha256(),
            en.date_time_this_decade().isoformat() + "Z",
            str(rnd.randint(1_600_000_000_000, 1_900_000_000_000)),
            f"v{rnd.randint(1, 9)}.{rnd.randint(0, 20)}.{rnd.randint(0, 20)}",
            f"${rnd.randint(1, 99999):,}.{rnd.randint(0, 99):02d}",
            f"{rnd.randint(1, 12):02d}/{rnd.randint(1, 28):02d}/{rnd.randint(2000, 2030)}",
            f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}",
            f"Order #{rnd.randint(10**9, 10**10 - 1)} shipped",
            f"Tracking 1Z{rand(string.ascii_uppercase + string.digits, 16)}",
            f"ISBN 978-{rnd.randint(0, 1)}-{rnd.randint(100, 999)}-{rnd.randint(10000, 99999)}-"
            f"{rnd.randint(0, 9)}",
            f"{en.city()}, {en.state_abbr()} {en.zipcode_plus4()}",
            f"{rnd.randint(1, 255)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}",
            base64.b64encode(bytes(rnd.getrandbits(8) for _ in range(30))).decode(),
            f"IMEI {luhn_complete(rnd.choice(['35', '86']) + rand(string.digits, 4), 15, rnd)}",
            rnd.choice(["user@localhost", "logo@2x.png", "a@b"]),
            f"Part no. {rnd.randint(100, 899)}-{rnd.randint(10, 99)}-{rnd.randint(1000, 9999)}",
            en.sentence(nb_words=10),
            f"{en.name()} will join the {en.job()} team on {en.day_of_week()}.",
        ]
        while True:  # card-shaped, failing Luhn
            c = "4" + rand(string.digits, 15)
            if not luhn_ok(c):
                break
        neg.append(c)
        area = rnd.choice(["000", "666", f"9{rnd.randint(0, 9)}{rnd.randint(0, 9)}"])
        neg.append(f"{area}-{rnd.randint(10, 19)}-{rnd.randint(1000, 9999)}")  # not SSN nor ITIN
        while True:  # IBAN-shaped, wrong check digits
            b = f"GB{rnd.randint(10, 99)}{rand(string.ascii_uppercase, 4)}{rand(string.digits, 14)}"
            if int("".join(str(int(ch, 36)) for ch in b[4:] + b[:4])) % 97 != 1:
                break
        neg.append(b)
        out.extend(Sample(t, None, [], "negative") for t in neg)
    return out


# The script Presidio runs in its own interpreter: argv[1] = a JSON job file.
PRESIDIO_SCRIPT = r'''
import json, logging, sys, time
from importlib.metadata import version

logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
job = json.load(open(sys.argv[1]))
t0 = time.perf_counter()
try:  # offline: use tldextract's bundled public-suffix snapshot instead of fetching the list
    import tldextract, tldextract.tldextract as _tt
    _tt.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
except Exception:
    pass
from presidio_analyzer import AnalyzerEngine
try:
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    how = "NoOpNlpEngine"
except ImportError:  # older Presidio: an engine that returns empty artifacts
    from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

    class EmptyNlpEngine(NlpEngine):
        def __init__(self):
            self.vocab = Vocab()
        def load(self): pass
        def is_loaded(self): return True
        def get_supported_languages(self): return ["en"]
        def get_supported_entities(self): return []
        def is_stopword(self, word, language): return False
        def is_punct(self, word, language): return False
        def process_text(self, text, language):
            return NlpArtifacts(entities=[], tokens=Doc(self.vocab, words=[]), tokens_indices=[],
                                lemmas=[], nlp_engine=self, language=language, scores=[])
        def process_batch(self, texts, language, batch_size=1, n_process=1, as_tuples=False, **kw):
            for t in texts:
                yield (t[0], self.process_text(t[0], language), t[1]) if as_tuples else \
                      (t, self.process_text(t, language))
    nlp = EmptyNlpEngine()
    how = "custom empty NlpEngine"
engine = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
init_s = time.perf_counter() - t0
meta = {"version": version("presidio_analyzer"), "nlp_engine": how, "init_s": init_s,
        "recognizers": sorted({type(r).__name__ for r in engine.registry.recognizers}),
        "entities": sorted(engine.get_supported_entities("en")), "sets": {}}
for name, spec in job["sets"].items():
    texts = [json.loads(line)["text"] for line in open(spec["input"], encoding="utf-8")]
    engine.analyze(text=texts[0], language="en")
    times = []
    for _ in range(spec["runs"]):
        t = time.perf_counter()
        results = [engine.analyze(text=x, language="en") for x in texts]
        times.append(time.perf_counter() - t)
    with open(spec["output"], "w", encoding="utf-8") as f:
        for rs in results:
            f.write(json.dumps([[r.entity_type, r.start, r.end, r.score] for r in rs]) + "\n")
    meta["sets"][name] = {"records": len(texts), "times": times}
json.dump(meta, open(job["meta"], "w"))
'''


def run_presidio(python: str, sets: dict[str, list[Sample]], runs: dict[str, int],
                 work: Path) -> tuple[dict | None, dict, str | None]:
    job = {"meta": str(work / "presidio-meta.json"), "sets": {}}
    for name, samples in sets.items():
        inp, outp = work / f"presidio-{name}-in.jsonl", work / f"presidio-{name}-out.jsonl"
        with open(inp, "w", encoding="utf-8") as f:
            for s in samples:
                f.write(json.dumps({"text": s.text, "labels": s.labels}, ensure_ascii=False) + "\n")
        job["sets"][name] = {"input": str(inp), "output": str(outp), "runs": runs[name]}
    (work / "presidio-job.json").write_text(json.dumps(job))
    script = work / "presidio_run.py"
    script.write_text(PRESIDIO_SCRIPT)
    p = subprocess.run([python, str(script), str(work / "presidio-job.json")],
                       capture_output=True, text=True, timeout=1200)
    if p.returncode != 0:
        return None, {}, f"Presidio script failed (exit {p.returncode}): {p.stderr.strip()[-600:]}"
    meta = json.loads(Path(job["meta"]).read_text())
    found = {}
    for name, spec in job["sets"].items():
        with open(spec["output"], encoding="utf-8") as f:
            found[name] = [[tuple(x) for x in json.loads(line)] for line in f]
    return meta, found, None


def zh_detection(samples: list[Sample], found: list, entity: str, equivalent: str | None) -> dict:
    """How many labelled ``entity`` spans any finding overlaps (at score ≥ 0 and ≥ 0.5), by which
    entity, and how many by the tool's ``equivalent`` entity."""
    n, any0, any5, eq0, eq5, by = 0, 0, 0, 0, 0, Counter()
    for s, fs in zip(samples, found):
        for ent, a, b in s.labels:
            if ent != entity:
                continue
            n += 1
            over = [(e, sc) for e, fa, fb, sc in fs if fa < b and fb > a]
            any0 += bool(over)
            any5 += any(sc >= 0.5 for _, sc in over)
            eq0 += any(e == equivalent for e, _ in over)
            eq5 += any(e == equivalent and sc >= 0.5 for e, sc in over)
            by.update({e for e, _ in over})
    return {"labelled": n, "any_entity": any0, "any_entity_ge_0_5": any5,
            "as_" + str(equivalent): eq0, "as_" + str(equivalent) + "_ge_0_5": eq5,
            "by_entity": dict(by)}


# --- main ---------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--values", type=int, default=50_000)
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--statements", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--en-per-entity", type=int, default=40,
                    help="English corpus: values per entity, form and seed (3 seeds)")
    ap.add_argument("--presidio-python", default=None,
                    help=f"interpreter with presidio-analyzer (default {DEFAULT_PRESIDIO} if it "
                         "exists; 'none' skips)")
    args = ap.parse_args()
    started = time.perf_counter()
    results: dict = {"args": vars(args), "cpus": os.cpu_count(), "python": sys.version.split()[0]}

    # 1. values
    t0 = time.perf_counter()
    samples, seeds = values_corpus(args.values)
    gen_s = time.perf_counter() - t0
    v = bench_values(samples, args.runs)
    v["seeds"] = seeds
    results["values"] = v
    print(f"1. recognizers: scan_value over {v['values']:,} labelled values (seeds {seeds[0]}…"
          f"{seeds[-1]}, {len(seeds)} seeds; {v['labels']:,} labelled entities, "
          f"{v['negatives']:,} hard negatives; mean {v['mean_chars']:.0f} chars; generated in "
          f"{gen_s:.1f} s), median of {args.runs}")
    print(f"{'':26}{'values/s':>10} {'µs/value':>9}")
    print(f"{'parasol scan_value':26}{v['parasol_values_per_s']:>10,.0f} {v['us_per_value']:>9.1f}")
    print(f"{'baseline prefilter regex':26}{v['baseline_values_per_s']:>10,.0f} "
          f"{1e6 / v['baseline_values_per_s']:>9.2f}")
    print("\nquality (rule: a finding of the labelled entity overlapping the labelled span; "
          "exact = share of hits with the exact span)")
    print(f"{'family / entity':28} {'labels':>6} {'tp':>6} {'fp':>4} {'fn':>4} {'precision':>9} "
          f"{'recall':>7} {'exact':>6}")
    ents = v["quality"]["entities"]
    for fam, names in FAMILIES.items():
        t = v["families"][fam]
        print(f"{fam:28} {t['tp'] + t['fn']:>6} {t['tp']:>6} {t['fp']:>4} {t['fn']:>4} "
              f"{_pct(t['precision']):>9} {_pct(t['recall']):>7}")
        for e in names:
            r = ents.get(e, {"tp": 0, "fp": 0, "fn": 0, "precision": None, "recall": None,
                             "exact": None})
            print(f"  {e:26} {r['tp'] + r['fn']:>6} {r['tp']:>6} {r['fp']:>4} {r['fn']:>4} "
                  f"{_pct(r['precision']):>9} {_pct(r['recall']):>7} {_pct(r['exact']):>6}")
    stray = sorted(set(ents) - {e for n in FAMILIES.values() for e in n})
    for e in stray:
        r = ents[e]
        print(f"  {e + ' (unlabelled)':26} {0:>6} {r['tp']:>6} {r['fp']:>4} {r['fn']:>4}")
    tot = _totals(ents, list(ents))
    print(f"{'all':28} {tot['tp'] + tot['fn']:>6} {tot['tp']:>6} {tot['fp']:>4} {tot['fn']:>4} "
          f"{_pct(tot['precision']):>9} {_pct(tot['recall']):>7}")
    v["total"] = tot

    # 2. records
    rows = gen_records(args.records)
    r = bench_records(rows, args.runs)
    results["records"] = r
    print(f"\n2. records: scan_record over {r['records']:,} rows of 8 columns (4 naming schemes), "
          f"median of {args.runs}")
    print(f"{'':26}{'records/s':>10} {'values/s':>10} {'µs/record':>10}")
    print(f"{'parasol scan_record':26}{r['records_per_s']:>10,.0f} {r['values_per_s']:>10,.0f} "
          f"{r['us_per_record']:>10.1f}")
    print(f"{'baseline prefilter regex':26}{r['baseline_records_per_s']:>10,.0f} "
          f"{r['baseline_records_per_s'] * 8:>10,.0f} {1e6 / r['baseline_records_per_s']:>10.1f}")
    print("rows whose column got its entity: " + ", ".join(
        f"{c} {x:.1%}" for c, x in r["detected"].items()) +
        "; rows with a finding in status / amount: " +
        " / ".join(str(x) for x in r["findings_in_non_pii_columns"].values()))

    # 3. sql
    q = bench_sql(args.statements, args.runs)
    results["sql"] = q
    print(f"\n3. SQL: SqlAnalyzer vs sqlglot.parse_one (sqlglot {q['sqlglot']}, compiled "
          f"{q['compiled_sqlglot']}), {args.statements:,} statements, median of {args.runs}")
    print(f"{'workload':10} {'shapes':>7} {'hit rate':>8} {'analyzer st/s':>14} {'µs/st':>7} "
          f"{'parse_one st/s':>15} {'ratio':>6}")
    for mode in ("cold", "cached"):
        m = q[mode]
        print(f"{mode:10} {m['shapes']:>7,} {m['hit_rate']:>8.1%} {m['analyzer_per_s']:>14,.0f} "
              f"{m['us_per_statement']:>7.1f} {m['parse_one_per_s']:>15,.0f} "
              f"{m['analyzer_per_s'] / m['parse_one_per_s']:>6.2f}")

    # 4. English corpus: parasol, then Presidio
    en_samples = [s for seed in SEEDS for s in build_english(seed, args.en_per_entity)]
    scan = default_scanner().scan_value
    times, out = [], None
    for _ in range(args.runs):
        t0 = time.perf_counter()
        out = [scan(s.text) for s in en_samples]
        times.append(time.perf_counter() - t0)
    pq = score(en_samples, [_findings(fs) for fs in out])
    par_supported = set(default_scanner().value_entities)
    en = {"records": len(en_samples), "labels": sum(len(s.labels) for s in en_samples),
          "negatives": sum(1 for s in en_samples if not s.labels),
          "parasol": {"records_per_s": _median_rate(len(en_samples), times), "quality": pq}}
    results["english"] = en

    python = args.presidio_python
    reason = None
    if python is None:
        python = DEFAULT_PRESIDIO if Path(DEFAULT_PRESIDIO).exists() else None
        if python is None:
            reason = f"no --presidio-python given and {DEFAULT_PRESIDIO} does not exist"
    elif python.lower() == "none":
        python, reason = None, "--presidio-python none"
    zh_samples = [s for seed in SEEDS for s in build_corpus(seed)
                  if any(e in ("CN_RESIDENT_ID", "CN_MOBILE") for e, _, _ in s.labels)]
    meta = None
    if python is not None:
        with tempfile.TemporaryDirectory(prefix="parasol-bench-presidio-") as work:
            meta, found, reason = run_presidio(python, {"en": en_samples, "zh": zh_samples},
                                               {"en": args.runs, "zh": 1}, Path(work))
    print(f"\n4. English records ({en['records']:,}: en_US values bare and in sentences, "
          f"{en['labels']:,} labelled, {en['negatives']:,} hard negatives; no column names), "
          f"median of {args.runs}")
    if meta is None:
        print(f"Presidio not run: {reason}")
        en["presidio"] = {"skipped": reason}
        print(f"parasol: {en['parasol']['records_per_s']:,.0f} records/s")
        print(f"{'':14} {'labels':>6} | {'parasol P':>9} {'R':>5} {'exact':>5}")
        for ent in EN_ENTITIES:
            n = sum(1 for s in en_samples for e, _, _ in s.labels if e == ent)
            x = pq["entities"].get(ent)
            print(f"{ent:14} {n:>6} | " + (f"{'unsupported':>21}" if ent not in par_supported
                                           else f"{_pct(x['precision']):>9} {_pct(x['recall']):>5}"
                                                f" {_pct(x['exact']):>5}"))
    else:
        pres_supported = {PRESIDIO_MAP[e] for e in meta["entities"] if e in PRESIDIO_MAP}
        p_rate = _median_rate(meta["sets"]["en"]["records"], meta["sets"]["en"]["times"])
        p0 = score(en_samples, found["en"], PRESIDIO_MAP, 0.0)
        p5 = score(en_samples, found["en"], PRESIDIO_MAP, 0.5)
        en["presidio"] = {"version": meta["version"], "nlp_engine": meta["nlp_engine"],
                          "init_s": meta["init_s"], "recognizers": meta["recognizers"],
                          "entities": meta["entities"], "records_per_s": p_rate,
                          "quality_default": p0, "quality_ge_0_5": p5}
        print(f"Presidio {meta['version']} ({meta['nlp_engine']}, no NLP model; engine built in "
              f"{meta['init_s']:.1f} s; {len(meta['recognizers'])} recognizers)")
        print(f"{'records/s':>37}: parasol {en['parasol']['records_per_s']:,.0f}, "
              f"Presidio {p_rate:,.0f} ({en['parasol']['records_per_s'] / p_rate:.0f}x)")
        print(f"{'':14} {'labels':>6} | {'parasol P':>9} {'R':>5} {'exact':>5} | "
              f"{'Presidio P':>10} {'R':>5} {'exact':>5} | {'Presidio≥0.5 P':>14} {'R':>5}")

        def cells(q_, ent, supported, exact=True):
            if ent not in supported:
                return "unsupported"
            x = q_["entities"].get(ent, {"precision": None, "recall": 0.0, "exact": None})
            return (x["precision"], x["recall"], x["exact"]) if exact else \
                (x["precision"], x["recall"])

        for ent in EN_ENTITIES:
            n = sum(1 for s in en_samples for e, _, _ in s.labels if e == ent)
            line = f"{ent:14} {n:>6} |"
            for q_, sup, w in ((pq, par_supported, 21), (p0, pres_supported, 22)):
                c = cells(q_, ent, sup)
                line += (f" {'unsupported':>{w}} |" if c == "unsupported" else
                         f" {_pct(c[0]):>{w - 12}} {_pct(c[1]):>5} {_pct(c[2]):>5} |")
            c = cells(p5, ent, pres_supported, exact=False)
            line += (f" {'unsupported':>20}" if c == "unsupported" else
                     f" {_pct(c[0]):>14} {_pct(c[1]):>5}")
            print(line)
        shared = sorted(par_supported & pres_supported & set(EN_ENTITIES))
        for label, q_ in (("parasol", pq), ("Presidio", p0), ("Presidio≥0.5", p5)):
            t = _totals(q_["entities"], shared)
            en.setdefault("shared_totals", {})[label] = t
        sp, s0, s5 = (en["shared_totals"][k] for k in ("parasol", "Presidio", "Presidio≥0.5"))
        print(f"{'shared (' + str(len(shared)) + ')':14} {sp['tp'] + sp['fn']:>6} |"
              f" {_pct(sp['precision']):>9} {_pct(sp['recall']):>5} {'':5} |"
              f" {_pct(s0['precision']):>10} {_pct(s0['recall']):>5} {'':5} |"
              f" {_pct(s5['precision']):>14} {_pct(s5['recall']):>5}")
        stray = {e: x["fp"] for e, x in pq["entities"].items() if e not in EN_ENTITIES}
        print("parasol findings of entities outside the labelled set (false positives): " +
              (", ".join(f"{e} {c}" for e, c in stray.items()) or "none"))
        other = Counter(p0["other"]).most_common()
        print("Presidio findings outside the labelled set (not scored; on hard negatives): " +
              ", ".join(f"{e} {c} ({p0['other_on_negatives'].get(e, 0)})" for e, c in other))

        zfound = found["zh"]
        zpar = [_findings(scan(s.text, s.column)) for s in zh_samples]
        zh = {"samples": len(zh_samples),
              "presidio": {"CN_RESIDENT_ID": zh_detection(zh_samples, zfound, "CN_RESIDENT_ID",
                                                          None),
                           "CN_MOBILE": zh_detection(zh_samples, zfound, "CN_MOBILE",
                                                     "PHONE_NUMBER")},
              "parasol": {e: zh_detection(zh_samples, zpar, e, e)
                          for e in ("CN_RESIDENT_ID", "CN_MOBILE")}}
        results["chinese_presidio"] = zh
        print(f"\nChinese samples holding a resident ID or a mobile (seeds {SEEDS}, "
              f"{len(zh_samples):,} samples): labelled spans any finding overlaps")
        print(f"{'':16} {'labelled':>8} | {'Presidio any':>12} {'≥0.5':>5} {'as PHONE_NUMBER':>15} "
              f"{'≥0.5':>5} | {'parasol (same entity)':>21} | Presidio entities seen")
        for e in ("CN_RESIDENT_ID", "CN_MOBILE"):
            z, zp = zh["presidio"][e], zh["parasol"][e]
            ph = (f"{z['as_PHONE_NUMBER']:>15} {z['as_PHONE_NUMBER_ge_0_5']:>5}"
                  if e == "CN_MOBILE" else f"{'—':>15} {'—':>5}")
            print(f"{e:16} {z['labelled']:>8} | {z['any_entity']:>12} {z['any_entity_ge_0_5']:>5} "
                  f"{ph} | {zp['as_' + e]:>21} | "
                  + (", ".join(f"{k} {c}" for k, c in sorted(z["by_entity"].items(),
                                                             key=lambda kv: -kv[1])) or "none"))

    out_dir = Path(__file__).parent / "results"
    out_dir.mkdir(exist_ok=True)
    results["elapsed_s"] = time.perf_counter() - started
    target = out_dir / f"sensitive-{time.strftime('%Y%m%d-%H%M%S')}.json"
    target.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    print(f"\nwritten {target} ({results['elapsed_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
