"""The data-asset catalogue: what each column holds, how sensitive, who reads it. Pure merging.

An *observation* (built by :mod:`detectors.understand` per event, aggregated per batch by the
stream) says: this column was touched at this time by this reader; its name suggested entity X
(``name_hits``); of ``values_seen`` sample values, ``value_hits`` were recognised. The catalogue
keeps one record per ``instance/db/table.column`` and re-grades it as evidence accumulates:
value evidence outranks name evidence, and a higher grade backed by values wins over a lower one
(a column called ``remark`` that holds ID numbers is graded by the IDs).

:func:`merge` returns the new record and whether it *changed* in a way the index should show
(new, re-graded, a new reader, or ``last_seen`` moved by more than ``touch_s``) — so the
``parasol-assets*`` index is written on change, not on every read.

>>> obs = {"key": "pg1/crm/customers.mobile", "instance": "pg1", "db": "crm",
...        "column": "customers.mobile", "entity": "CN_MOBILE", "confidence": 0.9,
...        "grade": {"entity": "CN_MOBILE", "category": "contact", "level": "general-2",
...                  "jr_0197": 3, "personal": True, "sensitive_personal": False},
...        "name_hits": 1, "value_hits": 3, "values_seen": 3, "seen": "2026-11-27T01:00:00.000Z",
...        "reader": "alice"}
>>> rec, changed = merge(None, obs)
>>> changed, rec["level"], rec["readers"], rec["evidence"]["values"]
(True, 'general-2', {'alice': 1}, 3)
>>> merge(rec, obs)[1]  # the same evidence again: nothing the index needs
False
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = ["MAX_READERS", "EvidenceGate", "aggregate", "asset_document", "combine", "merge"]

MAX_READERS = 50  # readers kept per asset (the busiest), so a record stays bounded
_RANK = {"general-1": 1, "general-2": 2, "general-3": 3, "general-4": 4, "important": 5, "core": 6}


def _ts(text: str | None) -> float:
    if not text:
        return 0.0
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def aggregate(observations: list[dict]) -> dict[str, dict]:
    """Fold a batch's observations per asset key (counts add up, best classification kept)."""
    out: dict[str, dict] = {}
    for o in observations:
        single = {**o, "readers": {o["reader"]: 1} if o.get("reader") else {}, "reads": 1, "first": o["seen"]}
        single.pop("reader", None)
        single.pop("event_id", None)
        a = out.get(o["key"])
        out[o["key"]] = single if a is None else combine(a, single)
    return out


def combine(a: dict, b: dict) -> dict:
    """Two aggregated observations of one asset as one (``a`` is updated and returned)."""
    for k in ("name_hits", "value_hits", "values_seen", "reads"):
        a[k] += b[k]
    if _better(b, a):
        a["entity"], a["grade"], a["confidence"] = b["entity"], b["grade"], b["confidence"]
    a["seen"] = max(a["seen"] or "", b["seen"] or "") or None
    a["first"] = min(x for x in (a["first"], b["first"]) if x) if (a["first"] or b["first"]) else None
    for r, n in b["readers"].items():
        a["readers"][r] = a["readers"].get(r, 0) + n
    return a


class EvidenceGate:
    """Decides which aggregated observations a worker sends now and which it holds back.

    What changes the catalogue — an asset this worker has not reported yet, a better
    classification, a reader not reported yet — goes out with the batch that saw it. Mere repeat
    evidence (counts, ``last_seen``) is pooled per asset and sent when it is ``flush_s`` old, so a
    busy table costs one message per interval instead of one per batch. A crash loses at most
    ``flush_s`` of pooled counts, never a new asset, reader or grade. Memory: ``max_assets``.

    >>> g = EvidenceGate(flush_s=30)
    >>> o = {"key": "k", "entity": None, "grade": None, "confidence": 0.0, "name_hits": 0,
    ...      "value_hits": 0, "values_seen": 0, "reads": 1, "readers": {"alice": 1},
    ...      "seen": "2026-11-27T01:00:00.000Z", "first": "2026-11-27T01:00:00.000Z"}
    >>> list(g.admit({"k": dict(o, readers={"alice": 1})}, now=0)), list(g.admit({"k": dict(o, readers={"alice": 1})}, now=1))
    (['k'], [])
    >>> g.due(now=40)["k"]["reads"]
    1
    """

    def __init__(self, flush_s: float = 30.0, max_assets: int = 100_000):
        self.flush_s = flush_s
        self.max_assets = max_assets
        self._known: dict[str, tuple[Any, frozenset]] = {}  # key → (grade level/entity, readers) sent
        self._pending: dict[str, tuple[float, dict]] = {}

    def admit(self, batch: dict[str, dict], now: float) -> dict[str, dict]:
        send: dict[str, dict] = {}
        for key, obs in batch.items():
            grade = (obs.get("entity"), (obs.get("grade") or {}).get("level"))
            sent = self._known.get(key)
            if sent is None or (obs.get("grade") and grade != sent[0]) or not set(obs["readers"]) <= sent[1]:
                held = self._pending.pop(key, None)
                if held:
                    obs = combine(held[1], obs)
                send[key] = obs
                readers = frozenset(obs["readers"]) | (sent[1] if sent else frozenset())
                self._known[key] = (grade if obs.get("grade") or sent is None else sent[0], readers)
            elif key in self._pending:
                since, held = self._pending[key]
                self._pending[key] = (since, combine(held, obs))
            else:
                self._pending[key] = (now, obs)
        if len(self._known) > self.max_assets:  # forget the oldest: they are re-sent once, harmlessly
            for k in list(self._known)[: len(self._known) - self.max_assets]:
                del self._known[k]
        return send

    def due(self, now: float, everything: bool = False) -> dict[str, dict]:
        """Pooled evidence that has waited ``flush_s`` (or all of it, on shutdown)."""
        out = {k: obs for k, (since, obs) in self._pending.items() if everything or now - since >= self.flush_s}
        for k in out:
            del self._pending[k]
        return out


def _better(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """Does ``new``'s classification beat ``old``'s? Value evidence first, then grade, then confidence."""
    if not new.get("grade"):
        return False
    if not old.get("grade"):
        return True
    nv, ov = new.get("value_hits", 0) > 0, old.get("value_hits", 0) > 0
    if nv != ov:
        return nv
    nr, orank = _RANK.get(new["grade"]["level"], 0), _RANK.get(old["grade"]["level"], 0)
    if nr != orank:
        return nr > orank
    return new.get("confidence", 0) > old.get("confidence", 0)


def merge(record: dict | None, obs: dict, touch_s: float = 3600.0) -> tuple[dict, bool]:
    """Merge one (possibly aggregated) observation into a catalogue record."""
    readers_in = obs.get("readers") or ({obs["reader"]: 1} if obs.get("reader") else {})
    reads_in = obs.get("reads", 1)
    if record is None:
        table, _, column = obs["column"].rpartition(".")
        record = {
            "asset": {"key": obs["key"]},
            "db": {"instance": obs.get("instance"), "name": obs.get("db")},
            "table": table,
            "column": column,
            "entity": None,
            "category": None,
            "level": None,
            "jr_0197": None,
            "personal": False,
            "sensitive_personal": False,
            "confidence": 0.0,
            "evidence": {"names": 0, "values": 0, "values_seen": 0},
            "first_seen": obs.get("first") or obs.get("seen"),
            "last_seen": obs.get("seen"),
            "reads": 0,
            "readers": {},
        }
        changed = True
    else:
        record = {**record, "evidence": dict(record["evidence"]), "readers": dict(record["readers"])}
        changed = False
    ev = record["evidence"]
    current = {"grade": _grade_of(record), "value_hits": ev["values"], "confidence": record["confidence"]}
    ev["names"] += obs.get("name_hits", 0)
    ev["values"] += obs.get("value_hits", 0)
    ev["values_seen"] += obs.get("values_seen", 0)
    if _better(obs, current):
        g = obs["grade"]
        regraded = (record["entity"], record["level"]) != (g["entity"], g["level"])
        record.update(
            entity=g["entity"],
            category=g["category"],
            level=g["level"],
            jr_0197=g["jr_0197"],
            personal=g["personal"],
            sensitive_personal=g["sensitive_personal"],
            confidence=obs.get("confidence", 0.0),
        )
        changed = changed or regraded
    record["reads"] += reads_in
    for reader, n in readers_in.items():
        if reader not in record["readers"]:
            changed = True
        record["readers"][reader] = record["readers"].get(reader, 0) + n
    if len(record["readers"]) > MAX_READERS:
        top = sorted(record["readers"].items(), key=lambda kv: -kv[1])[:MAX_READERS]
        record["readers"] = dict(top)
    seen = obs.get("seen")
    if seen and seen > (record["last_seen"] or ""):
        if _ts(seen) - _ts(record["last_seen"]) > touch_s:
            changed = True
        record["last_seen"] = seen
    first = obs.get("first") or seen
    if first and first < (record["first_seen"] or first):
        record["first_seen"] = first
        changed = True
    return record, changed


def _grade_of(record: dict) -> dict | None:
    if not record.get("entity"):
        return None
    return {"entity": record["entity"], "level": record["level"]}


def asset_document(record: dict) -> tuple[str, dict]:
    """(``_id``, document) for ``parasol-assets*``: the id is a hash of the asset key."""
    import hashlib

    key = record["asset"]["key"]
    readers = sorted(record["readers"], key=lambda r: -record["readers"][r])
    doc = {
        "@timestamp": record["last_seen"],
        "asset": {
            "id": hashlib.blake2b(key.encode(), digest_size=16).hexdigest(),
            "key": key,
            "table": record["table"],
            "column": record["column"],
            "readers": readers,
            "reader_reads": record["readers"],
        },
        "db": record["db"],
        "classification": {
            "entity": record["entity"],
            "category": record["category"],
            "level": record["level"],
            "jr_0197": record["jr_0197"],
            "personal": record["personal"],
            "sensitive_personal": record["sensitive_personal"],
            "confidence": record["confidence"],
        },
        "evidence": record["evidence"],
        "first_seen": record["first_seen"],
        "last_seen": record["last_seen"],
        "reads": record["reads"],
    }
    return doc["asset"]["id"], doc
