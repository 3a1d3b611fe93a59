"""``anxin bench``: each part adds its own benchmarks here."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

# Modules with ``register(bench_subparsers)``; missing ones are skipped.
BENCH_MODULES = ("edge.detection.bench", "edge.bench", "firmware_sim.bench")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "bench",
        help="benchmarks: fall/vitals detection accuracy, gateway and simulator throughput",
        description="Benchmarks. Each prints its figures; see BENCHMARKS.md for recorded runs.",
    )
    bench_sub = parser.add_subparsers(dest="bench", metavar="BENCH")
    for name in BENCH_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real import error inside the module must not be hidden
                raise
            continue
        module.register(bench_sub)
