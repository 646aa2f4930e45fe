"""ILM policies, aliases and lifecycle settings of the index templates (connectors/sinks/templates.py).

Pure: no store. tests/integration/test_index_lifecycle.py installs them into the embedded one.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging

import pytest

from connectors.settings import Settings
from connectors.sinks.templates import (
    ALIASED_FAMILIES,
    DEFAULT_RETENTION_DAYS,
    FAMILIES,
    alias_name,
    ensure_templates,
    ensure_templates_sync,
    ilm_policies,
    ilm_policy,
    load_template,
    retention,
    template_bodies,
)


def test_default_retention():
    assert DEFAULT_RETENTION_DAYS == {"audit": 90, "alerts": 365, "assets": None, "entities": None}
    assert set(DEFAULT_RETENTION_DAYS) == set(FAMILIES)


def test_policy_bodies():
    policies = ilm_policies("parasol-")
    assert set(policies) == {f"parasol-{f}" for f in FAMILIES}
    hot = {"min_age": "0ms", "actions": {"set_priority": {"priority": 100}}}
    assert policies["parasol-audit"] == {
        "_meta": {"managed_by": "parasol", "family": "audit", "retention_days": 90},
        "phases": {"hot": hot, "delete": {"min_age": "90d", "actions": {"delete": {}}}},
    }
    assert policies["parasol-alerts"]["phases"]["delete"]["min_age"] == "365d"
    for kept in ("parasol-assets", "parasol-entities"):
        assert policies[kept]["phases"] == {"hot": hot}
        assert "retention_days" not in policies[kept]["_meta"]
    # No rollover: indices are cut by time in their names, not by ILM.
    assert all("rollover" not in str(p) for p in policies.values())


def test_retention_overrides():
    policies = ilm_policies("x-", {"audit": 30, "alerts": None, "entities": 14})
    assert policies["x-audit"]["phases"]["delete"]["min_age"] == "30d"
    assert "delete" not in policies["x-alerts"]["phases"]
    assert policies["x-entities"]["phases"]["delete"]["min_age"] == "14d"
    assert "delete" not in policies["x-assets"]["phases"]  # default kept
    assert retention() == DEFAULT_RETENTION_DAYS and retention() is not DEFAULT_RETENTION_DAYS


@pytest.mark.parametrize(
    "bad",
    [{"audit": 0}, {"audit": -1}, {"audit": 1.5}, {"audit": "90"}, {"audit": True}, {"logs": 7}],
)
def test_retention_rejects_nonsense(bad):
    with pytest.raises(ValueError):
        retention(bad)


def test_ilm_policy_is_a_fresh_dict():
    a = ilm_policy("audit", 90)
    a["phases"].clear()
    assert ilm_policy("audit", 90)["phases"]


@pytest.mark.parametrize("prefix", ["parasol-", "test-run-42-"])
def test_lifecycle_setting_names_the_familys_policy(prefix):
    bodies = template_bodies(prefix, lifecycle=True, number_of_replicas=0)
    for family in FAMILIES:
        settings = bodies[f"{prefix}{family}"]["template"]["settings"]
        assert settings == {
            "index": {"number_of_replicas": 0, "lifecycle": {"name": f"{prefix}{family}"}}
        }
        assert f"{prefix}{family}" in ilm_policies(prefix)


def test_no_lifecycle_setting_by_default():
    for body in template_bodies("p-").values():
        assert "settings" not in body["template"]


@pytest.mark.parametrize("prefix", ["parasol-", "t-"])
def test_aliases_only_for_time_based_families(prefix):
    s = Settings(_env_file=None, index_prefix=prefix)
    bodies = template_bodies(prefix)
    assert ALIASED_FAMILIES == ("audit", "alerts")
    for family in FAMILIES:
        template = bodies[f"{prefix}{family}"]["template"]
        if family in ALIASED_FAMILIES:
            # The alias is the family's bare name: what Settings.index(family) without a suffix gives,
            # and never the name of an index the pipeline writes (those carry a date suffix).
            assert template["aliases"] == {s.index(family): {}} == {alias_name(prefix, family): {}}
            assert fnmatch.fnmatch(
                s.index(family, "2026.11.26"), bodies[f"{prefix}{family}"]["index_patterns"][0]
            )
        else:
            # assets / entities are single indices named s.index(family): an alias of that name
            # would make Elasticsearch refuse to create the index.
            assert "aliases" not in template and alias_name(prefix, family) is None


def test_every_template_file_has_a_version():
    for family in FAMILIES:
        version = load_template(family)["version"]
        assert isinstance(version, int) and version >= 1, family


# --- ensure_templates against recording doubles ---------------------------------------------------


class _ApiError(Exception):
    """Shaped like elasticsearch.ApiError: a status_code and a message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status_code = status


class _Client:
    def __init__(self, ilm_error: Exception | None = None, has_ilm: bool = True):
        self.policies: dict[str, dict] = {}
        self.templates: dict[str, dict] = {}
        client = self

        class Ilm:
            def put_lifecycle(self, *, name, policy):
                if ilm_error is not None:
                    raise ilm_error
                client.policies[name] = policy

        class Indices:
            def put_index_template(self, *, name, **kwargs):
                client.templates[name] = kwargs

        if has_ilm:
            self.ilm = Ilm()
        self.indices = Indices()


class _AsyncClient(_Client):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        sync_ilm, sync_indices = getattr(self, "ilm", None), self.indices

        class Ilm:
            async def put_lifecycle(self, **kw):
                return sync_ilm.put_lifecycle(**kw)

        class Indices:
            async def put_index_template(self, **kw):
                return sync_indices.put_index_template(**kw)

        if sync_ilm is not None:
            self.ilm = Ilm()
        self.indices = Indices()


def _lifecycle_names(client: _Client) -> dict[str, str | None]:
    return {
        name: kw["template"].get("settings", {}).get("index", {}).get("lifecycle", {}).get("name")
        for name, kw in client.templates.items()
    }


def test_policies_first_then_templates_that_reference_them(caplog):
    es = _Client()
    with caplog.at_level(logging.WARNING, logger="connectors.sinks.templates"):
        names = ensure_templates_sync(es, "p-", {"audit": 7})
    assert names == [f"p-{f}" for f in FAMILIES]
    assert es.policies == ilm_policies("p-", {"audit": 7})
    assert _lifecycle_names(es) == {f"p-{f}": f"p-{f}" for f in FAMILIES}
    assert not caplog.records


def test_async_variant_does_the_same():
    es = _AsyncClient()
    assert asyncio.run(ensure_templates(es, "p-", number_of_shards=1)) == [
        f"p-{f}" for f in FAMILIES
    ]
    assert set(es.policies) == {f"p-{f}" for f in FAMILIES}
    assert _lifecycle_names(es) == {f"p-{f}": f"p-{f}" for f in FAMILIES}
    assert es.templates["p-audit"]["template"]["settings"]["index"]["number_of_shards"] == 1


@pytest.mark.parametrize(
    "error",
    [
        _ApiError(400, "no handler found for uri [/_ilm/policy/p-audit] and method [PUT]"),
        _ApiError(404, "not found"),
        _ApiError(403, "action [cluster:admin/ilm/put] is unauthorized"),
        None,  # a client without an ILM API at all
    ],
)
@pytest.mark.parametrize("client", [_Client, _AsyncClient])
def test_without_ilm_templates_are_installed_without_lifecycle_and_one_warning(
    caplog, error, client
):
    es = client(ilm_error=error, has_ilm=error is not None)
    with caplog.at_level(logging.WARNING, logger="connectors.sinks.templates"):
        if client is _AsyncClient:
            names = asyncio.run(ensure_templates(es, "p-"))
        else:
            names = ensure_templates_sync(es, "p-")
    assert names == [f"p-{f}" for f in FAMILIES] == list(es.templates)
    assert _lifecycle_names(es) == {f"p-{f}": None for f in FAMILIES}
    assert es.templates["p-audit"]["template"]["aliases"] == {"p-audit": {}}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "ILM" in warnings[0].getMessage()


@pytest.mark.parametrize(
    "error",
    [
        _ApiError(400, "illegal_argument_exception: bad phase"),
        _ApiError(503, "unavailable"),
        ConnectionError("refused"),
    ],
)
def test_other_ilm_errors_propagate(error):
    # The worker retries ensure_templates until Elasticsearch answers: an outage or a policy the
    # cluster rejects must not silently turn ILM off.
    es = _Client(ilm_error=error)
    with pytest.raises(type(error)):
        ensure_templates_sync(es, "p-")
    assert not es.templates
