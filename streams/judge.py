"""The rule and baseline stages on the ingest path: per-partition state, alerts out. No Faust here.

One :class:`~detectors.rules.RuleEngine` and one :class:`~detectors.baseline.UebaDetector` per
input partition (a partition's watermark advances on its own, and the topics are keyed by user,
so per-user state is partition-local). Their per-entity states live in a key/value store — the
worker passes a Faust table — under ``"<topic>:<partition>|<kind>|<entity key>"``; a batch writes
back only what it changed. Anomalous windows become ``rule.kind=anomaly`` alerts and are fed to the
rule engine (anomaly and correlation rules, entity risk). Each alert is planned into response
actions; users whose risk level moved are reported for masking; touched entities become
``parasol-entities*`` documents at most every ``entity_every_s`` seconds.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections import deque
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field

import orjson

from detectors.baseline import BatchModel, UebaConfig, UebaDetector, has_open_windows
from detectors.baseline.timebase import format_ts
from detectors.rules import Playbooks, RuleEngine, exception_from_verdict, load_exceptions, load_rules
from detectors.rules.suppression import RuleException

log = logging.getLogger("parasol.detect")

__all__ = ["AddressJudge", "Judge", "Outputs", "Verdict", "by_address", "is_new", "ueba_config"]

GLOBAL = "__global__"

#: Kafka's default largest message is 1 MB (aiokafka refuses bigger ones before sending): state
#: values are compressed above ``_COMPRESS_OVER`` bytes, and a value still too large after that
#: is not written (it is rebuilt from traffic: the shared part of the baselines) but logged.
_COMPRESS_OVER = 64 * 1024
_LARGEST = 900 * 1024


def pack(state: dict) -> bytes:
    """A state value for the table: JSON, zlib-compressed (prefix ``Z``) when large."""
    raw = orjson.dumps(state)
    return b"Z" + zlib.compress(raw, 1) if len(raw) > _COMPRESS_OVER else raw


def unpack(raw: bytes | None):
    if not raw:
        return None
    return orjson.loads(zlib.decompress(raw[1:]) if raw[:1] == b"Z" else raw)


@dataclass
class Outputs:
    """What a batch produced, to be written before the batch is acknowledged."""

    alerts: list[dict] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    entities: dict[str, dict] = field(default_factory=dict)
    risk_levels: dict[str, dict] = field(default_factory=dict)
    #: (source.ip, slim event) for the rules keyed by address
    forward: list[tuple[str, dict]] = field(default_factory=list)
    #: (partition id, store key, bytes or None to delete)
    writes: list[tuple[str, str, bytes | None]] = field(default_factory=list)


@dataclass
class Verdict:
    alert: dict
    verdict: str
    analyst: str = ""
    note: str | None = None
    ttl_s: float = 30 * 86400.0


class _Partition:
    def __init__(self, pid: str, store: MutableMapping, rules_factory: Callable[[], RuleEngine],
                 ueba_config: UebaConfig):
        self.pid = pid
        self.store = store
        self.rules = rules_factory()
        self.base_exceptions = self.rules.exceptions
        self.ueba = UebaDetector(ueba_config, loader=lambda key: self._get(key, "ueba"))
        glob = self._get(GLOBAL, "ueba")
        if glob:
            self.ueba.load_global_state(glob)
        # Entities holding windows still open must be in memory: their windows close on this
        # partition's watermark, not when their next event comes.
        prefix = f"{pid}|ueba|"
        for k in list(store.keys()):
            text = k.decode() if isinstance(k, bytes) else k
            if text.startswith(prefix) and not text.endswith(GLOBAL):
                state = self._get(text[len(prefix):], "ueba")
                if state and has_open_windows(state):
                    self.ueba.load_entity_state(text[len(prefix):], state)
        self.global_saved = time.monotonic()
        self.pending: list = []  # windows closed in this batch, scored at its end

    def key(self, kind: str, key: str) -> str:
        return f"{self.pid}|{kind}|{key}"

    def _get(self, key: str, kind: str):
        raw = self.store.get(self.key(kind, key).encode())
        return unpack(raw)


class Judge:
    """Rules + baselines for the partitions of this worker (see module doc)."""

    def __init__(self, store: MutableMapping, *, rules_factory: Callable[[], RuleEngine] | None = None,
                 ueba_config: UebaConfig | None = None, playbooks: Playbooks | None = None,
                 entity_every_s: float = 30.0, global_every_s: float = 60.0,
                 forward: Callable[[dict], dict | None] | None = None, batch_model: str = "ecod",
                 batch_weight: float = 0.4, batch_rows: int = 20_000):
        self.store = store
        self.forward = forward
        self.rules_factory = rules_factory or _default_rules
        self.ueba_config = ueba_config or UebaConfig()
        self.playbooks = playbooks or Playbooks.load()
        self.entity_every_s = entity_every_s
        self.global_every_s = global_every_s
        self.partitions: dict[str, _Partition] = {}
        self._entity_indexed: dict[str, float] = {}
        self._levels: dict[str, str] = {}
        self.out = Outputs()
        self.extra_exceptions: tuple[RuleException, ...] = ()
        self._shared: tuple | None = None
        self._waiting_for: dict[str, set[str]] | None = None  # None: never told (see windows.py)
        #: Recent deviation vectors of scored windows (all partitions): the batch model's data.
        self.recent: deque[dict] = deque(maxlen=batch_rows)
        self.batch_model: BatchModel | None = None
        self.batch_kind = batch_model
        self.batch_weight = batch_weight

    def partition(self, pid: str) -> _Partition:
        p = self.partitions.get(pid)
        if p is None:
            p = self.partitions[pid] = _Partition(pid, self.store, self.rules_factory, self.ueba_config)
            p.rules.exceptions = p.base_exceptions + self.extra_exceptions
            # Peer groups, their first-seen memory and the trees describe populations: one per
            # worker, not per partition (a quarter of the users made poorer peers).
            # Which sources still have events to deliver is told per batch (set_waiting_for).
            if self._waiting_for is not None:
                p.ueba.aggregator.waiting_for = self._waiting_for.get(pid, set())
            if self._shared is None:
                self._shared = (p.ueba.peers, p.ueba.forests, p.ueba.aggregator.groups)
            else:
                p.ueba.peers, p.ueba.forests, p.ueba.aggregator.groups = self._shared
        return p

    def set_waiting_for(self, by_partition: dict[str, set[str]]) -> None:
        """The sources (``event.dataset``) of each partition that still have events to deliver
        (a backlog, or not started yet): they hold the partition's watermark back however far
        behind they run; a source that is caught up does not."""
        self._waiting_for = by_partition
        for pid, p in self.partitions.items():
            waiting = by_partition.get(pid, set())
            if p.ueba.aggregator.waiting_for != waiting:
                p.ueba.aggregator.waiting_for = waiting
                p.pending.extend(p.ueba.advance())  # e.g. the input held back has caught up

    def progress(self) -> dict[str, dict]:
        """Event time per partition: its watermark, each source's latest event and the window
        folds each source missed (later than the allowed lateness) — how far behind the worker
        is in event time, and which input runs late."""
        def ts(x: float):
            return format_ts(x) if x != float("-inf") else None

        out = {}
        for pid, p in sorted(self.partitions.items()):
            agg = p.ueba.aggregator
            out[pid] = {"watermark": ts(agg.watermark),
                        "sources": {s: ts(t) for s, t in sorted(agg.source_max.items())},
                        "waiting_for": sorted(agg.waiting_for or ()),
                        "late_folds": dict(agg.late_by_source),
                        "redelivered_folds": agg.redelivered}
        return out

    def forget(self, pids) -> None:
        """Partitions moved to another worker: drop their in-memory state (the table has it)."""
        for pid in pids:
            self.partitions.pop(pid, None)

    def on_event(self, doc: dict, pid: str, position: tuple[str, int] | None = None) -> None:
        """Run the stages on one enriched document (before it is indexed: the rule stage adds
        ``parasol.sqli`` and other computed fields to it). ``position`` (topic, offset) lets the
        baselines skip an event delivered again; the rules skip it by its id."""
        p = self.partition(pid)
        rules = p.rules
        for key in rules.state_keys(doc):
            if not rules.has_state(key):
                st = p._get(key, "rules")
                if st is not None:
                    rules.load_state(key, st)
        alerts = rules.process(doc)
        if self.forward is not None:
            slim = self.forward(doc)
            if slim is not None:
                self.out.forward.append((slim["source"]["ip"], slim))
        scored = p.ueba.process(doc, position)
        if scored:  # scored at the end of the batch, with one batch-model call (take)
            p.pending.extend(scored)
        if alerts:
            self._raise(p, alerts, doc)

    def _windows(self, p: _Partition) -> None:
        """The partition's windows closed during the batch: blend in the batch model (one PyOD
        call: a call costs milliseconds whatever its size), raise the anomalous ones."""
        scored, p.pending = p.pending, []
        self.recent.extend(sw.vector for sw in scored if sw.basis != "grace")
        if self.batch_model is not None:
            p.ueba.apply_batch(scored, self.batch_model, self.batch_weight)
        for sw in scored:
            if sw.is_anomaly and not sw.suppressed:  # one alert per entity and window size an hour
                anomaly = p.ueba.to_alert(sw)
                self._raise(p, [anomaly, *p.rules.observe_alert(anomaly)], anomaly)

    def _raise(self, p: _Partition, alerts: list[dict], doc: dict) -> None:
        for alert in alerts:
            self.out.alerts.append(alert)
            self.out.actions.extend(self.playbooks.plan(alert))
        user = (doc.get("user") or {}).get("name")
        if user:
            level = p.rules.risk_level(user)
            if self._levels.get(user, "low") != level:
                self._levels[user] = level
                self.out.risk_levels[user] = {
                    "user": user, "level": level, "source": "rules",
                    "score": round(p.rules.entity_risk(user), 1), "@timestamp": doc.get("@timestamp"),
                }

    def fit_batch_model(self, min_rows: int = 200) -> BatchModel | None:
        """A PyOD model fitted on the recent windows (CPU-bound: call it in an executor; the
        caller installs the result as :attr:`batch_model`)."""
        rows = list(self.recent)
        if len(rows) < min_rows:
            return None
        return BatchModel(self.batch_kind).fit(rows)

    @staticmethod
    def exception_for(v: Verdict) -> RuleException | None:
        """A false-positive verdict → a scoped exception (this rule, this user); else None."""
        if v.verdict != "false_positive":
            return None
        return exception_from_verdict(v.alert, analyst=v.analyst, reason=v.note or "", ttl_s=v.ttl_s)

    def accept(self, alert: dict) -> bool:
        """A false-positive anomaly alert: the partition holding its entity learns the window."""
        return any(p.ueba.accept(alert) for p in self.partitions.values())

    def set_exceptions(self, extra: list[dict]) -> None:
        """Exceptions from verdicts (a global table) on top of each engine's packaged ones."""
        self.extra_exceptions = tuple(RuleException.from_dict(x) for x in extra)
        for p in self.partitions.values():
            p.rules.exceptions = p.base_exceptions + self.extra_exceptions

    def take(self, now: float | None = None) -> Outputs:
        """Everything produced since the last call, with the state writes that go with it."""
        now = time.monotonic() if now is None else now
        for p in self.partitions.values():
            if p.pending:
                self._windows(p)
        out, self.out = self.out, Outputs()
        for pid, p in self.partitions.items():
            for key, st in p.rules.drain_dirty().items():
                out.writes.append((pid, p.key("rules", key), pack(st)))
            for key, st in p.ueba.take_dirty().items():
                out.writes.append((pid, p.key("ueba", key), pack(st)))
                if now - self._entity_indexed.get(key, float("-inf")) >= self.entity_every_s:
                    doc = p.ueba.entity_summary(key)
                    if doc is not None:
                        self._entity_indexed[key] = now
                        user = (doc.get("user") or {}).get("name")
                        if user and doc.get("entity", {}).get("kind") in ("user", "service_account"):
                            # The user's risk is the rule stage's (anomaly alerts add to it too);
                            # the detector's own decaying anomaly risk is kept beside it.
                            anomaly = (doc.get("risk") or {}).get("score", 0.0)
                            doc["risk"] = {"score": round(p.rules.entity_risk(user), 1),
                                           "level": p.rules.risk_level(user), "anomaly": anomaly}
                        out.entities[key] = doc
            if now - p.global_saved >= self.global_every_s:
                p.global_saved = now
                # Entities idle for evict_idle_days of event time leave memory and the table.
                for key in p.ueba.evict_idle(p.ueba.aggregator.max_ts):
                    out.writes.append((pid, p.key("ueba", key), None))
                    self._entity_indexed.pop(key, None)
                packed = pack(p.ueba.global_state())
                if len(packed) <= _LARGEST:
                    out.writes.append((pid, p.key("ueba", GLOBAL), packed))
                else:  # the shared part (peer groups, trees) is rebuilt from traffic after a restart
                    log.warning("partition %s: shared baseline state of %d bytes not saved (over %d)",
                                pid, len(packed), _LARGEST)
        return out


def is_new(alert: dict) -> bool:
    """A first raise, not a suppression update of an earlier alert."""
    return not ((alert.get("parasol") or {}).get("alert") or {}).get("revision")


def ueba_config(windows_s: str, lateness_s: float) -> UebaConfig:
    """The detector's configuration from settings: window lengths ("60,3600") and lateness; entity
    kinds the defaults give only long windows keep the longest of the configured ones."""
    sizes = tuple(int(x) for x in windows_s.split(",") if x.strip())
    by_kind = {k: tuple(x for x in v if x in sizes) or sizes[-1:] for k, v in (UebaConfig().sizes_by_kind or {}).items()}
    return UebaConfig(sizes=sizes, allowed_lateness=lateness_s, sizes_by_kind=by_kind)


def by_address(rule) -> bool:
    """Rules whose state is keyed by client address (not by user): they run on events re-keyed
    by ``source.ip`` (see :class:`AddressJudge`)."""
    return "source.ip" in rule.group_by and "user.name" not in rule.group_by


def _default_rules() -> RuleEngine:
    return RuleEngine([r for r in load_rules() if not by_address(r)], load_exceptions())


def _address_rules() -> RuleEngine:
    return RuleEngine([r for r in load_rules() if by_address(r)], load_exceptions())


#: Fields an address-keyed rule may look at; the rest of the event is not forwarded.
_FORWARD = ("@timestamp", "event", "user", "source", "service", "session", "user_agent", "http", "url")


class AddressJudge:
    """Rules keyed by client address, one engine per partition of the re-keyed topic."""

    def __init__(self, store: MutableMapping, rules_factory: Callable[[], RuleEngine] = _address_rules,
                 playbooks: Playbooks | None = None):
        self.store = store
        self.rules_factory = rules_factory
        self.playbooks = playbooks or Playbooks.load()
        self.engines: dict[str, RuleEngine] = {}
        self.probe = rules_factory()

    def wants(self, doc: dict) -> dict | None:
        """The slim copy of ``doc`` to forward, if some address rule could use it."""
        if not (doc.get("source") or {}).get("ip") or not self.probe.matches(doc):
            return None
        slim = {k: doc[k] for k in _FORWARD if k in doc}
        db = doc.get("db") or {}
        slim["db"] = {k: db[k] for k in ("system", "instance", "name", "rows", "error") if k in db}
        return slim

    def on_event(self, doc: dict, pid: str) -> Outputs:
        engine = self.engines.get(pid)
        if engine is None:
            engine = self.engines[pid] = self.rules_factory()
        for key in engine.state_keys(doc):
            if not engine.has_state(key):
                raw = self.store.get(f"{pid}|addr|{key}".encode())
                if raw:
                    engine.load_state(key, unpack(raw))
        out = Outputs()
        for alert in engine.process(doc):
            out.alerts.append(alert)
            out.actions.extend(self.playbooks.plan(alert))
        for key, st in engine.drain_dirty().items():
            out.writes.append((pid, f"{pid}|addr|{key}", pack(st)))
        return out

    def forget(self, pids) -> None:
        for pid in pids:
            self.engines.pop(pid, None)
