"""``parasol policy check|explain``, ``parasol reveal`` and ``parasol mask`` (static masking).

Kept apart from :mod:`streams.cli` so the plain ``parasol --help`` stays cheap; each command
imports the masking engine only when it runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["add_commands"]


def _settings():
    from connectors.settings import Settings

    return Settings()


def _engine(policy_path: str | None):
    from detectors.masking.engine import MaskingEngine
    from detectors.masking.keys import Keyring
    from detectors.masking.policy import load_policy

    s = _settings()
    keys, current = s.masking_key_material()
    return s, MaskingEngine(load_policy(policy_path or s.policy_file), Keyring(keys, current))


def cmd_policy_check(args: argparse.Namespace) -> int:
    from detectors.masking.policy import PolicyError, load_policy

    try:
        policy = load_policy(args.file)
    except PolicyError as exc:
        for line, msg in exc.errors:
            print(f"{args.file}:{line}: {msg}")
        print(f"{len(exc.errors)} problem(s); the policy was not accepted", file=sys.stderr)
        return 1
    n = len(getattr(policy, "rules", ()) or ())
    print(f"{args.file}: OK — version {policy.version}, {n} rules")
    return 0


def cmd_policy_explain(args: argparse.Namespace) -> int:
    from detectors.masking.model import Resource, Subject
    from detectors.masking.policy import PolicyError

    try:
        _, engine = _engine(args.policy)
    except PolicyError as exc:
        print(exc, file=sys.stderr)
        return 1
    table, _, column = args.column.rpartition(".")
    subject = Subject(args.user, tuple(args.role or ()), purpose=args.purpose,
                      environment=args.environment, risk_level=args.risk)
    resource = engine.resource_for(args.instance, args.db, f"{table or '?'}.{column}")
    if args.entity or args.level:
        resource = Resource(args.instance, args.db, table or "?", column, entity=args.entity or resource.entity,
                            category=resource.category, level=args.level or resource.level)
    at = datetime.fromisoformat(args.at) if args.at else datetime.now(UTC)
    explanation = engine.explain(subject, resource, at, bulk=args.bulk)
    if args.json:
        print(json.dumps(explanation.to_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        print(explanation.text())
    return 0


def cmd_reveal(args: argparse.Namespace) -> int:
    """Reveal a token for an authorised role; every attempt is itself an audit event."""
    import orjson
    from confluent_kafka import Producer

    from detectors.masking.engine import NotAuthorized
    from detectors.masking.model import Subject

    s, engine = _engine(args.policy)
    subject = Subject(args.user, tuple(args.role or ()))
    outcome, error, plaintext = "success", None, None
    try:
        plaintext = engine.reveal(args.token, subject, entity=args.entity, key_id=args.key_id)
    except NotAuthorized as exc:
        outcome, error = "failure", f"not authorised: {exc}"
    except ValueError as exc:
        outcome, error = "failure", str(exc)
    event = {
        "@timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event": {"action": "reveal", "outcome": outcome, "module": "parasol",
                  "reason": args.reason or "no reason given"},
        "user": {"name": args.user, "roles": list(args.role or ())},
        "db": {"error": error} if error else {},
    }
    if not event["db"]:
        del event["db"]
    p = Producer({**s.confluent_config(), "enable.idempotence": True})
    failed: list = []
    p.produce(s.topic("db_audit"), key=args.user.encode(), value=orjson.dumps(event),
              on_delivery=lambda e, m: e and failed.append(e))
    p.flush(15)
    if failed:
        # No audit record, no plaintext: revealing must leave a trace.
        print(f"parasol reveal: the audit event could not be written ({failed[0]}); nothing revealed",
              file=sys.stderr)
        return 2
    if plaintext is None:
        print(f"parasol reveal: {error}", file=sys.stderr)
        return 1
    print(plaintext)
    return 0


class _CountingLines:
    """Lines of a text file, counting the bytes read (for the progress bar)."""

    def __init__(self, f):
        self.f = f
        self.bytes = 0

    def __iter__(self):
        for line in self.f:
            self.bytes += len(line.encode("utf-8"))
            yield line


def cmd_mask(args: argparse.Namespace) -> int:
    """Stream a CSV or JSON-lines file through the masking engine, in constant memory."""
    import orjson

    from detectors.masking.model import Subject

    _, engine = _engine(args.policy)
    src, dst = Path(args.input), Path(args.output)
    fmt = args.format or ("csv" if src.suffix.lower() == ".csv" else "jsonl")
    subject = Subject(args.user, tuple(args.role or ()))
    table = args.table or src.stem
    total = src.stat().st_size or 1
    summary: dict[str, str] = {}
    n = 0
    t0 = last = time.monotonic()

    def progress(done_bytes: int, final: bool = False) -> None:
        nonlocal last
        now = time.monotonic()
        if final or now - last >= 0.5:
            last = now
            pct = min(100.0, 100.0 * done_bytes / total)
            bar = "#" * int(pct / 4)
            sys.stderr.write(f"\r[{bar:<25}] {pct:5.1f}%  {n:,} rows  {n / max(now - t0, 1e-9):,.0f} rows/s ")
            sys.stderr.flush()

    with open(dst, "w", newline="", encoding="utf-8") as out:
        if fmt == "csv":
            with open(src, newline="", encoding="utf-8") as f:
                lines = _CountingLines(f)
                reader = csv.DictReader(lines)
                header = reader.fieldnames or []
                sd = engine.decide_columns(subject, [(table, c) for c in header], args.instance, args.db)
                writer = csv.DictWriter(out, fieldnames=header)
                writer.writeheader()
                batch: list[dict] = []
                for row in reader:
                    batch.append(row)
                    if len(batch) == 1000:
                        masked, s = engine.mask_rows(sd, batch)
                        writer.writerows(masked)
                        summary.update(s)
                        n += len(batch)
                        batch = []
                        progress(lines.bytes)
                if batch:
                    masked, s = engine.mask_rows(sd, batch)
                    writer.writerows(masked)
                    summary.update(s)
                    n += len(batch)
        else:
            sd = None
            with open(src, "rb") as f:
                batch_rows: list[dict] = []
                for line in f:
                    if not line.strip():
                        continue
                    row = orjson.loads(line)
                    if sd is None:
                        sd = engine.decide_columns(subject, [(table, c) for c in row], args.instance, args.db)
                    batch_rows.append(row)
                    if len(batch_rows) == 1000:
                        masked, s = engine.mask_rows(sd, batch_rows)
                        out.writelines(orjson.dumps(r).decode() + "\n" for r in masked)
                        summary.update(s)
                        n += len(batch_rows)
                        batch_rows = []
                        progress(f.tell())
                if batch_rows:
                    masked, s = engine.mask_rows(sd, batch_rows)
                    out.writelines(orjson.dumps(r).decode() + "\n" for r in masked)
                    summary.update(s)
                    n += len(batch_rows)
    progress(total, final=True)
    sys.stderr.write("\n")
    masked_cols = ", ".join(f"{c} ({m})" for c, m in sorted(summary.items())) or "nothing"
    print(f"parasol mask: {n:,} rows from {src} → {dst} as {subject.user} ({', '.join(subject.roles) or 'no role'});"
          f" masked: {masked_cols}")
    return 0


def add_commands(sub) -> None:
    """Register the masking commands on the ``parasol`` argument parser."""
    policy = sub.add_parser("policy", help="masking policies: check a file, explain a decision")
    psub = policy.add_subparsers(dest="action", required=True)
    check = psub.add_parser("check", help="validate a policy file; every problem with its line")
    check.add_argument("file")
    check.set_defaults(func=cmd_policy_check)
    explain = psub.add_parser("explain", help="which rule decides for this user, role and column, and why")
    explain.add_argument("--user", required=True)
    explain.add_argument("--role", action="append", help="repeatable")
    explain.add_argument("--column", required=True, help="table.column (or column)")
    explain.add_argument("--instance")
    explain.add_argument("--db")
    explain.add_argument("--purpose")
    explain.add_argument("--environment")
    explain.add_argument("--risk", choices=("low", "medium", "high", "critical"))
    explain.add_argument("--entity", help="classification entity (default: judged from the column name)")
    explain.add_argument("--level", help="classification level, e.g. general-4")
    explain.add_argument("--bulk", action="store_true", help="as part of a bulk read")
    explain.add_argument("--at", help="ISO time (time-window rules); default now")
    explain.add_argument("--policy", help="policy file (default: PARASOL_POLICY_FILE or the packaged one)")
    explain.add_argument("--json", action="store_true")
    explain.set_defaults(func=cmd_policy_explain)

    reveal = sub.add_parser("reveal", help="reveal a tokenized value (authorised roles only; audited)")
    reveal.add_argument("token")
    reveal.add_argument("--user", required=True)
    reveal.add_argument("--role", action="append")
    reveal.add_argument("--entity", help="entity of the token (e.g. CN_MOBILE) for format-aware tokens")
    reveal.add_argument("--key-id", help="key the token was made with (default: the current key)")
    reveal.add_argument("--reason", help="why (recorded in the audit event)")
    reveal.add_argument("--policy")
    reveal.set_defaults(func=cmd_reveal)

    mask = sub.add_parser("mask", help="static masking of a CSV or JSON-lines file (any size)")
    mask.add_argument("input")
    mask.add_argument("-o", "--output", required=True)
    mask.add_argument("--role", action="append", required=True)
    mask.add_argument("--user", default="static-masking")
    mask.add_argument("--policy")
    mask.add_argument("--table", help="table name for the policy (default: the file's stem)")
    mask.add_argument("--instance")
    mask.add_argument("--db")
    mask.add_argument("--format", choices=("csv", "jsonl"))
    mask.set_defaults(func=cmd_mask)
