"""``parasol tail`` end to end on a real broker: delivery, dead letters, restart and rotation.

These use contract JSON lines (the ``jsonl`` format) so that the tailer's own guarantees are
tested apart from any one parser; the real-server tests (pgaudit, MariaDB, nginx) reuse it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import orjson
import pytest

from connectors.local import free_port
from connectors.sources.base import SourceOptions, stable_id
from connectors.sources.follow import fingerprint_of
from connectors.sources.jsonl import JsonlParser
from connectors.sources.simulator import Simulator
from connectors.sources.tail import Tailer
from connectors.tansu import TansuBroker
from tests.integration.conftest import drain_topic, raw_of, scoped, settings_env, wait_for


def _lines(n: int, seed: int = 7) -> list[bytes]:
    """Simulator events as JSON lines, without their own ids (the tailer derives them)."""
    out = []
    for ev in Simulator(seed=seed).events(n):
        value = dict(ev.value)
        if isinstance(value.get("event"), dict):
            value["event"].pop("id", None)
        value.pop("event.id", None)
        out.append(orjson.dumps(value))
    return out


def _expected_ids(data: bytes) -> set[str]:
    """The ids the tailer must derive: file fingerprint + byte offset of each line."""
    fp = fingerprint_of(data.split(b"\n", 1)[0])
    ids, off = set(), 0
    for line in data.split(b"\n")[:-1]:
        ids.add(stable_id("file", fp, off))
        off += len(line) + 1
    return ids


def _ids(records: list[dict]) -> list[str]:
    return [r["event"]["id"] for r in records]


def test_jsonl_file_is_delivered_with_dead_letters_for_bad_lines(stack, tmp_path):
    s = scoped(stack, "tail")
    good = _lines(1500)
    bad = [b"{not json", b"[1, 2]", b'{"@timestamp": "yesterday", "user.name": "x", "db.statement": "select 1"}']
    data = b"\n".join(good[:700] + bad + good[700:]) + b"\n"
    log = tmp_path / "proxy.jsonl"
    log.write_bytes(data)

    stats = Tailer(s, JsonlParser(SourceOptions()), str(log), checkpoint=tmp_path / "cp.json").run()

    assert stats.lines == 1503 and stats.acked == 1500
    assert stats.dead == {"bad_json": 1, "not_an_object": 1, "invalid_field": 1}
    n_db = sum(1 for g in good if b'"db"' in g or b'"db.' in g)
    db = drain_topic(s, "db_audit", n_db)
    api = drain_topic(s, "api_access", 1500 - n_db)
    assert len(db) == n_db and len(api) == 1500 - n_db
    ids = _ids(db + api)
    assert len(set(ids)) == 1500 and set(ids) <= _expected_ids(data)
    assert all(r["log"]["file"]["path"] == str(log) for r in db + api)
    dead = drain_topic(s, "dlq", 3)
    by_reason = {d["reason"]: d for d in dead}
    assert raw_of(by_reason["bad_json"]) == b"{not json" and raw_of(by_reason["not_an_object"]) == b"[1, 2]"
    assert orjson.loads(raw_of(by_reason["invalid_field"])) == orjson.loads(bad[2])
    assert {d["source"]["file"] for d in dead} == {str(log)}
    assert {d["source"]["offset"] for d in dead} == {data.index(b) for b in bad}
    # A second run from the checkpoint finds nothing new.
    again = Tailer(s, JsonlParser(SourceOptions()), str(log), checkpoint=tmp_path / "cp.json").run()
    assert again.lines == 0 and again.acked == 0


def _tail_process(s, log, cp, tmp_path, name):
    out = open(tmp_path / f"{name}.log", "wb")
    return subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "tail", "jsonl", "--path", str(log), "--follow",
         "--checkpoint", str(cp), "--quiet", "--json"],
        env=settings_env(s), stdout=out, stderr=subprocess.STDOUT,
    )


def _checkpoint_offset(cp) -> int:
    try:
        return orjson.loads(cp.read_bytes())["offset"]
    except (FileNotFoundError, orjson.JSONDecodeError):
        return 0


@pytest.mark.parametrize("broker", ["noida", "tansu"])
@pytest.mark.parametrize("rotation", ["rename", "copytruncate"])
def test_kill_rotate_restart_loses_nothing(stack, tmp_path, broker, rotation):
    if broker == "tansu":
        tansu = TansuBroker(free_port(), tmp_path / "tansu.log")
        tansu.start()
        base = stack.model_copy(update={"kafka": tansu.bootstrap})
    else:
        tansu, base = None, stack
    try:
        s = scoped(base, f"restart-{rotation}")
        log, cp = tmp_path / "proxy.jsonl", tmp_path / "cp.json"
        lines = _lines(3000, seed=11)
        first, second, third = lines[:1200], lines[1200:2000], lines[2000:]
        log.write_bytes(b"\n".join(first) + b"\n")
        proc = _tail_process(s, log, cp, tmp_path, "tail1")
        try:
            wait_for(lambda: _checkpoint_offset(cp) > 0, 60, what="a first checkpoint")
            with open(log, "ab") as f:  # written while the tailer runs, then it dies mid-file
                for line in second:
                    f.write(line + b"\n")
            time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        old_data = log.read_bytes()
        assert _checkpoint_offset(cp) < len(old_data)  # really killed mid-file
        if rotation == "rename":
            os.rename(log, tmp_path / "proxy.jsonl.1")
        else:
            (tmp_path / "proxy.jsonl.1").write_bytes(old_data)
            log.write_bytes(b"")
        with open(log, "ab") as f:
            f.write(b"\n".join(third) + b"\n")
        new_data = log.read_bytes()

        proc = _tail_process(s, log, cp, tmp_path, "tail2")
        try:
            expected = _expected_ids(old_data) | _expected_ids(new_data)
            assert len(expected) == 3000
            got = wait_for(
                lambda: (r := drain_topic(s, "db_audit", 0, settle=0.5) + drain_topic(s, "api_access", 0, settle=0.5))
                and len(set(_ids(r))) >= 3000 and r,
                90,
                what="all 3000 events",
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0, (tmp_path / "tail2.log").read_text()[-2000:]
        ids = _ids(got)
        assert set(ids) == expected  # nothing lost, nothing invented
        dupes = len(ids) - len(set(ids))
        # Re-sent events are only those after the last checkpoint, and they keep their ids.
        assert dupes <= len(old_data) - _checkpoint_offset(cp), dupes
        assert orjson.loads((tmp_path / "tail2.log").read_bytes().splitlines()[-1])["rotations"] >= 1
    finally:
        if tansu:
            tansu.stop()
