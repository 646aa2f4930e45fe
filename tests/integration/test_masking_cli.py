"""The masking commands as users run them: policy check/explain, static masking, audited reveal."""

from __future__ import annotations

import csv
import subprocess
import sys

from faker import Faker

from tests.integration.conftest import drain_topic, scoped, settings_env


def _parasol(env, *args, check=False):
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=check)


def test_policy_check_reports_every_problem_with_its_line(stack, tmp_path):
    env = settings_env(stack)
    ok = _parasol(env, "policy", "check", "detectors/masking/data/default_policy.yaml")
    assert ok.returncode == 0 and "OK" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules:\n  - id: a\n    action: maybe\n  - id: a\n    action: mask\n"
                   "    method: frobnicate\n")
    res = _parasol(env, "policy", "check", str(bad))
    assert res.returncode == 1
    lines = sorted(int(line.split(":")[1]) for line in res.stdout.splitlines())
    assert lines == [4, 5, 7], res.stdout


def test_policy_explain_names_the_deciding_rule(stack):
    res = _parasol(settings_env(stack), "policy", "explain", "--user", "susan", "--role", "support",
                   "--column", "customers.mobile", "--db", "crm", "--json")
    assert res.returncode == 0, res.stderr
    import json

    out = json.loads(res.stdout)
    assert out["decision"]["action"] == "mask" and out["decision"]["method"] == "partial"
    assert out["decision"]["rule"] == "support-phones-partial"


def test_static_masking_of_a_csv_file(stack, tmp_path):
    fake = Faker("zh_CN")
    fake.seed_instance(3)
    src, dst = tmp_path / "customers.csv", tmp_path / "masked.csv"
    rows = [{"id": i, "name": fake.name(), "mobile": fake.phone_number(), "id_card": fake.ssn(),
             "city": fake.city(), "note": f"备注, \"{i}\""} for i in range(3000)]
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    res = _parasol(settings_env(stack), "mask", str(src), "-o", str(dst), "--role", "support", "--db", "crm")
    assert res.returncode == 0, res.stderr
    with open(dst, newline="", encoding="utf-8") as f:
        out = list(csv.DictReader(f))
    assert len(out) == len(rows) and [r["id"] for r in out] == [str(r["id"]) for r in rows]
    text = dst.read_text(encoding="utf-8")
    assert not any(r["mobile"] in text or r["id_card"] in text for r in rows)
    assert all(o["mobile"][:3] == str(r["mobile"])[:3] and "*" in o["mobile"] for o, r in zip(out, rows))
    assert [o["note"] for o in out] == [r["note"] for r in rows]  # free text without personal data kept
    assert "mobile (partial)" in res.stdout


def test_reveal_only_for_the_authorised_role_and_always_audited(stack, tmp_path):
    s = scoped(stack, "reveal", data_dir=tmp_path)  # its own masking key, in data_dir
    env = settings_env(s)
    from detectors.masking.engine import MaskingEngine
    from detectors.masking.keys import Keyring
    from detectors.masking.model import Resource, Subject

    keys, current = s.masking_key_material()
    engine = MaskingEngine(keyring=Keyring(keys, current))
    auditor = Subject("ann", ("auditor",))
    decision = engine.decide(auditor, Resource("pg-crm-01", "crm", "customers", "mobile", entity="CN_MOBILE",
                                               category="personal.contact", level="general-2"))
    assert decision.method == "tokenize"
    token = engine.mask_value(decision, "13812345678")
    assert token != "13812345678" and len(token) == 11 and token.isdigit()

    ok = _parasol(env, "reveal", token, "--user", "ann", "--role", "auditor", "--entity", "CN_MOBILE",
                  "--reason", "case 42")
    assert ok.returncode == 0 and ok.stdout.strip() == "13812345678", ok.stderr
    denied = _parasol(env, "reveal", token, "--user", "sam", "--role", "support", "--entity", "CN_MOBILE")
    assert denied.returncode == 1 and "13812345678" not in denied.stdout + denied.stderr

    audit = drain_topic(s, "db_audit", 2, timeout=30)
    assert sorted((a["user"]["name"], a["event"]["action"], a["event"]["outcome"]) for a in audit) == [
        ("ann", "reveal", "success"), ("sam", "reveal", "failure")]
    assert "13812345678" not in str(audit)
    assert [a["event"]["reason"] for a in audit if a["user"]["name"] == "ann"] == ["case 42"]
