"""``anxin sim`` end to end: the one-hour scenario at high speed writes identical ground truth twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from anxin.cli import main
from broker.runner import MosquittoBroker
from firmware_sim.groundtruth import read_ground_truth

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_one_hour_scenario_twice_gives_identical_ground_truth(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    outputs = []
    for run in ("a", "b"):
        out = tmp_path / f"gt-{run}.jsonl"
        code = main(
            [
                "sim",
                "--mqtt-url", mosquitto.url,
                "--scenario", str(REPO / "scenarios" / "one-hour.yaml"),
                "--seed", "1",
                "--speed", "1800",
                "--accel-mode", "events",
                "--ground-truth", str(out),
                "--no-progress",
            ]
        )  # fmt: skip
        assert code == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    kinds = {(r["subject"], r["kind"]) for r in read_ground_truth(tmp_path / "gt-a.jsonl")}
    assert {("E017", "fall"), ("D012", "sos"), ("C003", "geofence_exit"), ("D077", "device_silent")} <= kinds


def test_dry_run_is_deterministic_and_needs_no_broker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "sim",
        "--scenario",
        str(REPO / "scenarios" / "one-hour.yaml"),
        "--dry-run",
        "--accel-mode",
        "off",
    ]
    assert (
        main([*args, "--ground-truth", str(tmp_path / "a.jsonl"), "--messages", str(tmp_path / "a.msgs")])
        == 0
    )
    assert (
        main([*args, "--ground-truth", str(tmp_path / "b.jsonl"), "--messages", str(tmp_path / "b.msgs")])
        == 0
    )
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert (tmp_path / "a.msgs").read_bytes() == (tmp_path / "b.msgs").read_bytes()
    assert '"messages"' in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--faults", "nonsense=1"], "unknown fault"),
        (["--mix", "phone=1", "--devices", "3"], "unknown device kind"),
        (["--mqtt-url", "http://x"], "MQTT URL"),
        (["--scenario", "/nonexistent.yaml"], "cannot read scenario"),
    ],
)
def test_bad_arguments_are_clear_errors(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sim", "--duration", "1s", "--no-progress", *extra]) == 2
    assert message in capsys.readouterr().err
