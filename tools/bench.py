"""``anxin bench``: each part adds its own benchmarks here; ``anxin bench all`` runs them and records them."""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Modules with ``register(bench_subparsers)``; missing ones are skipped.
BENCH_MODULES = (
    "tools.falls.bench",
    "tools.gateway_bench",
    "tools.overload_bench",
    "tools.sim_bench",
    "tools.intake_bench",
    "tools.district_bench",
)
SECTION = "## Latest `make bench` run"
DEFAULT_DATA_ROOT = Path("../shared/data")


@dataclass(frozen=True)
class BenchRun:
    title: str
    argv: list[str]


def planned_runs(data_root: Path, *, quick: bool) -> tuple[list[BenchRun], list[str]]:
    """What ``bench all`` runs, and notes on what it skipped (e.g. data not present)."""
    runs: list[BenchRun] = []
    skipped: list[str] = []
    falls = data_root / "falls" / "sisfall-50hz"
    if (falls / "manifest.csv").exists():
        falls_args = ["falls", "--data", str(falls), "--folds", "5"]
        runs.append(BenchRun("Fall detection, per trial (SisFall, subject-wise CV; strict)", falls_args))
        runs.append(
            BenchRun(
                "Fall detection, continuous wear (one detector per subject)",
                [*falls_args, "--protocol", "continuous"],
            )
        )
    else:
        skipped.append(f"falls: no dataset at {falls}")
    for placement, folder in (("waist", "waist"), ("pendant", "neck"), ("wrist", "wrist")):
        other = data_root / "falls" / f"fallalld-{folder}-50hz"
        if (other / "manifest.csv").exists():
            title = f"Fall detection, {placement} model, FallAllD {folder} (shipped model, per trial)"
            runs.append(BenchRun(title, ["falls", "--data", str(other), "--placement", placement]))
        else:
            skipped.append(f"falls ({placement}): no dataset at {other}")
    vitals = sorted((data_root / "vitals").glob("*.csv")) if (data_root / "vitals").is_dir() else []
    if vitals:
        runs.append(BenchRun("Vital-sign alarms (MIMIC numerics)", ["vitals", "--data", *map(str, vitals)]))
    else:
        skipped.append(f"vitals: no CSV files in {data_root / 'vitals'}")
    runs.append(BenchRun("Edge gateway vs raw broker", ["gateway", "--alarms", "50" if quick else "200"]))
    ladder = ["gateway", "--ladder", "--kind", "both"]
    ladder += ["--rates", "500,1000,2000" if quick else "500,1000,2000,3000,4000"]
    ladder += ["--accel-rates", "250,500,1000" if quick else "500,1000,1500,2000,3000"]
    runs.append(BenchRun("Gateway sustained load (vitals, acceleration), 1 and 2 workers", ladder))
    runs.append(BenchRun("Cloud intake vs bare endpoint", ["intake", "--events", "640" if quick else "2000"]))
    overload = ["overload", "--seconds", "15" if quick else "30"]
    runs.append(BenchRun("Alarms with the gateway at 2× its capacity", overload))
    runs.append(
        BenchRun(
            "Simulator scale",
            ["sim", "--devices", "2000" if quick else "10000", "--duration", "15" if quick else "60"],
        )
    )
    runs.append(
        BenchRun("Simulated falls through the detector", ["sim-falls", "--wearables", "5" if quick else "20"])
    )
    runs.append(
        BenchRun(
            "Smart service pack: simulated homes through the home detectors",
            ["homes", "--homes", "5" if quick else "20", "--weeks", "4" if quick else "8"],
        )
    )
    return runs, skipped


def machine_summary() -> str:
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        if found:
            model = found.group(1).strip()
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, {system}"


def _run_all(args: argparse.Namespace) -> int:
    runs, skipped = planned_runs(Path(args.data_root), quick=args.quick)
    started = datetime.now(UTC)
    blocks: list[str] = []
    failures = 0
    for index, run in enumerate(runs, 1):
        print(f"[{index}/{len(runs)}] anxin bench {' '.join(run.argv)}", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        proc = subprocess.run(  # our own CLI, fixed arguments
            [sys.executable, "-m", "anxin", "bench", *run.argv], capture_output=True, text=True, check=False
        )
        seconds = time.monotonic() - t0
        sys.stderr.write(proc.stdout)
        status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
        failures += proc.returncode != 0
        output = proc.stdout.strip() or proc.stderr.strip()[-2000:]
        command = f"`anxin bench {' '.join(run.argv)}` — {status}, {seconds:.0f} s"
        blocks.append(f"### {run.title}\n\n{command}\n\n```\n{output}\n```\n")
    header = (
        f"{SECTION}\n\n"
        f"Command: `make bench` (= `anxin bench all{' --quick' if args.quick else ''}`), "
        f"{started:%Y-%m-%d %H:%M} UTC. Machine: {machine_summary()}. "
        "Figures are as printed by each benchmark; ratios are against baselines measured in the same run.\n"
    )
    if skipped:
        header += "\nSkipped: " + "; ".join(skipped) + "\n"
    section = header + "\n" + "\n".join(blocks)
    if args.out:
        write_section(Path(args.out), section)
        print(f"wrote {args.out} ({SECTION[3:]})", file=sys.stderr)
    else:
        print(section)
    return 1 if failures else 0


def write_section(path: Path, section: str) -> None:
    """Replace (or append) the ``make bench`` section of BENCHMARKS.md, leaving the others alone."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = text.find(SECTION)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        following = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + (text[following + 1 :] if following != -1 else "")
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "bench",
        help="benchmarks: fall/vitals detection accuracy, gateway and simulator throughput",
        description="Benchmarks. Each prints its figures; see BENCHMARKS.md for recorded runs.",
    )
    bench_sub = parser.add_subparsers(dest="bench", metavar="BENCH")
    everything = bench_sub.add_parser(
        "all",
        help="run every benchmark and record the figures in BENCHMARKS.md",
        description=(
            "Run every benchmark one after the other (progress on stderr) and write their figures, the "
            "command and the machine into a section of BENCHMARKS.md. Dataset benchmarks read "
            "--data-root (default ../shared/data) and are skipped when it is absent."
        ),
    )
    everything.add_argument("--out", default=None, help="file to write the section into (default: print)")
    everything.add_argument("--data-root", default=str(DEFAULT_DATA_ROOT), help="shared data folder")
    everything.add_argument("--quick", action="store_true", help="smaller fleets and fewer round trips")
    everything.set_defaults(func=_run_all)
    for name in BENCH_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real import error inside the module must not be hidden
                raise
            continue
        module.register(bench_sub)
