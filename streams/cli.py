"""``parasol`` command line (CONTRACT.md "CLI")."""

from __future__ import annotations

import argparse
import json
import os
import sys

__all__ = ["main"]


def _settings():
    from connectors.settings import Settings

    return Settings()


def cmd_local(args: argparse.Namespace) -> int:
    from connectors.local import LocalStack, LocalStackError

    stack = LocalStack(_settings())
    try:
        if args.action == "up":
            stack.up()
            st = stack.status()
            print(f"parasol local stack is up: kafka {st['kafka']}  elasticsearch {st['es']}")
        elif args.action == "down":
            stack.down()
            print("parasol local stack is down (data kept)")
        else:
            st = stack.status()
            if args.json:
                print(json.dumps(st))
            else:
                state = "running" if st["running"] else "not running"
                print(f"kafka {st['kafka']}  elasticsearch {st['es']}  {state}")
            return 0 if st["running"] or args.json else 1
    except LocalStackError as exc:
        print(f"parasol local {args.action}: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    # Settings are read when the app module is imported, so flags go through the environment.
    if args.web_port is not None:
        os.environ["PARASOL_WEB_PORT"] = str(args.web_port)
    import faust

    from streams.agents import app, settings

    class Worker(faust.Worker):
        """A Faust worker that cannot hang on SIGTERM: a stop that takes longer than
        ``PARASOL_SHUTDOWN_TIMEOUT_S`` (seen: aiokafka's consumer thread during a rebalance) ends
        the process. Nothing is lost: offsets are only committed after Elasticsearch (or the
        dead-letter topic) has every event, so the next worker re-reads the rest."""

        def _exit_after(self, seconds: float) -> None:
            import logging
            import threading
            import time

            def watchdog() -> None:
                time.sleep(seconds)
                logging.getLogger("parasol.worker").warning("stop took over %.0fs: exiting now", seconds)
                os._exit(3)

            threading.Thread(target=watchdog, name="shutdown-watchdog", daemon=True).start()

        def _on_sigterm(self) -> None:
            self._exit_after(settings.shutdown_timeout_s)
            super()._on_sigterm()

        def _on_sigint(self) -> None:
            self._exit_after(settings.shutdown_timeout_s)
            super()._on_sigint()

    # Pre-flight: rejected credentials or a failed TLS handshake end the worker at once with the
    # setting to fix (aiokafka would bury it in a traceback); a broker not up yet is Faust's to wait for.
    from connectors.kafka_admin import KafkaSecurityError, check_kafka

    try:
        check_kafka(settings, timeout=10)
    except KafkaSecurityError as exc:
        print(f"parasol worker: {exc}", file=sys.stderr)
        return 2
    except TimeoutError as exc:
        print(f"parasol worker: {exc}; starting anyway", file=sys.stderr)

    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    level = args.loglevel or settings.log_level
    if settings.log_format == "json":
        from streams.logjson import logging_config

        worker = Worker(app, loglevel=level, logging_config=logging_config(level))
    else:
        worker = Worker(app, loglevel=level)
    worker.execute_from_commandline()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from streams.demo import run_demo

    return run_demo(events=args.events, keep=args.keep, seed=args.seed)


def cmd_tail(args: argparse.Namespace) -> int:
    import logging

    from connectors.sources.base import SourceOptions
    from connectors.sources.formats import make_parser
    from connectors.sources.tail import Tailer, TailError, print_progress

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = SourceOptions(
        instance=args.instance,
        service=args.service,
        tz=args.tz,
        user_header=args.user_header,
        trusted_proxies=args.trusted_proxies,
        routes=tuple(args.route or ()),
        idle_flush_s=args.idle_flush,
    )
    try:
        parser = make_parser(args.format, options, args.variant)
    except ValueError as exc:
        print(f"parasol tail: {exc}", file=sys.stderr)
        return 2
    settings = _settings()
    tailer = Tailer(
        settings,
        parser,
        args.path,
        checkpoint=args.checkpoint,
        follow=args.follow,
        progress=None if args.quiet else print_progress,
        idle_flush_s=args.idle_flush,
    )
    tailer.install_signal_handlers()
    try:
        stats = tailer.run()
    except TailError as exc:
        print(f"\nparasol tail: {exc} (the checkpoint holds; rerun to resume)", file=sys.stderr)
        return 1
    summary = stats.as_dict() | {"checkpoint": str(tailer.store.file)}
    if not args.quiet:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(summary))
    else:
        dead = sum(stats.dead.values())
        print(
            f"parasol tail {args.format}: {stats.lines:,} lines, {stats.acked:,} events delivered, "
            f"{dead:,} dead letters{' ' + str(dict(stats.dead)) if dead else ''} "
            f"in {summary['seconds']} s; checkpoint {tailer.store.file}"
        )
    return 0


RISK_LEVELS = ("low", "medium", "high", "critical")


def cmd_risk(args: argparse.Namespace) -> int:
    """Set a subject's risk level (read by masking decisions on every worker)."""
    import getpass
    from datetime import UTC, datetime

    import orjson
    from confluent_kafka import Producer

    from connectors.kafka_admin import ensure_topics

    s = _settings()
    topic = s.topic("risk_levels")
    ensure_topics(s.confluent_config(), [topic], s.partitions)
    record = {
        "user": args.user,
        "level": args.level,
        "source": "cli",
        "set_by": getpass.getuser(),
        "reason": args.reason,
        "@timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    p = Producer({**s.confluent_config(), "enable.idempotence": True})
    errors: list = []
    p.produce(topic, key=args.user.encode(), value=orjson.dumps(record), on_delivery=lambda e, m: e and errors.append(e))
    p.flush(15)
    if errors:
        print(f"parasol risk set: {errors[0]}", file=sys.stderr)
        return 1
    print(f"risk level of {args.user}: {args.level}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="parasol", description="real-time data-access monitoring")
    sub = p.add_subparsers(dest="command", required=True)

    local = sub.add_parser("local", help="the embedded single-machine stack (Kafka + Elasticsearch APIs)")
    local.add_argument("action", choices=["up", "down", "status"])
    local.add_argument("--json", action="store_true", help="status as JSON")
    local.set_defaults(func=cmd_local)

    worker = sub.add_parser("worker", help="run one pipeline worker (start more to scale out)")
    worker.add_argument("--web-port", type=int, default=None, help="0 disables the web endpoints")
    worker.add_argument("--loglevel", default=None)
    worker.set_defaults(func=cmd_worker)

    from connectors.sources.formats import FORMATS

    tail = sub.add_parser(
        "tail",
        help="ship a database audit log or API access log to Kafka",
        description="Formats: " + "; ".join(f"{k}: {v[1]}" for k, v in FORMATS.items()),
    )
    tail.add_argument("format", choices=list(FORMATS))
    tail.add_argument("--path", required=True, help="log file, or a glob whose newest match is the live file")
    tail.add_argument("--follow", "-f", action="store_true", help="keep following (rotation included)")
    tail.add_argument("--variant", help="pgaudit: jsonlog|csvlog|stderr (default: detect); jsonl: db|api")
    tail.add_argument("--instance", help="db.instance for DB logs (e.g. pg-crm-01)")
    tail.add_argument("--service", help="service.name for access logs that do not carry one")
    tail.add_argument("--tz", help="zone of timestamps logged without one (default: this machine's)")
    tail.add_argument("--user-header", help="access logs: request header that names the user")
    tail.add_argument("--trusted-proxies", type=int, default=0, help="trusted X-Forwarded-For hops")
    tail.add_argument("--route", action="append", help="route template, e.g. /customers/{id} (repeatable)")
    tail.add_argument("--checkpoint", help="checkpoint file (default: under PARASOL_DATA_DIR/checkpoints)")
    tail.add_argument("--idle-flush", type=float, default=1.0, help="seconds before held records are emitted")
    tail.add_argument("--json", action="store_true", help="final summary as JSON")
    tail.add_argument("--quiet", "-q", action="store_true", help="no progress line")
    tail.set_defaults(func=cmd_tail)

    risk = sub.add_parser("risk", help="subjects' risk levels (masking gets stricter as they rise)")
    risk_sub = risk.add_subparsers(dest="action", required=True)
    risk_set = risk_sub.add_parser("set", help="set a user's current risk level")
    risk_set.add_argument("user")
    risk_set.add_argument("level", choices=RISK_LEVELS)
    risk_set.add_argument("--reason", default=None)
    risk_set.set_defaults(func=cmd_risk)

    from streams.masking_cli import add_commands

    add_commands(sub)

    from streams import alerts_cli, investigate_cli, rules_cli

    alerts_cli.add_commands(sub)
    rules_cli.add_commands(sub)
    investigate_cli.add_commands(sub)

    demo = sub.add_parser("demo", help="local stack + worker + realistic traffic with a few attacks")
    demo.add_argument("--events", type=int, default=20000, help="valid events to generate")
    demo.add_argument("--seed", type=int, default=None, help="traffic seed (default: from the clock)")
    demo.add_argument("--keep", action="store_true", help="leave the local stack running afterwards")
    demo.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
