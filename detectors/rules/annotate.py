"""Fields the rules need that the event does not carry yet, computed once per event.

* ``parasol.sqli`` — SQL-injection signals of ``db.statement`` (:mod:`detectors.rules.sqli`),
  set only when there are some; cached by the statement's structure when the event carries
  ``parasol.sql.fingerprint``.
* ``parasol.api.object_id`` — for an API event whose route has a parameter
  (``/customers/{id}``), the path segment that filled it (``1234``): what an enumeration
  threshold counts distinct values of.

The event is annotated in place and returned (the stream indexes these fields too).

>>> a = Annotator()
>>> e = a({"db": {"system": "mysql", "statement": "SELECT * FROM t WHERE id = 1 OR 1=1"}})
>>> e["parasol"]["sqli"]
['tautology']
>>> a({"http": {"route": "/customers/{id}/orders"}, "url": {"path": "/customers/42/orders"}}
...   )["parasol"]["api"]["object_id"]
'42'
"""

from __future__ import annotations

from detectors.rules.fields import get
from detectors.rules.sqli import SqliDetector

__all__ = ["Annotator", "annotate"]


def _object_id(route: str, path: str) -> str | None:
    r = route.strip("/").split("/")
    p = path.split("?", 1)[0].strip("/").split("/")
    if len(r) != len(p):
        return None
    found = None
    for rs, ps in zip(r, p):
        if rs.startswith(("{", ":", "<")) or rs in ("*",):
            found = ps  # the last parameter: /customers/{cid}/orders/{oid} → oid
    return found


class Annotator:
    """Callable stage; holds the SQL-injection detector and its structure cache."""

    def __init__(self, detector: SqliDetector | None = None):
        self.detector = detector or SqliDetector()

    def __call__(self, event: dict) -> dict:
        stmt = get(event, "db.statement")
        if isinstance(stmt, str) and stmt:
            sig = self.detector.signals(
                stmt, get(event, "db.system", None),
                get(event, "parasol.sql.fingerprint", None),
                get(event, "parasol.sql.flags", None) or ())
            if sig:
                _parasol(event)["sqli"] = sorted(sig)
        route = get(event, "http.route")
        if isinstance(route, str) and route:
            path = get(event, "url.path")
            if isinstance(path, str):
                oid = _object_id(route, path)
                if oid is not None:
                    _parasol(event).setdefault("api", {})["object_id"] = oid
        return event


def _parasol(event: dict) -> dict:
    p = event.get("parasol")
    if not isinstance(p, dict):
        p = event["parasol"] = {}
    return p


_default = Annotator()


def annotate(event: dict) -> dict:
    """:class:`Annotator` with a process-wide cache."""
    return _default(event)


