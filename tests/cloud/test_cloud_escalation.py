"""The "nobody claims a P1" scenario over real HTTP, with short policy delays (no sleeping: every wait
is on a live-stream event), and the per-guardian message budget under a flood of alarms."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from cloud_harness import WAIT_S, SseEvent, SseReader, StartCloud, edge_event

from contracts.intake import EventKind

INTAKE = "/api/v1/intake/events"
VOICE_MARK = "[语音来电 voice call]"
FAST_P1 = {
    "P1": {
        "steps": [
            {"action": "realert_consoles", "after_s": 0.2, "repeat_s": 0.2},
            {"action": "alert_supervisor", "after_s": 0.4, "repeat_s": 30},
            {"action": "start_ladder", "after_s": 0.6},
        ],
        "ladder_wait_s": 0.5,
    }
}


async def _until(reader: SseReader, seen: list[SseEvent], match: Callable[[SseEvent], bool]) -> SseEvent:
    while True:
        event = await reader.next()
        seen.append(event)
        if match(event):
            return event


async def _kid(admin: httpx.AsyncClient) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    subjects = (await admin.get("/api/v1/subjects", params={"limit": 500})).json()
    kid = next(s for s in subjects if "kid-0001" in s["device_ids"])
    guardians = (await admin.get(f"/api/v1/subjects/{kid['id']}/guardians")).json()
    assert [g["relation"] for g in guardians] == ["父亲", "母亲"]
    return kid, guardians


async def test_nobody_claims_a_p1_and_the_escalation_runs_until_a_guardian_is_going(
    start_cloud: StartCloud,
) -> None:
    async with (
        start_cloud(escalation_policies=FAST_P1) as cloud,
        cloud.operator_client() as admin,
        cloud.staff_client("supervisor") as supervisor,
        cloud.edge_client() as edge,
    ):
        _kid_subject, (father, mother) = await _kid(admin)
        async with supervisor.stream("GET", "/api/v1/stream", timeout=httpx.Timeout(10, read=None)) as stream:
            reader = SseReader(stream)
            assert await reader.comment() == "connected"
            response = await edge.post(INTAKE, json=edge_event("kid-0001", 1, EventKind.SOS))
            incident_id = int(response.json()["incident_id"])
            seen: list[SseEvent] = []

            def sms_to(guardian: dict[str, Any], *, voice: bool = False) -> Callable[[SseEvent], bool]:
                return lambda e: (
                    e.name == "sms.sent"
                    and e.data["guardian_id"] == guardian["id"]
                    and e.data["body"].startswith(VOICE_MARK) == voice
                )

            await _until(reader, seen, lambda e: e.name == "incident.realert" and e.data["id"] == incident_id)
            await _until(
                reader, seen, lambda e: e.name == "incident.escalated" and e.data["id"] == incident_id
            )
            first = await _until(reader, seen, sms_to(father))
            assert "已发出警报" in first.data["body"] and "中心已受理" not in first.data["body"]
            assert "**" in first.data["body"]  # masked name
            await _until(reader, seen, sms_to(mother))  # no answer from the father: the mother
            await _until(reader, seen, sms_to(father, voice=True))  # no answer: a voice call
            realerts = [e for e in seen if e.name == "incident.realert"]
            assert len(realerts) >= 3 and all(e.data["owner"] is None for e in realerts)  # repeats

            answer = await admin.post(
                "/api/v1/dev/sms/reply", json={"guardian_id": father["id"], "text": "1"}
            )
            assert answer.json()["result"] == "acknowledged"
        detail = (await admin.get(f"/api/v1/incidents/{incident_id}")).json()
        kinds = [t["type"] for t in detail["timeline"]]
        for expected in (
            "escalation_realert",
            "supervisor_alerted",
            "ladder_started",
            "ladder_contact",
            "ladder_next",
            "guardian_acknowledged",
            "escalation_stopped",
        ):
            assert expected in kinds, expected
        stopped = next(t for t in detail["timeline"] if t["type"] == "escalation_stopped")
        assert stopped["data"]["reason"] == "guardian_going" and stopped["data"]["cancelled"] >= 2
        contacts = [
            (t["data"]["contact"], t["data"]["channel"])
            for t in detail["timeline"]
            if t["type"] == "ladder_contact"
        ]
        assert contacts[:3] == [  # (on a slow machine the mother's call may start before the reply lands)
            (f"guardian:{father['id']}", "sms"),
            (f"guardian:{mother['id']}", "sms"),
            (f"guardian:{father['id']}", "voice"),
        ]
        [(pending,)] = await cloud.rows(  # a reply 1 stopped every pending step at once
            "SELECT count(*) FROM escalation_timers WHERE incident_id = :id AND state = 'pending'",
            id=incident_id,
        )
        assert pending == 0
        assert (await admin.get("/api/v1/escalations/late")).json() == []


async def test_a_claim_stops_the_escalation_and_the_guardians_hear_it(start_cloud: StartCloud) -> None:
    fast_ladder = {"P1": {"steps": [{"action": "start_ladder", "after_s": 0.01}], "ladder_wait_s": 600}}
    async with (
        start_cloud(escalation_policies=fast_ladder) as cloud,
        cloud.operator_client() as admin,
        cloud.staff_client("op-all") as op_all,
        cloud.edge_client() as edge,
    ):
        _kid_subject, (father, _mother) = await _kid(admin)
        async with op_all.stream("GET", "/api/v1/stream", timeout=httpx.Timeout(10, read=None)) as stream:
            reader = SseReader(stream)
            assert await reader.comment() == "connected"
            incident_id = int((await edge.post(INTAKE, json=edge_event("kid-0001", 1))).json()["incident_id"])
            seen: list[SseEvent] = []
            await _until(
                reader, seen, lambda e: e.name == "sms.sent" and e.data["guardian_id"] == father["id"]
            )
            claimed = await op_all.post(f"/api/v1/incidents/{incident_id}/acknowledge", json={})
            assert claimed.json()["owner"] == "op-all"
            follow = await _until(
                reader, seen, lambda e: e.name == "sms.sent" and e.data["guardian_id"] == father["id"]
            )
            assert "值班员已接警" in follow.data["body"]
            # a repeat press on the owned incident re-alerts its owner
            await edge.post(INTAKE, json=edge_event("kid-0001", 2))
            realert = await _until(reader, seen, lambda e: e.name == "incident.realert")
            assert realert.data == {
                **realert.data,
                "id": incident_id,
                "owner": "op-all",
                "reason": "repeat_press",
            }
            await op_all.post(
                f"/api/v1/incidents/{incident_id}/resolve", json={"outcome": "guardian_handled"}
            )
            closed = await _until(
                reader, seen, lambda e: e.name == "sms.sent" and e.data["guardian_id"] == father["id"]
            )
            assert "处理完毕" in closed.data["body"]


async def test_a_flood_of_alarms_sends_each_guardian_at_most_five_messages(start_cloud: StartCloud) -> None:
    fast_ladder = {"P1": {"steps": [{"action": "start_ladder", "after_s": 0.01}], "ladder_wait_s": 600}}
    async with (
        start_cloud(escalation_policies=fast_ladder) as cloud,
        cloud.operator_client() as admin,
        cloud.edge_client() as edge,
    ):
        _kid_subject, (father, mother) = await _kid(admin)
        async with admin.stream("GET", "/api/v1/stream", timeout=httpx.Timeout(10, read=None)) as stream:
            reader = SseReader(stream)
            assert await reader.comment() == "connected"
            seen: list[SseEvent] = []
            for cycle in range(8):  # 8 false-alarm cycles in a row: press, then cancel on the device
                press = edge_event("kid-0001", 2 * cycle + 1)
                incident_id = int((await edge.post(INTAKE, json=press)).json()["incident_id"])
                while True:  # wait until the ladder has taken its first step for this incident
                    await _until(
                        reader,
                        seen,
                        lambda e, i=incident_id: e.name == "incident.updated" and e.data["id"] == i,
                    )
                    timeline = (await admin.get(f"/api/v1/incidents/{incident_id}")).json()["timeline"]
                    step = next((t for t in timeline if t["type"] == "ladder_contact"), None)
                    if step is not None:
                        break
                if not step["data"]["merged"]:  # within the budget: let it go out before the cancel
                    await _until(
                        reader, seen, lambda e: e.name == "sms.sent" and e.data["guardian_id"] == father["id"]
                    )
                cancel = edge_event("kid-0001", 2 * cycle + 2, EventKind.SOS_CANCEL, ref_key=press["key"])
                assert (await edge.post(INTAKE, json=cancel)).status_code == 201
        rows = await cloud.rows(
            "SELECT guardian_id, status, kind, next_attempt_at, created_at FROM notifications"
        )
        to_father = [r for r in rows if r[0] == father["id"]]
        live = [r for r in to_father if r[1] in ("queued", "sent") and r[2] != "summary"]
        assert len(live) == 5  # the budget: 5 in any 10 minutes (alerts and "closed" follow-ups alike)
        assert sum(1 for r in to_father if r[1] == "merged") >= 8 - 3  # the rest folded into one summary
        summaries = [r for r in to_father if r[2] == "summary"]
        assert len(summaries) == 1 and summaries[0][1] == "queued"
        assert summaries[0][3] >= min(r[4] for r in to_father) + 600_000  # after the window
        assert not [r for r in rows if r[0] == mother["id"]]  # the ladder never got past the father


async def test_two_cloud_workers_fire_each_step_exactly_once(start_cloud: StartCloud) -> None:
    """Two services on one database (PostgreSQL: SKIP LOCKED; SQLite: its single writer)."""
    policy = {"P1": {"steps": [{"action": "realert_consoles", "after_s": 0.05, "repeat_s": 0.1}]}}
    async with (
        start_cloud(escalation_policies=policy) as first,
        first.operator_client() as admin_a,  # signed in: its migrations ran; the second starts after
        start_cloud(escalation_policies=policy) as second,
        second.operator_client() as admin_b,
        first.edge_client() as edge,
    ):
        streams = [
            admin.stream("GET", "/api/v1/stream", timeout=httpx.Timeout(10, read=None))
            for admin in (admin_a, admin_b)
        ]
        async with streams[0] as stream_a, streams[1] as stream_b:
            readers = [SseReader(stream_a), SseReader(stream_b)]
            for reader in readers:
                assert await reader.comment() == "connected"
            devices = [f"card-{i:04d}" for i in range(1, 9)]
            ids = [
                int((await edge.post(INTAKE, json=edge_event(d, 1))).json()["incident_id"]) for d in devices
            ]
            rounds: dict[int, int] = {}

            async def watch(reader: SseReader) -> None:
                while min((rounds.get(i, -1) for i in ids), default=-1) < 3:
                    event = await reader.next()
                    if event.name == "incident.realert":
                        rounds[event.data["id"]] = max(rounds.get(event.data["id"], -1), event.data["round"])

            await asyncio.wait_for(
                asyncio.wait(
                    [asyncio.create_task(watch(r)) for r in readers], return_when=asyncio.FIRST_COMPLETED
                ),
                WAIT_S,
            )
            for incident_id in ids:  # stop them all, so the count below is final
                await admin_a.post(f"/api/v1/incidents/{incident_id}/acknowledge", json={})
    entries = await first.rows(
        "SELECT incident_id, data FROM incident_timeline WHERE type = 'escalation_realert' ORDER BY id"
    )
    seen = [
        (incident_id, (orjson.loads(data) if isinstance(data, str) else data)["round"])
        for incident_id, data in entries
    ]
    assert len(seen) == len(set(seen))  # no (incident, round) fired twice
    fired = await first.rows(
        "SELECT incident_id, step, round, count(*) FROM escalation_timers WHERE state = 'fired' "
        "GROUP BY incident_id, step, round HAVING count(*) > 1"
    )
    assert fired == []
    assert {i for i, _ in seen} == set(ids)


async def test_escalation_timers_survive_a_restart(start_cloud: StartCloud) -> None:
    policy = {"P1": {"steps": [{"action": "realert_consoles", "after_s": 3.0}]}}
    async with start_cloud(escalation_policies=policy) as first, first.edge_client() as edge:
        response = await edge.post(INTAKE, json=edge_event("card-0001", 1))
        incident_id = int(response.json()["incident_id"])
    [(due_at, state)] = await first.rows(
        "SELECT due_at, state FROM escalation_timers WHERE incident_id = :id", id=incident_id
    )
    assert state == "pending"  # the service stopped before the step came due
    restarted_at = int(time.time() * 1000)
    async with (
        start_cloud(escalation_policies=policy) as second,
        second.operator_client() as admin,
        admin.stream("GET", "/api/v1/stream", timeout=httpx.Timeout(10, read=None)) as stream,
    ):
        reader = SseReader(stream)
        assert await reader.comment() == "connected"
        [(state,)] = await second.rows(
            "SELECT state FROM escalation_timers WHERE incident_id = :id", id=incident_id
        )
        if state == "pending":  # (on a slow machine it may have fired before the stream was open)
            event = await _until(reader, [], lambda e: e.name == "incident.realert")
            assert event.data["id"] == incident_id
    [(state, fired_at)] = await second.rows(
        "SELECT state, fired_at FROM escalation_timers WHERE incident_id = :id", id=incident_id
    )
    assert state == "fired" and fired_at >= max(due_at, restarted_at)
