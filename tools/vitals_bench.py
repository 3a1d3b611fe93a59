"""``anxin bench vitals``: replay a minute-by-minute HR/SpO2 recording through
:class:`VitalsDetector` and list every alarm (time and reason, no raw readings)."""

from __future__ import annotations

import argparse
import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.detection.events import DetectionEvent
from edge.detection.vitals import VitalLimits, VitalsDetector

MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True, kw_only=True)
class VitalsRecording:
    """Readings of one recording; NaN where the file says 0/-1 or is empty."""

    t_min: np.ndarray
    hr: np.ndarray
    spo2: np.ndarray


def read_vitals_csv(path: Path) -> VitalsRecording:
    """Read ``t_min,hr_bpm,spo2_pct`` (lines starting with '#' are comments)."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.lstrip().startswith("#")))

    def column(name: str) -> np.ndarray:
        return np.array([_number(row.get(name)) for row in rows], dtype=np.float64)

    return VitalsRecording(t_min=column("t_min"), hr=column("hr_bpm"), spo2=column("spo2_pct"))


def _number(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan


def replay(rec: VitalsRecording, limits: VitalLimits | None = None) -> list[DetectionEvent]:
    """All events the detector raises over the recording (time 0 = minute 0)."""
    det = VitalsDetector("bench", limits)
    events: list[DetectionEvent] = []
    for t, hr, spo2 in zip(rec.t_min.tolist(), rec.hr.tolist(), rec.spo2.tolist(), strict=True):
        hr_v = hr if np.isfinite(hr) else None
        spo2_v = spo2 if np.isfinite(spo2) else None
        events.extend(det.update(round(t * MINUTE_MS), hr_v, spo2_v))
    return events


def add_vitals_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``anxin bench vitals``."""
    parser.add_argument(
        "--data", type=Path, nargs="+", required=True, help="one or more CSV files (t_min,hr_bpm,spo2_pct)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")


def run_vitals(args: argparse.Namespace) -> int:
    """Print alarms per hour and every alarm with its time and reason."""
    report: dict[str, object] = {}
    for path in args.data:
        rec = read_vitals_csv(path)
        events = replay(rec)
        hours = (float(rec.t_min.max() - rec.t_min.min()) + 1.0) / 60.0 if len(rec.t_min) else 0.0
        valid_hr = int(np.sum(rec.hr > 0))
        valid_spo2 = int(np.sum(rec.spo2 > 0))
        per_hour = len(events) / hours if hours else float("nan")
        print(
            f"{path.name}: {hours:.1f} h, {len(rec.t_min)} readings "
            f"({valid_hr} with HR, {valid_spo2} with SpO2): {len(events)} alarms, {per_hour:.2f} per hour"
        )
        alarms = []
        for ev in events:
            minute = ev.t_ms / MINUTE_MS
            onset = ev.onset_ms / MINUTE_MS
            print(
                f"  t={minute:7.1f} min  {ev.kind.value:<13} {ev.reason:<18} since t={onset:.1f} min "
                f"{ev.severity.name}"
            )
            alarms.append(
                {
                    "t_min": minute,
                    "onset_min": onset,
                    "kind": ev.kind.value,
                    "reason": ev.reason,
                    "severity": ev.severity.name,
                }
            )
        report[path.name] = {
            "hours": hours,
            "alarms": len(events),
            "alarms_per_hour": per_hour,
            "events": alarms,
        }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0
