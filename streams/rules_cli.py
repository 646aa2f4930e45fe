"""``parasol rules list|check|export``: the rule pack and Sigma rules outside the stream.

``export --format es`` prints one Elasticsearch search body per rule (native and Sigma), for
Kibana or scripts: ``{"rule": {...}, "index": "parasol-audit*", "query": {...}, "exact": bool,
"notes": [...]}``; run with ``--run`` it also counts each query's matches in the store.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

__all__ = ["add_commands", "exported"]


def _rules(args: argparse.Namespace) -> list:
    from connectors.settings import Settings
    from detectors.rules import load_rules, load_sigma
    from detectors.rules.conditions import set_site_timezone

    set_site_timezone(Settings().site_timezone)

    rules = list(load_rules(*args.rules)) if args.rules else list(load_rules())
    sigma_files = [str(p) for path in args.sigma for p in (sorted(Path(path).glob("*.y*ml"))
                                                             if Path(path).is_dir() else [Path(path)])]
    if sigma_files:
        rules += list(load_sigma(*sigma_files))
    return rules


def exported(rules: list, settings) -> list[dict]:
    """export_es bodies with the index patterns of these settings (``PARASOL_INDEX_PREFIX``)."""
    from detectors.rules import export_es

    out = []
    for body in export_es(rules):
        family = body["index"].rstrip("*").rsplit("-", 1)[-1]
        out.append({**body, "index": settings.index_pattern(family)})
    return out


def cmd_list(args: argparse.Namespace) -> int:
    rules = _rules(args)
    if args.json:
        sys.stdout.write(orjson.dumps([{"id": r.id, "name": r.name, "type": r.type, "severity": r.severity,
                                        "risk_score": r.risk_score} for r in rules]).decode() + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rules)} rule(s)")
    for col in ("id", "name", "type", "severity", "score"):
        table.add_column(col)
    for r in rules:
        table.add_row(r.id[:8], r.name, r.type, r.severity, str(r.risk_score))
    Console().print(table)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from detectors.rules import RuleLoadError, rule_test_failures

    try:
        rules = _rules(args)
    except RuleLoadError as exc:
        print(exc, file=sys.stderr)
        return 1
    failures = rule_test_failures(rules)
    for line in failures:
        print(line)
    print(f"{len(rules)} rules, {len(failures)} failing case(s)")
    return 1 if failures else 0


def cmd_export(args: argparse.Namespace) -> int:
    from connectors.settings import Settings

    s = Settings()
    bodies = exported(_rules(args), s)
    if args.run:
        from elasticsearch import ApiError, Elasticsearch

        failed = 0
        with Elasticsearch(**s.es_client_kwargs()) as es:
            for body in bodies:
                try:
                    resp = es.count(index=body["index"], query=body["query"], ignore_unavailable=True,
                                    allow_no_indices=True)
                    body["matches"] = resp["count"]
                except ApiError as exc:  # e.g. the embedded store has no script queries
                    failed += 1
                    body["matches"], body["error"] = None, f"{exc.meta.status}: {exc.message}: {exc.info}"[:500]
        if failed:
            print(f"{failed} of {len(bodies)} queries refused by the store (see 'error')", file=sys.stderr)
    sys.stdout.write(orjson.dumps(bodies, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def add_commands(sub) -> None:
    rules = sub.add_parser("rules", help="the detection rules: list, check their cases, export as ES queries")
    rsub = rules.add_subparsers(dest="action", required=True)
    for name, func, text in (("list", cmd_list, "list the rules"),
                             ("check", cmd_check, "load the rules and run each rule's own cases"),
                             ("export", cmd_export, "the rules as Elasticsearch queries (JSON)")):
        p = rsub.add_parser(name, help=text)
        p.add_argument("--rules", action="append", default=[], help="rule files or directories (default: the pack)")
        p.add_argument("--sigma", action="append", default=[], help="Sigma rule files or directories")
        if name == "list":
            p.add_argument("--json", action="store_true")
        if name == "export":
            p.add_argument("--format", choices=["es"], default="es")
            p.add_argument("--run", action="store_true", help="also count each query's matches in the store")
        p.set_defaults(func=func)
