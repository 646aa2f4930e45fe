"""The source formats ``parasol tail`` knows, by CLI name."""

from __future__ import annotations

from collections.abc import Callable

from connectors.sources.base import Parser, SourceOptions

__all__ = ["FORMATS", "make_parser"]


def _pgaudit(options: SourceOptions, variant: str | None) -> Parser:
    from connectors.sources.pgaudit import PgAuditParser

    return PgAuditParser(options=options, log_format=variant or "auto")


def _mariadb(options: SourceOptions, variant: str | None) -> Parser:
    from connectors.sources.mariadb_audit import MariaDbAuditParser

    return MariaDbAuditParser(options=options)


def _mysql_json(options: SourceOptions, variant: str | None) -> Parser:
    from connectors.sources.mysql_audit_json import MySqlAuditJsonParser

    return MySqlAuditJsonParser(options=options)


def _jsonl(options: SourceOptions, variant: str | None) -> Parser:
    from connectors.sources.jsonl import JsonlParser

    return JsonlParser(options=options, kind_hint=variant or "auto")


def _nginx(options: SourceOptions, variant: str | None) -> Parser:
    from connectors.sources.access_logs import NginxParser

    return NginxParser(options=options)


def _envoy(options: SourceOptions, variant: str | None) -> Parser:
    from connectors.sources.access_logs import EnvoyParser

    return EnvoyParser(options=options)


def _kong(options: SourceOptions, variant: str | None) -> Parser:
    from connectors.sources.access_logs import KongParser

    return KongParser(options=options)


#: name → (factory, description, accepted variants)
FORMATS: dict[str, tuple[Callable[[SourceOptions, str | None], Parser], str, tuple[str, ...]]] = {
    "pgaudit": (_pgaudit, "PostgreSQL server log with pgaudit (jsonlog, csvlog or stderr)", ("auto", "jsonlog", "csvlog", "stderr")),
    "mariadb": (_mariadb, "MariaDB server_audit file log", ()),
    "mysql-json": (_mysql_json, "MySQL Enterprise / Percona audit log, JSON format", ()),
    "jsonl": (_jsonl, "contract JSON lines from DB proxies (CONTRACT.md)", ("auto", "db", "api")),
    "nginx": (_nginx, "nginx access log: parasol JSON format or combined", ()),
    "envoy": (_envoy, "Envoy access log: JSON or the default text format", ()),
    "kong": (_kong, "Kong file-log / http-log JSON", ()),
}


def make_parser(name: str, options: SourceOptions | None = None, variant: str | None = None) -> Parser:
    """A parser for a CLI format name; ``variant`` picks a sub-format (pgaudit log form, jsonl kind)."""
    try:
        factory, _, variants = FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}; known: {', '.join(FORMATS)}") from None
    if variant and variant not in variants:
        raise ValueError(f"{name}: unknown variant {variant!r}; known: {', '.join(variants) or 'none'}")
    return factory(options or SourceOptions(), variant)
