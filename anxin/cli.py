"""``anxin``: one command for every part of the platform.

Each part registers its own subcommand; importing is lazy so ``anxin --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

# subcommand -> (module, help). The module has ``register(subparsers)`` adding its parser.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("anxin.demo", "run the whole system on embedded defaults (broker, cloud, edge, fleet)"),
    "cloud": ("cloud.main", "run the district center's alert-dispatch service (HTTP API + console)"),
    "edge": ("edge.main", "run an edge gateway (MQTT ingest, detection, outbox to the cloud)"),
    "broker": (
        "anxin.broker_sync",
        "broker tools: write Mosquitto's logins and ACL from the device registry",
    ),
    "sim": ("firmware_sim.cli", "simulate a fleet of devices against an MQTT broker"),
    "contracts": ("contracts.cli", "wire contract tools: JSON Schema export, example payloads"),
    "bench": ("tools.bench", "benchmarks: fall/vitals detection accuracy, throughput"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anxin",
        description="Anxin (安心): smart elderly care and child safety monitoring. "
        "Run `anxin demo` to see the whole system; `anxin <command> --help` for each command.",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = _wanted_command(sys.argv[1:])
    for name, (module_name, help_text) in COMMANDS.items():
        if wanted in (None, name):
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                if wanted == name:
                    raise SystemExit(f"anxin {name}: not available in this build ({exc})") from exc
                continue
            register: Callable[..., None] = module.register
            register(sub)
        else:
            sub.add_parser(name, help=help_text)
    return parser


def _wanted_command(argv: Sequence[str]) -> str | None:
    for arg in argv:
        if arg in COMMANDS:
            return arg
        if not arg.startswith("-"):
            return None
    return None


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    # Per-request lines from HTTP clients and migration plugin chatter drown the events that matter.
    # aiosqlite and SQLAlchemy's engine log SQL parameters at DEBUG, i.e. names and phone numbers: never.
    for noisy in ("httpx", "httpcore", "alembic.runtime.plugins", "amqtt", "transitions"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    for personal in ("aiosqlite", "sqlalchemy.engine", "asyncpg"):
        logging.getLogger(personal).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    configure_logging(args.log_level)
    try:
        result: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
