"""Reports and drills: the pure figures, and the API/CSV over real HTTP (scoped, drills left out)."""

from __future__ import annotations

import csv
import io
import time

import httpx
from cloud_harness import RunningCloud, edge_event

from cloud.reports.figures import IncidentRow, percentile, report
from contracts.intake import EventKind

INTAKE = "/api/v1/intake/events"
T0 = 1_760_000_000_000


def _row(
    i: int, answer_s: float | None, *, outcome: str | None = "resolved_by_phone", model: str = "sos_card"
) -> IncidentRow:
    return IncidentRow(
        id=i,
        street="xiyingmen" if i % 2 else "jingwu",
        kind="sos",
        severity="P1",
        status="resolved" if outcome else "new",
        outcome=outcome,
        device_kind=model,
        device_ts=T0,
        cloud_ts=T0 + 200,
        acknowledged_at=None if answer_s is None else T0 + round(answer_s * 1000),
        guardian_answered_at=T0 + 90_000 if i == 1 else None,
        dispatched_at=None,
        resolved_at=None,
    )


def test_answer_times_against_the_60_and_180_second_targets() -> None:
    rows = [_row(i, s) for i, s in enumerate([10, 45, 59, 61, 150, 200, None], start=1)]
    figures = report(rows)
    assert figures.incidents == 7
    assert figures.answer.unanswered == 1
    assert figures.answer.within == {60: 3 / 7, 180: 5 / 7}  # unanswered alarms count against the target
    assert figures.answer.bins == {"0-30": 1, "30-60": 2, "60-120": 1, "120-180": 1, "180-300": 1, "300+": 0}
    assert figures.answer.durations.p50_s == 59
    assert figures.to_guardian.count == 1 and figures.to_guardian.p50_s == 90
    assert figures.by_street == {"xiyingmen": 4, "jingwu": 3}
    assert percentile([], 50) is None


def test_false_alarm_rate_per_device_model() -> None:
    rows = [
        _row(1, 5, outcome="false_alarm", model="wearable"),
        _row(2, 5, outcome="cancelled_on_device", model="wearable"),
        _row(3, 5, outcome="helped_on_site", model="wearable"),
        _row(4, 5, outcome="false_alarm", model="sos_card"),
        _row(5, None, outcome=None, model="sos_card"),  # still open: not counted
    ]
    rates = report(rows).false_alarms_by_model
    assert (rates["wearable"].incidents, rates["wearable"].false_alarms) == (3, 2)
    assert rates["sos_card"].rate == 1.0


async def test_reports_and_csv_are_scoped_and_leave_drills_out(
    cloud: RunningCloud, edge: httpx.AsyncClient
) -> None:
    now = int(time.time() * 1000)
    async with cloud.staff_client("supervisor") as supervisor, cloud.staff_client("op-two") as op_two:
        drill = await supervisor.post("/api/v1/drills", json={"device_id": "card-0002", "minutes": 5})
        assert drill.status_code == 201, drill.text
        ids = {}
        for device in ("card-0001", "card-0002", "card-0006"):  # 西营门, 西营门 (drill), 赤龙南
            response = await edge.post(INTAKE, json=edge_event(device, 1, EventKind.SOS, device_ts=now))
            ids[device] = int(response.json()["incident_id"])
        drilled = (await supervisor.get(f"/api/v1/incidents/{ids['card-0002']}")).json()
        assert drilled["drill"] is True and "drill" in [t["type"] for t in drilled["timeline"]]
        assert (await supervisor.get("/api/v1/drills")).json()[0]["incident_id"] == ids["card-0002"]
        await op_two.post(f"/api/v1/incidents/{ids['card-0001']}/acknowledge", json={})

        everything = (await supervisor.get("/api/v1/reports/summary")).json()
        assert everything["incidents"] == 2  # the drill is left out
        assert everything["by_street"] == {"xiyingmen": 1, "chilongnan": 1}
        assert everything["answer"]["unanswered"] == 1
        mine = (await op_two.get("/api/v1/reports/summary")).json()
        assert mine["incidents"] == 1 and mine["by_street"] == {"xiyingmen": 1}
        assert mine["answer"]["within"]["60"] == 1.0

        exported = await op_two.get("/api/v1/reports/incidents.csv")
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [int(r["id"]) for r in rows] == [ids["card-0001"]]  # not the third street's, not the drill
        assert float(rows[0]["answer_s"]) < 60
        assert (
            await op_two.get("/api/v1/reports/summary", params={"since": 10, "until": 5})
        ).status_code == 422
        assert (await op_two.post("/api/v1/drills", json={"device_id": "card-0001"})).status_code == 403
