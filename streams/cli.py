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

    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    worker = faust.Worker(app, loglevel=args.loglevel or settings.log_level)
    worker.execute_from_commandline()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from streams.demo import run_demo

    return run_demo(events=args.events, keep=args.keep, seed=args.seed)


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
