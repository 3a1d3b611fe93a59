"""``anxin edge``: run an edge gateway. Every setting is a flag and an ``ANXIN_EDGE_*`` variable."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from typing import Any

from pydantic import ValidationError

from edge.gateway import Gateway
from edge.settings import EdgeSettings
from edge.workers import run_workers

log = logging.getLogger(__name__)


async def run_gateway(settings: EdgeSettings, *, started: asyncio.Event | None = None) -> None:
    """Run one gateway until cancelled; ``started`` is set once it is subscribed and serving."""
    gateway = Gateway(settings)
    if started is None:
        await gateway.run()
        return
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(gateway.run())
        await gateway.started.wait()
        started.set()


def _flag_type(annotation: Any) -> Any:
    text = str(annotation)
    if "int" in text and "float" not in text:
        return int
    if "float" in text:
        return float
    return str


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "edge",
        help="run an edge gateway (MQTT ingest, detection, outbox to the cloud)",
        description="Run an edge gateway (边缘网关): subscribes to every device uplink on the broker, "
        "validates it, runs detection, keeps each incident on disk until the district center has it, "
        "acknowledges alarms to the devices and delivers the center's commands. Each flag can also be "
        "set as ANXIN_EDGE_<NAME> (e.g. ANXIN_EDGE_CLOUD_TOKEN); flags win.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    for name, field in EdgeSettings.model_fields.items():
        flag = "--" + name.replace("_", "-")
        help_text = (field.description or name.replace("_", " ")) + f" [env ANXIN_EDGE_{name.upper()}]"
        if field.annotation is bool:
            parser.add_argument(
                flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            parser.add_argument(
                flag,
                dest=name,
                type=_flag_type(field.annotation),
                default=None,
                help=help_text,
                metavar=name.upper(),
            )
    parser.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    given = {
        name: getattr(args, name)
        for name in EdgeSettings.model_fields
        if getattr(args, name, None) is not None
    }
    try:
        settings = EdgeSettings(**given)
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(p) for p in error["loc"])
            sys.stderr.write(f"anxin edge: {where}: {error['msg']}\n")
        return 2
    if settings.workers > 1 and settings.worker is None:
        return run_workers(settings)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_gateway(settings))
    return 0
