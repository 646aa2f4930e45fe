"""Composable index templates and ILM policies for the contract's index families (CONTRACT.md
"Elasticsearch").

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

Lifecycle: every family has an ILM policy of its own name (``parasol-audit``): a hot phase, then
a delete phase after the family's retention (:data:`DEFAULT_RETENTION_DAYS`: audit 90 days,
alerts 365, assets and entities kept). The time-based families (one index per day for audit,
per month for alerts) get a search alias named like the family over all their indices, so
``parasol-audit`` reads every day at once. The single-index families need none: their index
already has that name. :func:`ensure_templates` installs the policies first and references them
from the templates (``index.lifecycle.name``) only when that worked: a store without an
``_ilm`` API (the embedded one) or a user without the ``manage_ilm`` privilege gets the templates
without a lifecycle and one warning.

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
>>> bodies["parasol-audit"]["template"]["aliases"]
{'parasol-audit': {}}
>>> "aliases" in bodies["parasol-assets"]["template"]
False
>>> template_bodies("p-", lifecycle=True)["p-alerts"]["template"]["settings"]
{'index': {'lifecycle': {'name': 'p-alerts'}}}
>>> ilm_policies("p-", {"audit": 30})["p-audit"]["phases"]["delete"]
{'min_age': '30d', 'actions': {'delete': {}}}
>>> "delete" in ilm_policies("p-")["p-entities"]["phases"]
False
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from connectors.settings import INDICES

__all__ = [
    "FAMILIES",
    "ALIASED_FAMILIES",
    "DEFAULT_RETENTION_DAYS",
    "load_template",
    "template_name",
    "alias_name",
    "policy_name",
    "retention",
    "ilm_policy",
    "ilm_policies",
    "template_bodies",
    "put_kwargs",
    "ensure_templates",
    "ensure_templates_sync",
]

log = logging.getLogger(__name__)

#: Index families that have a template (the contract's, in CONTRACT.md order).
FAMILIES: tuple[str, ...] = tuple(INDICES)

#: Families written to time-based indices (``audit-YYYY.MM.DD``, ``alerts-YYYY.MM``): their
#: template adds a search alias named like the family. ``assets`` and ``entities`` are single
#: indices already named so (an alias may not share the name of an index).
ALIASED_FAMILIES: tuple[str, ...] = ("audit", "alerts")

#: Days an index of a family is kept, counted by ILM from the index's creation; ``None`` keeps it
#: (the policy has no delete phase).
DEFAULT_RETENTION_DAYS: dict[str, int | None] = {
    "audit": 90,
    "alerts": 365,
    "assets": None,
    "entities": None,
}

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


def policy_name(index_prefix: str, family: str) -> str:
    """Name of the ILM policy of ``family`` (``parasol-audit``; policies have their own names)."""
    return f"{index_prefix}{family}"


def alias_name(index_prefix: str, family: str) -> str | None:
    """The search alias over a time-based family's indices (``parasol-audit``), else ``None``."""
    return f"{index_prefix}{family}" if family in ALIASED_FAMILIES else None


def retention(retention_days: Mapping[str, int | None] | None = None) -> dict[str, int | None]:
    """:data:`DEFAULT_RETENTION_DAYS` with ``retention_days`` laid over it (validated).

    >>> retention({"alerts": 730})["alerts"], retention()["audit"]
    (730, 90)
    >>> retention({"audit": 0})
    Traceback (most recent call last):
    ...
    ValueError: retention of 'audit' must be a positive number of days or None, not 0
    """
    out = dict(DEFAULT_RETENTION_DAYS)
    for family, days in (retention_days or {}).items():
        if family not in FAMILIES:
            known = ", ".join(FAMILIES)
            raise ValueError(f"retention for unknown index family {family!r} (known: {known})")
        if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days <= 0):
            raise ValueError(
                f"retention of {family!r} must be a positive number of days or None, not {days!r}"
            )
        out[family] = days
    return out


def ilm_policy(family: str, days: int | None) -> dict[str, Any]:
    """The ``policy`` object of ``PUT _ilm/policy/<name>``: hot, then delete after ``days``.

    No rollover: the indices are already cut by time (per day / month) by their names. The age
    ILM counts is the index's (its creation, or ``index.lifecycle.origination_date`` when set).
    """
    phases: dict[str, Any] = {
        "hot": {"min_age": "0ms", "actions": {"set_priority": {"priority": 100}}},
    }
    meta: dict[str, Any] = {"managed_by": "parasol", "family": family}
    if days is not None:
        phases["delete"] = {"min_age": f"{days}d", "actions": {"delete": {}}}
        meta["retention_days"] = days
    return {"_meta": meta, "phases": phases}


def ilm_policies(
    index_prefix: str = "parasol-", retention_days: Mapping[str, int | None] | None = None
) -> dict[str, dict[str, Any]]:
    """``{policy_name: policy}`` for every family (see :func:`ilm_policy`)."""
    days = retention(retention_days)
    return {policy_name(index_prefix, f): ilm_policy(f, days[f]) for f in FAMILIES}


def template_bodies(
    index_prefix: str = "parasol-",
    *,
    number_of_shards: int | None = None,
    number_of_replicas: int | None = None,
    priority: int | None = None,
    lifecycle: bool = False,
) -> dict[str, dict[str, Any]]:
    """``{template_name: body}`` for every family, with ``index_patterns: [prefix + family + "*"]``.

    ``body`` is the REST body of ``PUT _index_template/<name>``. Shard / replica counts are set
    only when given; ``priority`` overrides the files' (200) when given; ``lifecycle`` adds
    ``index.lifecycle.name`` (the family's ILM policy, which must exist or be about to). The
    time-based families get their search alias (:func:`alias_name`).
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
        if lifecycle:
            index_settings["lifecycle"] = {"name": policy_name(index_prefix, family)}
        if index_settings:
            settings = body["template"].setdefault("settings", {})
            settings.setdefault("index", {}).update(index_settings)
        alias = alias_name(index_prefix, family)
        if alias is not None:
            body["template"].setdefault("aliases", {})[alias] = {}
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


# --- ILM installation ---------------------------------------------------------------------------


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(getattr(exc, "meta", None), "status", None)
    return status if isinstance(status, int) else None


def _skip_reason(exc: BaseException) -> str | None:
    """Why ILM is skipped after ``exc`` from ``PUT _ilm/policy``, or ``None`` to re-raise it.

    A store without the ILM API answers 400 "no handler found for uri" (the embedded one,
    noida-db) or 404 / 405 / 501; a user without ``manage_ilm`` gets 401 / 403. Anything else
    (connection refused, 5xx, a policy the cluster rejects) is the caller's problem: the worker
    retries until Elasticsearch answers.
    """
    status = _status(exc)
    if (status == 400 and "no handler found" in str(exc).lower()) or status in (404, 405, 501):
        return f"this Elasticsearch API has no ILM ({status}: {exc})"
    if status in (401, 403):
        return (
            f"not allowed to manage ILM policies ({status}); grant the manage_ilm cluster privilege"
        )
    return None


def _warn_skipped(reason: str) -> None:
    log.warning(
        "index lifecycle (ILM) skipped: %s; index templates are installed without "
        "index.lifecycle.name, so indices are kept until deleted by hand",
        reason,
    )


async def _install_policies(es: Any, policies: dict[str, dict[str, Any]]) -> bool:
    ilm = getattr(es, "ilm", None)
    if ilm is None:
        _warn_skipped("the client has no ILM API")
        return False
    try:
        for name, policy in policies.items():
            await ilm.put_lifecycle(name=name, policy=policy)
    except Exception as exc:  # classified: re-raised unless ILM is unavailable
        reason = _skip_reason(exc)
        if reason is None:
            raise
        _warn_skipped(reason)
        return False
    return True


def _install_policies_sync(es: Any, policies: dict[str, dict[str, Any]]) -> bool:
    ilm = getattr(es, "ilm", None)
    if ilm is None:
        _warn_skipped("the client has no ILM API")
        return False
    try:
        for name, policy in policies.items():
            ilm.put_lifecycle(name=name, policy=policy)
    except Exception as exc:  # classified: re-raised unless ILM is unavailable
        reason = _skip_reason(exc)
        if reason is None:
            raise
        _warn_skipped(reason)
        return False
    return True


async def ensure_templates(
    es: Any,
    index_prefix: str = "parasol-",
    retention_days: Mapping[str, int | None] | None = None,
    **options: Any,
) -> list[str]:
    """Install every family's ILM policy, then PUT its template (``AsyncElasticsearch``).

    Returns the template names. Idempotent (a PUT replaces the policy / template); existing
    indices keep their mappings, new indices get the new ones. ``retention_days`` overrides
    :data:`DEFAULT_RETENTION_DAYS` per family (``None``: keep). Where ILM is unavailable (see
    :func:`_skip_reason`) one warning is logged and the templates carry no lifecycle. ``options``
    go to :func:`template_bodies`.
    """
    policies = ilm_policies(index_prefix, retention_days)
    lifecycle = await _install_policies(es, policies)
    bodies = template_bodies(index_prefix, lifecycle=lifecycle, **options)
    for name, body in bodies.items():
        await es.indices.put_index_template(**put_kwargs(name, body))
    return list(bodies)


def ensure_templates_sync(
    es: Any,
    index_prefix: str = "parasol-",
    retention_days: Mapping[str, int | None] | None = None,
    **options: Any,
) -> list[str]:
    """As :func:`ensure_templates`, with a synchronous ``Elasticsearch`` client."""
    policies = ilm_policies(index_prefix, retention_days)
    lifecycle = _install_policies_sync(es, policies)
    bodies = template_bodies(index_prefix, lifecycle=lifecycle, **options)
    for name, body in bodies.items():
        es.indices.put_index_template(**put_kwargs(name, body))
    return list(bodies)
