"""Thin agent loops: one agent per input topic, batches in, documents and dead letters out.

Offsets advance only past what Elasticsearch acknowledged: a batch is acked to Kafka only after
its bulk write succeeded (writes retry while the store is away; with ``bulk_in_flight`` writes
outstanding the loop stops taking batches, which pauses the stream). Nothing is imported from here
except by the CLI.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

import orjson
from elasticsearch import AsyncElasticsearch

from connectors.sinks.elasticsearch import BulkIndexer
from connectors.sinks.templates import ensure_templates
from detectors.masking.engine import MaskingEngine, hint_classifier
from detectors.masking.keys import Keyring
from detectors.masking.model import Resource, Subject
from detectors.masking.policy import load_policy
from detectors.masking.stage import MaskSamples
from detectors.pipeline import Enricher
from detectors.rules.conditions import set_site_timezone
from detectors.sensitive.catalogue import EvidenceGate, aggregate, asset_document, merge
from detectors.understand import Understand, asset_key
from schemas.codec import encode_avro
from schemas.normalize import DATASETS
from schemas.registry import SchemaRegistry
from streams import tables, topics
from streams.app import app, settings
from streams.masking_server import MaskingServer
from streams.metrics import CONTENT_TYPE, Metrics
from streams.judge import AddressJudge, Judge, Outputs, Verdict, is_new, ueba_config
from streams.processing import Processor, Rejected, Stats, dead_letter_record
from schemas.dead_letter import rfc3339_now

__all__ = ["app", "stats"]

log = logging.getLogger("parasol.worker")

stats = Stats()


def _lag() -> dict[tuple[str, int], int]:
    """End offset − committed offset per input partition, from Faust's monitor."""
    monitor = app.monitor
    ends, committed = monitor.tp_end_offsets or {}, monitor.tp_committed_offsets or {}
    return {(tp.topic, tp.partition): max(0, end - committed.get(tp, 0)) for tp, end in list(ends.items())}


metrics = Metrics(stats.snapshot, _lag)
registry = SchemaRegistry.load(settings.schema_registry)


_by_name = hint_classifier()


def _classify(instance: str | None, db: str | None, column: str) -> Resource | None:
    """A column's classification from the catalogue (the global table), else by its name."""
    raw = tables.known.get(asset_key(instance, db, column).encode())
    c = orjson.loads(raw) if raw and raw != b"1" else None
    if not c or not c.get("level"):
        return _by_name(instance, db, column)
    table, _, col = column.rpartition(".")
    return Resource(instance, db, table, col, entity=c.get("entity"), category=c.get("category"), level=c.get("level"))


keys, current_key = settings.masking_key_material()
masking_engine = MaskingEngine(load_policy(settings.policy_file), Keyring(keys, current_key), classify=_classify)
processor = Processor(
    settings,
    registry=registry,
    stats=stats,
    enricher=Enricher((
        Understand(known_columns=tables.KnownColumns()),
        MaskSamples(masking_engine, Subject("parasol-indexer", (settings.index_view_role,))),
    )),
)

_es: AsyncElasticsearch | None = None
_templates_ready = asyncio.Event()


async def _client() -> AsyncElasticsearch:
    """The shared ES client; the first call installs the index templates, retrying until ES answers."""
    global _es
    if _es is None:
        _es = AsyncElasticsearch(**settings.es_client_kwargs())
    if not _templates_ready.is_set():
        delay = 0.5
        while True:
            try:
                await ensure_templates(_es, settings.index_prefix, settings.retention_days())
                break
            except Exception as exc:  # noqa: BLE001 - any failure here means "not yet"
                log.warning("Elasticsearch not ready for templates (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, settings.es_retry_max_backoff_s)
        _templates_ready.set()
    return _es


def _encode(record: dict, schema_name: str) -> bytes:
    if settings.output_format == "avro":
        return encode_avro(record, schema_name, registry)
    return orjson.dumps(record)


async def _dead_letter(batch: list[tuple[object, Rejected]]) -> None:
    """Send rejected messages to the DLQ and wait until Kafka has them."""
    futures = []
    for event, rej in batch:
        msg = event.message
        record = dead_letter_record(
            msg.value, rej.reason, rej.error_type, rej.message,
            topic=msg.topic, partition=msg.partition, offset=msg.offset, key=msg.key,
        )
        stats.dead[rej.reason] += 1
        log.info("dead letter %s/%s/%s: %s", msg.topic, msg.partition, msg.offset, rej.reason)
        futures.append(await topics.dlq.send(key=msg.key, value=_encode(record, "dead_letter"), force=True))
    if futures:
        await asyncio.gather(*futures)


#: Per input topic-partition: the offset after the last event the stages saw, and when this
#: worker first looked at it.
_read_upto: dict[tuple[str, int], int] = {}
_first_looked: dict[tuple[str, int], float] = {}
#: How long an input partition none of whose events has been seen yet holds event time back
#: (its first events are on their way, or it has none to deliver).
STARTUP_HOLD_S = 30.0


#: Per input topic-partition: its end offset as the broker last answered (refresh_end_offsets).
#: A fetch's high watermark is only as fresh as that partition's last fetch: a worker that has
#: drained what it fetched of one topic, while fetching paused under backpressure, took that
#: topic for caught up and let the other move event time days ahead (18k late folds in a replay).
_end_offsets: dict[tuple[str, int], int] = {}


def _input_datasets() -> dict[str, str]:
    """Input topic name → its ``event.dataset``."""
    return {topic.get_topic_name(): DATASETS[kind] for kind, topic in topics.inputs.items()}


@app.timer(interval=1.0)
async def refresh_end_offsets() -> None:
    """Ask the broker for the input partitions' end offsets (see ``_end_offsets``)."""
    if not settings.detection:
        return
    names = _input_datasets()
    tps = [tp for tp in app.consumer.assignment() if tp.topic in names]
    if not tps:
        return
    try:
        ends = await app.consumer.highwaters(*tps)
    except Exception as exc:  # noqa: BLE001 - a missed refresh only leaves the fetch's figure
        log.debug("end offsets not refreshed: %s", exc)
        return
    for tp, end in ends.items():
        _end_offsets[(tp.topic, tp.partition)] = end


def _waiting_for() -> dict[str, set[str]]:
    """Per partition, the input sources that still have events to deliver (consumer lag, or
    not started yet): the baseline's event time waits for them, not for caught-up ones."""
    datasets = _input_datasets()
    out: dict[str, set[str]] = {}
    consumer = app.consumer
    now = time.monotonic()
    for tp in consumer.assignment():
        dataset = datasets.get(tp.topic)
        if dataset is None:
            continue
        key = (tp.topic, tp.partition)
        try:
            high = consumer.highwater(tp)
        except Exception:  # noqa: BLE001 - not known yet: it has events, or we cannot tell
            high = None
        end = _end_offsets.get(key)
        if end is not None:
            high = end if high is None else max(high, end)
        done = _read_upto.get(key)
        if done is None:  # nothing seen from it yet: has it anything to deliver?
            start = getattr(consumer, "_committed_offset", {}).get(tp) or 0  # faust keeps it after seeking
            waiting = (high is None or high > start) and now - _first_looked.setdefault(key, now) < STARTUP_HOLD_S
        else:
            waiting = high is None or done < high
        if waiting:
            out.setdefault(str(tp.partition), set()).add(dataset)
    return out


def prepare(kind: str, events: list, sink: BulkIndexer) -> list[tuple[object, Rejected]]:
    """Run the stages on a batch: documents go into ``sink``, rejections are returned."""
    processor.take_observations()  # evidence belongs to the batch that produced it
    _sync_exceptions()
    if settings.detection:
        for event in events:  # a partition's offsets rise within a batch: the last one counts
            _read_upto[(event.message.topic, event.message.partition)] = event.message.offset + 1
        judge.set_waiting_for(_waiting_for())
    before = dict(stats.stage_seconds)
    rejected: list[tuple[object, Rejected]] = []
    clock = time.perf_counter
    for event in events:
        try:
            index, doc_id, doc = processor.process(kind, event.message.value)
            if settings.detection:
                t0 = clock()
                msg = event.message
                judge.on_event(doc, str(msg.partition), (msg.topic, msg.offset))
                stats.stage_seconds["detect"] += clock() - t0
                stats.stage_events["detect"] += 1
        except Rejected as rej:
            rejected.append((event, rej))
            continue
        except Exception as exc:  # noqa: BLE001 - a stage bug must not stop the stream
            log.exception("stage failed on %s/%s", event.message.partition, event.message.offset)
            rejected.append((event, Rejected("internal_error", type(exc).__name__, str(exc))))
            continue
        sink.add(index, doc_id, doc, tag=event)
    for stage in ("decode", "normalize", "enrich", "document", "detect"):
        spent = stats.stage_seconds[stage] - before.get(stage, 0.0)
        if spent:
            metrics.stage_seconds.labels(stage).observe(spent)
    return rejected


set_site_timezone(settings.site_timezone)
address_judge = AddressJudge(tables.state)
judge = Judge(tables.state, entity_every_s=settings.entity_index_every_s, forward=address_judge.wants,
              ueba_config=ueba_config(settings.ueba_windows_s, settings.ueba_lateness_s))


def _stage_outputs(stream, events: list, sink: BulkIndexer) -> Outputs:
    """The judge's outputs for this batch: state written to the table now (through each
    partition's changelog), alert and entity documents into ``sink``; the rest is sent later."""
    by_partition = {str(e.message.partition): e for e in events}
    out = judge.take()
    stats.late_events = sum(p.ueba.late_dropped_from_window for p in judge.partitions.values())
    stats.redelivered_folds = sum(p.ueba.aggregator.redelivered for p in judge.partitions.values())
    stats.event_time = judge.progress()
    for pid, key, value in out.writes:
        event = by_partition.get(pid)
        if event is None:  # no event of that partition in this batch: keep it for the next
            judge.out.writes.append((pid, key, value))
            continue
        stream._set_current_event(event)
        if value is None:
            tables.state.pop(key.encode(), None)
        else:
            tables.state[key.encode()] = value
    created = rfc3339_now()
    for alert in out.alerts:
        _index_alert(sink, alert, created)
    for key, doc in out.entities.items():
        doc["event"] = {"kind": "state", "ingested": created}
        sink.upsert(settings.index("entities"), key, doc)
    return out


def _index_alert(sink: BulkIndexer, alert: dict, created: str) -> None:
    """Upsert into the month of the alert's first evidence (stable across its updates)."""
    if is_new(alert):
        alert.setdefault("event", {})["created"] = created
    start = (alert.get("event") or {}).get("start") or alert["@timestamp"]
    sink.upsert(settings.index("alerts", f"{start[:4]}.{start[5:7]}"), alert["alert"]["id"], alert)


async def _send_outputs(out: Outputs) -> None:
    """Alerts, actions and risk levels to Kafka; wait until Kafka has them."""
    futures = []
    for name, records, key_of in (("alerts", out.alerts, lambda r: r["alert"]["id"]),
                                  ("actions", out.actions, lambda r: (r.get("user") or {}).get("name") or "")):
        for record in records:
            try:
                value = _encode(record, name[:-1])
            except ValueError as exc:  # does not fit the Avro schema: the raw record to the DLQ
                stats.dead[f"{name[:-1]}_not_encodable"] += 1
                value = orjson.dumps(dead_letter_record(orjson.dumps(record), f"{name[:-1]}_not_encodable",
                                                        "ValueError", str(exc)))
                futures.append(await topics.dlq.send(key=key_of(record).encode(), value=value, force=True))
                continue
            futures.append(await topics.outputs[name].send(key=key_of(record).encode(), value=value, force=True))
    for ip, slim in out.forward:
        futures.append(await topics.by_address.send(key=ip.encode(), value=orjson.dumps(slim), force=True))
    for user, record in out.risk_levels.items():
        futures.append(await topics.risk_levels.send(key=user.encode(), value=orjson.dumps(record), force=True))
    if futures:
        await asyncio.gather(*futures)
    stats.alerts += len(out.alerts)
    stats.actions += len(out.actions)
    for alert in filter(is_new, out.alerts):
        metrics.alerts_by_rule.labels(alert["rule"]["name"], alert["risk"]["severity"]).inc()
        evidence = (alert.get("related") or {}).get("event_ids") or [None]
        log.info("alert %s (%s) for %s: %s", alert["rule"]["name"], alert["risk"]["severity"],
                 (alert.get("user") or {}).get("name") or (alert.get("source") or {}).get("ip"),
                 alert["alert"]["id"], extra={"event_id": evidence[-1], "alert_id": alert["alert"]["id"]})
    for action in out.actions:
        metrics.actions_by_type.labels(action["action"]["type"]).inc()
    if out.alerts and webhook is not None:
        floor = _SEVERITY_RANK[settings.webhook_min_severity]
        fresh = [a for a in filter(is_new, out.alerts) if _SEVERITY_RANK.get(a["risk"]["severity"], 0) >= floor]
        if fresh:
            for failure in await webhook.send(fresh):
                stats.dead["webhook_failed"] += 1
                record = dead_letter_record(orjson.dumps(failure.alert), "webhook_failed", "WebhookFailure",
                                            f"{failure.reason} after {failure.attempts} attempts")
                await topics.dlq.send(key=failure.alert["alert"]["id"].encode(), value=orjson.dumps(record), force=True)


_SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3, "critical": 4}
webhook = None
if settings.webhook_url:
    from connectors.sinks.webhook import WebhookSink

    webhook = WebhookSink(settings.webhook_url, secret=settings.webhook_token.get_secret_value()
                          if settings.webhook_token else None)


gate = EvidenceGate(flush_s=settings.catalogue_flush_s)


async def _send_evidence(evidence: dict[str, dict]) -> None:
    """One message per asset, keyed by asset (the catalogue's partitioning); wait for Kafka."""
    futures = [
        await topics.observations.send(key=key.encode(), value=orjson.dumps(obs), force=True)
        for key, obs in evidence.items()
    ]
    if futures:
        await asyncio.gather(*futures)


async def _observe(observations: list[dict]) -> None:
    """What the batch changed in the catalogue goes now; repeat evidence when it is due."""
    now = asyncio.get_running_loop().time()
    await _send_evidence({**gate.admit(aggregate(observations), now), **gate.due(now)})


@app.timer(interval=5.0)
async def flush_evidence() -> None:
    """Pooled evidence of assets no batch touched lately."""
    await _send_evidence(gate.due(asyncio.get_running_loop().time()))


async def write_and_ack(
    kind: str, events: list, sink: BulkIndexer, rejected: list, observations: list[dict] | None = None,
    outputs: Outputs | None = None,
) -> None:
    """Index a prepared batch, dead-letter what was refused, pass on the asset evidence, send
    alerts, actions and risk levels, then ack the batch to Kafka."""
    if len(sink):
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        result = await sink.flush()
        stats.stage_seconds["index"] += loop.time() - t0
        metrics.bulk_seconds.observe(loop.time() - t0)
        # Alert and entity documents ride in the same bulk request: count only the events.
        outputs_docs = len(outputs.alerts) + len(outputs.entities) if outputs is not None else 0
        refused_outputs = sum(1 for rej in result.rejected if rej.tag is None)
        events_indexed = result.indexed - (outputs_docs - refused_outputs)
        stats.stage_events["index"] += events_indexed + len(result.rejected) - refused_outputs
        stats.indexed[kind] += events_indexed
        stats.outputs_indexed += outputs_docs - refused_outputs
        stats.es_retries += result.retries
        stats.es_bulk_requests += 1
        for rej in result.rejected:
            if rej.tag is None:  # an alert or entity document
                stats.dead["output_index_rejected"] += 1
                log.warning("%s document %s refused: %s", rej.index, rej.doc_id, rej.reason)
                continue
            rejected.append((rej.tag, Rejected("index_rejected", "IndexRejected", rej.reason)))
    await _dead_letter(rejected)
    if observations:
        await _observe(observations)
    if outputs is not None:
        await _send_outputs(outputs)
        if outputs.writes:
            # Rule and baseline state reaches its changelog before the offsets move past the
            # events that produced it: a restart then resumes from state that matches them.
            await app.producer.flush()
    for event in events:
        event.message.acked = False
        app.consumer.ack(event.message)


def _ingest_agent(kind: str):
    async def ingest(stream):
        client = await _client()
        in_flight: deque[asyncio.Task] = deque()
        async for events in stream.take_events(settings.batch_size, within=settings.batch_within_s):
            # take_events acks a batch as soon as this body returns. Flagging the messages as
            # acked makes that a no-op; write_and_ack acks them for real once Elasticsearch (or
            # the DLQ) has every one, so committed offsets never run ahead of the index. Until
            # then the next batch is decoded while this one is written.
            for event in events:
                event.message.acked = True
            sink = BulkIndexer(
                client, max_bytes=settings.bulk_max_bytes, max_backoff_s=settings.es_retry_max_backoff_s
            )
            rejected = prepare(kind, events, sink)
            observations = processor.take_observations()
            outputs = _stage_outputs(stream, events, sink)
            in_flight.append(asyncio.create_task(write_and_ack(kind, events, sink, rejected, observations, outputs)))
            # Backpressure: while writes are slow (or Elasticsearch is away) stop taking batches.
            while in_flight and (len(in_flight) > settings.bulk_in_flight or in_flight[0].done()):
                await in_flight.popleft()

    ingest.__name__ = ingest.__qualname__ = f"ingest_{kind}"
    return app.agent(topics.inputs[kind], name=f"parasol.ingest.{kind}")(ingest)


agents = {kind: _ingest_agent(kind) for kind in topics.inputs}


@app.agent(topics.observations, name="parasol.catalogue")
async def catalogue(stream):
    """Merge asset evidence into the catalogue table; index assets that are new or changed."""
    client = await _client()
    async for events in stream.take_events(500, within=settings.batch_within_s):
        sink = BulkIndexer(client, max_bytes=settings.bulk_max_bytes, max_backoff_s=settings.es_retry_max_backoff_s)
        for event in events:
            # A table write goes to the changelog partition of the *current* event; in a batch
            # that must be this event, not the batch's last one.
            stream._set_current_event(event)
            key = event.message.key
            old = tables.assets.get(key)
            record, changed = merge(orjson.loads(old) if old else None, orjson.loads(event.message.value))
            tables.assets[key] = orjson.dumps(record)
            if changed:  # new or re-graded: every worker's masking and SELECT * learn it
                known = {k: record[k] for k in ("entity", "category", "level")}
                if old is None or orjson.loads(tables.known.get(key) or b"{}") != known:
                    tables.known[key] = orjson.dumps(known)
            if changed:
                doc_id, doc = asset_document(record)
                sink.add(settings.index("assets"), doc_id, doc)
        if len(sink):
            result = await sink.flush()  # take_events acks the batch when this body returns
            stats.assets_indexed += result.indexed
            for rej in result.rejected:
                log.warning("asset document refused: %s", rej.reason)


_known_size = -1


@app.timer(interval=5.0)
async def refresh_masking() -> None:
    """Decisions are cached per column classification: forget them when the catalogue grew."""
    global _known_size
    if len(tables.known) != _known_size:
        _known_size = len(tables.known)
        masking_engine.clear()


#: The masking server's own engine: its caches are mutated only by the server's thread.
server_engine = MaskingEngine(masking_engine.policy, masking_engine.keyring, classify=_classify)
_server_known_size = -1


def _decide(request: dict) -> dict:
    """One decision, in the masking server's thread."""
    t0 = time.perf_counter()
    decision = _decide_one(request)
    metrics.decision_seconds.observe(time.perf_counter() - t0)
    return decision


def _decide_one(request: dict) -> dict:
    global _server_known_size
    if len(tables.known) != _server_known_size:  # the catalogue grew: classifications may differ
        _server_known_size = len(tables.known)
        server_engine.clear()
    user = request.get("user", {}).get("name") if isinstance(request.get("user"), dict) else request.get("user.name")
    level = tables.risk_level_of(user)
    decision = server_engine.decide_request(request, risk_level=level)
    decision["risk_level"] = level
    return decision


def _count_decision() -> None:
    stats.masking_decisions += 1


def _count_dead(reason: str) -> None:
    stats.dead[reason] += 1


masking_server = MaskingServer(settings, _decide, on_decision=_count_decision, on_dead=_count_dead)


@app.task
async def start_masking_server() -> None:
    """Requests → decisions in a thread of this process (streams/masking_server.py says why)."""
    masking_server.start()


@app.on_before_shutdown.connect
def _stop_masking_server(app, **kwargs) -> None:
    masking_server.stop()


@app.agent(topics.by_address, name="parasol.rules-by-address")
async def rules_by_address(stream):
    """Rules keyed by client address (password spraying), on events re-keyed by source.ip."""
    client = await _client()
    async for events in stream.take_events(settings.batch_size, within=settings.batch_within_s):
        sink = BulkIndexer(client, max_bytes=settings.bulk_max_bytes, max_backoff_s=settings.es_retry_max_backoff_s)
        out = Outputs()
        for event in events:
            try:
                doc = orjson.loads(event.message.value)
                got = address_judge.on_event(doc, str(event.message.partition))
            except Exception as exc:  # noqa: BLE001 - a bad record is dead-lettered, not fatal
                msg = event.message
                stats.dead["bad_address_event"] += 1
                await topics.dlq.send(key=msg.key, value=orjson.dumps(dead_letter_record(
                    msg.value, "bad_address_event", type(exc).__name__, str(exc),
                    topic=msg.topic, partition=msg.partition, offset=msg.offset, key=msg.key)))
                continue
            stream._set_current_event(event)
            for _, key, value in got.writes:
                tables.state[key.encode()] = value
            out.alerts += got.alerts
            out.actions += got.actions
        created = rfc3339_now()
        for alert in out.alerts:
            _index_alert(sink, alert, created)
        if len(sink):
            await sink.flush()
        await _send_outputs(out)  # take_events acks the batch when this body returns


@app.agent(topics.alert_feedback, name="parasol.feedback")
async def feedback(stream):
    """Analysts' verdicts → scoped rule exceptions in a global table every worker applies."""
    async for event in stream.events():
        msg = event.message
        try:
            record = orjson.loads(msg.value)
            verdict = Verdict(alert=record, verdict=record["verdict"], analyst=record.get("by") or "",
                              note=record.get("note"))
            exception = Judge.exception_for(verdict)
        except Exception as exc:  # noqa: BLE001 - a bad verdict is dead-lettered, not fatal
            stats.dead["bad_feedback"] += 1
            await topics.dlq.send(key=msg.key, value=orjson.dumps(dead_letter_record(
                msg.value, "bad_feedback", type(exc).__name__, str(exc),
                topic=msg.topic, partition=msg.partition, offset=msg.offset, key=msg.key)))
            continue
        stats.verdicts += 1
        if exception is not None:
            tables.exceptions[exception.id.encode()] = orjson.dumps(exception.to_dict())
        if verdict.verdict == "false_positive" and (record.get("rule") or {}).get("kind") == "anomaly":
            # Fed back to the baselines, on whichever worker holds the entity.
            key = b"accept:" + ((record.get("alert") or {}).get("id") or "").encode()
            tables.exceptions[key] = orjson.dumps({"accept": record})


@app.timer(interval=settings.batch_refit_s)
async def refit_batch_model() -> None:
    """Refit the PyOD model on recent windows, off the event loop (stream processing goes on)."""
    if not settings.detection:
        return
    model = await asyncio.get_running_loop().run_in_executor(None, judge.fit_batch_model)
    if model is not None:
        judge.batch_model = model
        stats.batch_refits += 1


_exceptions_seen = -1


_accepted: set[bytes] = set()


def _sync_exceptions() -> None:
    """Verdicts from the global table: rule exceptions, and anomaly windows to learn."""
    global _exceptions_seen
    if len(tables.exceptions) != _exceptions_seen:
        _exceptions_seen = len(tables.exceptions)
        exceptions = []
        for key, value in list(tables.exceptions.items()):
            record = orjson.loads(value) if value else None
            if not record:
                continue
            if "accept" in record:
                if key not in _accepted:
                    _accepted.add(key)
                    if judge.accept(record["accept"]):
                        stats.baseline_feedback += 1
            else:
                exceptions.append(record)
        judge.set_exceptions(exceptions)


@app.on_partitions_revoked.connect
async def _forget_partitions(app, revoked, **kwargs) -> None:
    """Another worker takes these partitions over: it recovers their state from the table."""
    pids = {str(tp.partition) for tp in revoked}
    for tp in revoked:
        _read_upto.pop((tp.topic, tp.partition), None)
        _first_looked.pop((tp.topic, tp.partition), None)
    judge.forget(pids)
    address_judge.forget(pids)


@app.agent(topics.risk_levels, name="parasol.risk-levels")
async def risk_levels(stream):
    """Risk levels published on the contract topic → the global table every worker reads."""
    async for event in stream.events():
        if event.message.key:
            tables.risk[event.message.key] = event.message.value


@app.page("/parasol/stats")
async def stats_page(web, request):
    return web.json(stats.snapshot())


@app.page("/metrics")
async def metrics_page(web, request):
    return web.bytes(metrics.render(), content_type=CONTENT_TYPE)


@app.page("/parasol/live")
async def live_page(web, request):
    """Liveness: the process and its event loop answer."""
    return web.json({"status": "alive"})


@app.page("/parasol/ready")
async def ready_page(web, request):
    """Readiness: partitions assigned (not rebalancing), Elasticsearch templates installed, masking
    requests served."""
    checks = {"rebalancing": bool(app.rebalancing), "templates": _templates_ready.is_set(),
              "masking_server": masking_server.alive}
    ready = not checks["rebalancing"] and checks["templates"] and checks["masking_server"]
    return web.json({"ready": ready, **checks}, status=200 if ready else 503)


@app.page("/parasol/health")
async def health_page(web, request):
    masking = "serving" if masking_server.alive else ("failed" if masking_server.failed else "stopped")
    return web.json({"status": "ok" if masking_server.alive else "degraded", "masking_server": masking},
                    status=200 if masking_server.alive else 503)
