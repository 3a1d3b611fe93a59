"""Ground truth: every injected event as one JSON line (time, device, subject, kind, detail)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any

import orjson

CST = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True, slots=True, order=True)
class Truth:
    """One injected event. ``ts`` is simulated epoch ms (the device clock without skew)."""

    ts: int
    device: str
    kind: str
    subject: str = ""
    detail: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self) -> bytes:
        record = {
            "ts": self.ts,
            "time": datetime.fromtimestamp(self.ts / 1000, UTC)
            .astimezone(CST)
            .isoformat(timespec="milliseconds"),
            "device": self.device,
            "subject": self.subject,
            "kind": self.kind,
        }
        if self.detail:
            record["detail"] = self.detail
        return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


class GroundTruthWriter:
    """Appends :class:`Truth` records to a JSONL file, flushing each line (a run may stop at any time)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = path.open("wb")
        self.count = 0

    def write(self, truths: list[Truth]) -> None:
        for truth in truths:
            self._file.write(truth.to_json() + b"\n")
            self.count += 1
        if truths:
            self._file.flush()

    def close(self) -> None:
        self._file.close()


def read_ground_truth(path: Path) -> list[dict[str, Any]]:
    """Load a ground-truth file written by :class:`GroundTruthWriter`."""
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
