"""``anxin edge --workers N``: N gateway processes, each owning the devices of its partition.

Every worker subscribes to the site's uplinks (telemetry and alarm lanes, its own MQTT client ids and
persistent sessions) and keeps only the devices a stable hash of their id gives it
(:mod:`edge.ingest.partition`): a device's sequence window, detectors and outbox order stay whole in
one process. Each worker has its own outbox and telemetry files (``edge.w<i>.sqlite3``) and its own
``/metrics`` (``metrics_port + i``); worker 0 also follows the center's command stream. When one worker
ends, the others are stopped and the supervisor exits non-zero (a service manager restarts the set).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess

from edge.settings import EdgeSettings

log = logging.getLogger(__name__)

STOP_GRACE_S = 10.0


def worker_settings(settings: EdgeSettings, index: int) -> EdgeSettings:
    return settings.model_copy(update={"worker": index})


def _worker_main(settings: EdgeSettings, level: int) -> None:
    from edge.main import run_gateway  # the child imports the gateway, not the supervisor

    logging.basicConfig(
        level=level, format=f"%(asctime)s %(levelname)s w{settings.worker} %(name)s %(message)s"
    )
    for personal in ("aiosqlite", "sqlalchemy.engine"):  # SQL parameters may carry personal data
        logging.getLogger(personal).setLevel(logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_gateway(settings))


def run_workers(settings: EdgeSettings) -> int:
    """Start ``settings.workers`` worker processes and supervise them until one ends or a signal."""
    context = multiprocessing.get_context("spawn")
    processes: list[BaseProcess] = []
    for index in range(settings.workers):
        process = context.Process(
            target=_worker_main,
            args=(worker_settings(settings, index), logging.getLogger().level),
            name=f"anxin-edge-w{index}",
        )
        process.start()
        processes.append(process)
        log.info("edge.worker_started worker=%d of=%d pid=%s", index, settings.workers, process.pid)
    previous = signal.signal(signal.SIGTERM, lambda *_: _raise_interrupt())
    code = 0
    try:
        ended = wait([p.sentinel for p in processes])
        for gone in processes:
            if gone.sentinel in ended:
                log.error("edge.worker_ended name=%s exitcode=%s", gone.name, gone.exitcode)
        code = 1
    except KeyboardInterrupt:
        log.info("edge.workers_stopping")
    finally:
        signal.signal(signal.SIGTERM, previous)
        _stop(processes)
    return code


def _raise_interrupt() -> None:
    raise KeyboardInterrupt


def _stop(processes: list[BaseProcess]) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(STOP_GRACE_S)
        if process.is_alive():
            process.kill()
            process.join()
