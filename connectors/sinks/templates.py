"""Composable index templates for the contract's index families (CONTRACT.md "Elasticsearch").

One JSON file per family lives next to this module in ``templates/`` (package data): ``audit``,
``alerts``, ``assets``, ``entities``. Each holds the template ``priority``, ``version``, ``_meta``
and ``template.mappings``; the index pattern is added here from the configured prefix, so several
prefixes (one per test run, say) can coexist on one cluster.

Mappings are explicit ECS types for every contract field (``source.ip`` is ``ip``,
``db.statement`` is ``text`` with a ``keyword`` sub-field, …); masked samples
(``db.result_sample``, ``http.response.sample``) are kept in ``_source`` but never indexed; the
``parasol`` object is open to enrichment by later stages; other strings map to ``keyword``.
Date detection is off so that a string which happens to look like a date never fixes a field's
type by accident.

Shard and replica counts are not in the files: the cluster's defaults apply unless the caller
passes them (the embedded store is happy with 1 / 0; production decides for itself).

>>> bodies = template_bodies("parasol-")
>>> sorted(bodies)
['parasol-alerts', 'parasol-assets', 'parasol-audit', 'parasol-entities']
>>> bodies["parasol-audit"]["index_patterns"], bodies["parasol-audit"]["priority"]
(['parasol-audit*'], 200)
>>> props = bodies["parasol-audit"]["template"]["mappings"]["properties"]
>>> props["source"]["properties"]["ip"]
{'type': 'ip'}
>>> t1 = template_bodies("t1-", number_of_shards=1, number_of_replicas=0)
>>> t1["t1-alerts"]["template"]["settings"]
{'index': {'number_of_shards': 1, 'number_of_replicas': 0}}
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

from connectors.settings import INDICES

__all__ = [
    "FAMILIES",
    "load_template",
    "template_name",
    "template_bodies",
    "put_kwargs",
    "ensure_templates",
    "ensure_templates_sync",
]

#: Index families that have a template (the contract's, in CONTRACT.md order).
FAMILIES: tuple[str, ...] = tuple(INDICES)

#: Keys of an index template body that ``put_index_template`` takes as keyword arguments,
#: with the client's name when it differs from the REST body's.
_BODY_KEYS = {
    "index_patterns": "index_patterns",
    "priority": "priority",
    "version": "version",
    "template": "template",
    "composed_of": "composed_of",
    "data_stream": "data_stream",
    "allow_auto_create": "allow_auto_create",
    "_meta": "meta",
}


@cache
def _read(family: str) -> dict[str, Any]:
    if family not in FAMILIES:
        raise KeyError(f"no index template for family {family!r} (known: {', '.join(FAMILIES)})")
    data = (resources.files(__package__) / "templates" / f"{family}.json").read_text("utf-8")
    return json.loads(data)


def load_template(family: str) -> dict[str, Any]:
    """The template file of one family as stored (a fresh copy; no index pattern yet)."""
    return copy.deepcopy(_read(family))


def template_name(index_prefix: str, family: str) -> str:
    """Name of the index template of ``family`` under ``index_prefix`` (``parasol-audit``)."""
    return f"{index_prefix}{family}"


def template_bodies(
    index_prefix: str = "parasol-",
    *,
    number_of_shards: int | None = None,
    number_of_replicas: int | None = None,
    priority: int | None = None,
) -> dict[str, dict[str, Any]]:
    """``{template_name: body}`` for every family, with ``index_patterns: [prefix + family + "*"]``.

    ``body`` is the REST body of ``PUT _index_template/<name>``. Shard / replica counts are set
    only when given; ``priority`` overrides the files' (200) when given.
    """
    out: dict[str, dict[str, Any]] = {}
    for family in FAMILIES:
        body = load_template(family)
        body["index_patterns"] = [f"{index_prefix}{family}*"]
        if priority is not None:
            body["priority"] = priority
        index_settings: dict[str, Any] = {}
        if number_of_shards is not None:
            index_settings["number_of_shards"] = number_of_shards
        if number_of_replicas is not None:
            index_settings["number_of_replicas"] = number_of_replicas
        if index_settings:
            settings = body["template"].setdefault("settings", {})
            settings.setdefault("index", {}).update(index_settings)
        out[template_name(index_prefix, family)] = body
    return out


def put_kwargs(name: str, body: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of ``es.indices.put_index_template`` (elasticsearch-py 8.x) for a body.

    The client spells ``_meta`` as ``meta``; unknown keys are an error rather than dropped.
    """
    unknown = set(body) - set(_BODY_KEYS)
    if unknown:
        raise ValueError(f"index template {name!r}: unexpected keys {sorted(unknown)}")
    return {"name": name, **{_BODY_KEYS[k]: v for k, v in body.items()}}


async def ensure_templates(es: Any, index_prefix: str = "parasol-", **options: Any) -> list[str]:
    """PUT every family's template with an ``AsyncElasticsearch`` client; returns their names.

    Idempotent (a PUT replaces the template); existing indices keep their mappings, new
    indices get the new ones. ``options`` go to :func:`template_bodies`.
    """
    bodies = template_bodies(index_prefix, **options)
    for name, body in bodies.items():
        await es.indices.put_index_template(**put_kwargs(name, body))
    return list(bodies)


def ensure_templates_sync(es: Any, index_prefix: str = "parasol-", **options: Any) -> list[str]:
    """As :func:`ensure_templates`, with a synchronous ``Elasticsearch`` client."""
    bodies = template_bodies(index_prefix, **options)
    for name, body in bodies.items():
        es.indices.put_index_template(**put_kwargs(name, body))
    return list(bodies)
