"""Intake authorisation, every combination: which gateway may write which device's events, with which key.

The demo district assigns its devices to ``EDGE_ID``; ``OTHER_EDGE_ID`` serves none of them. A refused
event is 403/422 with a body naming the field, is counted by reason, and creates nothing.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
from cloud_harness import EDGE_ID, EDGE_TOKEN, OTHER_EDGE_ID, OTHER_EDGE_TOKEN, T0, RunningCloud, SseReader

from contracts.identity import event_key, finding_key, variant_key
from contracts.intake import EdgeEvent, EventKind, Severity

INTAKE = "/api/v1/intake/events"
TOKENS = {EDGE_ID: EDGE_TOKEN, OTHER_EDGE_ID: OTHER_EDGE_TOKEN}
OP_TWO_STREETS = {"xiyingmen", "liqizhuang"}  # the demo operator of two streets


def _event(
    *, edge_id: str, device_id: str, seq: int, kind: EventKind, derived: bool, unassigned: bool, boot: int = 0
) -> dict[str, Any]:
    if kind is EventKind.SOS:
        key = event_key(device_id, seq, boot)
    else:
        key = finding_key(device_id, seq, boot, kind.value)
    if not derived:
        key = event_key(device_id, seq + 1_000, boot)  # someone else's key, taken in advance
    event = EdgeEvent(
        key=key,
        edge_id=edge_id,
        device_id=device_id,
        boot=boot,
        seq=seq,
        kind=kind,
        severity=Severity.P1 if kind is EventKind.SOS else Severity.P2,
        device_ts=T0 + seq,
        edge_ts=T0 + seq + 100,
        unassigned=unassigned,
    )
    return event.model_dump(mode="json", exclude_none=True)


def _expected(
    *,
    token_edge: str,
    body_edge: str,
    device_of: str | None,
    kind: EventKind,
    derived: bool,
    unassigned: bool,
) -> tuple[int, str | None, str | None]:
    """(status, refusal reason or None, unassigned reason or None) for one combination."""
    if body_edge != token_edge:
        return 403, "edge_mismatch", None
    if not derived:
        return 422, "key_not_derived", None
    if device_of == token_edge:
        return 201, None, None
    alarm = kind is EventKind.SOS
    if device_of is None:
        return (201, None, "unknown_device") if alarm else (422, "unknown_device", None)
    if unassigned and alarm:
        return 201, None, "other_gateway"
    return 403, "wrong_gateway", None


async def _totals(operator: httpx.AsyncClient) -> tuple[int, int]:
    items = (await operator.get("/api/v1/incidents", params={"status": "all", "limit": 500})).json()
    return len(items), sum(i["event_count"] for i in items)


def _refusals(metrics: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in metrics.splitlines():
        if line.startswith("anxin_cloud_intake_refused_total{"):
            labels, _, value = line.partition("} ")
            found[labels.split('"')[1]] = float(value)
    return found


COMBINATIONS = list(
    itertools.product(
        (EDGE_ID, OTHER_EDGE_ID),  # whose token
        (EDGE_ID, OTHER_EDGE_ID),  # edge_id in the body
        ("card", "stranger"),  # a device of EDGE_ID, or one the center does not know
        (EventKind.SOS, EventKind.HR_HIGH),  # an alarm, or a detector finding
        (True, False),  # key derived from the body
        (False, True),  # the gateway says it does not serve the device
    )
)


async def test_every_combination_of_gateway_device_kind_and_key(
    cloud: RunningCloud, operator: httpx.AsyncClient
) -> None:
    refused: dict[str, int] = {}
    for n, (token_edge, body_edge, device, kind, derived, unassigned) in enumerate(COMBINATIONS, start=1):
        device_id = f"card-{n % 40 + 1:04d}" if device == "card" else f"stranger-{n}"
        status, reason, unassigned_reason = _expected(
            token_edge=token_edge,
            body_edge=body_edge,
            device_of=EDGE_ID if device == "card" else None,
            kind=kind,
            derived=derived,
            unassigned=unassigned,
        )
        body = _event(
            edge_id=body_edge, device_id=device_id, seq=n, kind=kind, derived=derived, unassigned=unassigned
        )
        before = await _totals(operator)
        async with cloud.edge_client(TOKENS[token_edge]) as edge:
            answer = await edge.post(INTAKE, json=body)
        case = (
            f"token={token_edge} body={body_edge} {device} {kind} derived={derived} unassigned={unassigned}"
        )
        assert answer.status_code == status, f"{case}: {answer.text}"
        if reason is not None:
            refused[reason] = refused.get(reason, 0) + 1
            error = answer.json()
            assert error["error"] == ("forbidden" if status == 403 else "validation"), case
            field = {"edge_mismatch": "edge_id", "key_not_derived": "key"}.get(reason, "device_id")
            assert error["detail"][0]["field"] == field and error["detail"][0]["message"], case
            assert await _totals(operator) == before, f"{case}: a refused event created something"
            continue
        incident = (await operator.get(f"/api/v1/incidents/{answer.json()['incident_id']}")).json()
        assert incident["unassigned_reason"] == unassigned_reason, case
        assert (incident["subject"] is None) == (unassigned_reason is not None), case
        if unassigned_reason is not None:
            assert incident["edge_id"] == token_edge and incident["severity"] == "P1", case
    metrics = (await operator.get("/metrics")).text
    assert _refusals(metrics) == {reason: float(count) for reason, count in refused.items()}
    assert set(refused) == {"edge_mismatch", "key_not_derived", "wrong_gateway", "unknown_device"}


async def test_an_unassigned_report_cannot_take_the_devices_own_key(
    cloud: RunningCloud, operator: httpx.AsyncClient
) -> None:
    """Gateway B reports card-0005's SOS as unassigned first; gateway A's real SOS with the same key is
    still a new alarm of the person (B's report lives in B's own key space)."""
    sos = {"device_id": "card-0005", "seq": 3, "kind": EventKind.SOS, "derived": True}
    async with cloud.edge_client(OTHER_EDGE_TOKEN) as other:
        early = await other.post(INTAKE, json=_event(edge_id=OTHER_EDGE_ID, unassigned=True, **sos))
    assert early.status_code == 201
    async with cloud.edge_client(EDGE_TOKEN) as edge:
        real = await edge.post(INTAKE, json=_event(edge_id=EDGE_ID, unassigned=False, **sos))
    assert real.status_code == 201 and real.json()["duplicate"] is False
    assert real.json()["incident_id"] != early.json()["incident_id"]
    incident = (await operator.get(f"/api/v1/incidents/{real.json()['incident_id']}")).json()
    assert incident["subject"] is not None and incident["unassigned"] is False


@pytest.mark.parametrize("boot", [0, 7])
async def test_a_different_message_under_a_taken_key_is_a_new_alarm(
    cloud: RunningCloud, operator: httpx.AsyncClient, boot: int
) -> None:
    """Old firmware restarted its counter while the edge had already forgotten the first message: the
    same key, another digest. The center stores it under the variant key instead of calling it a copy."""
    first = _event(
        edge_id=EDGE_ID,
        device_id="card-0006",
        seq=5,
        kind=EventKind.SOS,
        derived=True,
        unassigned=False,
        boot=boot,
    )
    first["digest"] = "0000000000000001"
    second = {**first, "digest": "0000000000000002", "device_ts": first["device_ts"] + 60_000}
    async with cloud.edge_client() as edge:
        one = await edge.post(INTAKE, json=first)
        close = await operator.post(f"/api/v1/incidents/{one.json()['incident_id']}/false-alarm")
        assert close.status_code == 200
        copy = await edge.post(INTAKE, json=first)
        two = await edge.post(INTAKE, json=second)
        two_again = await edge.post(
            INTAKE, json={**second, "key": variant_key(first["key"], second["digest"])}
        )
    assert (one.status_code, copy.status_code, two.status_code, two_again.status_code) == (201, 200, 201, 200)
    assert two.json()["incident_id"] != one.json()["incident_id"] == copy.json()["incident_id"]
    assert two_again.json()["incident_id"] == two.json()["incident_id"]
    incident = (await operator.get(f"/api/v1/incidents/{two.json()['incident_id']}")).json()
    assert incident["origin_key"] == variant_key(first["key"], "0000000000000002")
    assert incident["status"] == "new"


async def test_a_cancel_after_a_counter_restart_cancels_the_latest_press(
    cloud: RunningCloud, operator: httpx.AsyncClient
) -> None:
    """The press stored under the variant key is the one the device's cancel means (its ``ref_key`` is
    the taken key): it is cancelled, not the closed alarm of the first life of the counter."""
    first = _event(
        edge_id=EDGE_ID, device_id="card-0007", seq=5, kind=EventKind.SOS, derived=True, unassigned=False
    )
    first["digest"] = "0000000000000001"
    second = {**first, "digest": "0000000000000002", "device_ts": first["device_ts"] + 60_000}
    cancel = EdgeEvent(
        key=event_key("card-0007", 6),
        edge_id=EDGE_ID,
        device_id="card-0007",
        seq=6,
        kind=EventKind.SOS_CANCEL,
        severity=Severity.P1,
        device_ts=second["device_ts"] + 5_000,
        edge_ts=second["device_ts"] + 5_100,
        ref_key=first["key"],
    ).model_dump(mode="json", exclude_none=True)
    async with cloud.edge_client() as edge:
        one = await edge.post(INTAKE, json=first)
        closed = await operator.post(f"/api/v1/incidents/{one.json()['incident_id']}/false-alarm")
        assert closed.status_code == 200
        two = await edge.post(INTAKE, json=second)
        assert two.status_code == 201 and two.json()["incident_id"] != one.json()["incident_id"]
        answer = await edge.post(INTAKE, json=cancel)
    assert answer.status_code == 201, answer.text
    assert answer.json()["incident_id"] == two.json()["incident_id"]
    latest = (await operator.get(f"/api/v1/incidents/{two.json()['incident_id']}")).json()
    earlier = (await operator.get(f"/api/v1/incidents/{one.json()['incident_id']}")).json()
    assert (latest["status"], earlier["status"]) == ("cancelled", "false_alarm")


async def test_an_unassigned_alarm_reaches_operators_of_every_scope(cloud: RunningCloud) -> None:
    """No person, so no street: an operator of two streets (op-two) gets it on the live stream, in the
    queue and in the detail, and can claim it; a person's alarm outside those streets stays out of sight."""
    stranger = _event(
        edge_id=EDGE_ID, device_id="stranger-77", seq=1, kind=EventKind.SOS, derived=True, unassigned=False
    )
    async with cloud.staff_client("op-two") as scoped, cloud.edge_client(EDGE_TOKEN) as edge:
        async with scoped.stream("GET", "/api/v1/stream", timeout=httpx.Timeout(10, read=None)) as stream:
            reader = SseReader(stream)
            await reader.comment()
            answer = await edge.post(INTAKE, json=stranger)
            assert answer.status_code == 201, answer.text
            created = await reader.until("incident.created")
        incident_id = int(answer.json()["incident_id"])
        assert created.data["id"] == incident_id and created.data["unassigned"] is True
        assert incident_id in [i["id"] for i in (await scoped.get("/api/v1/incidents")).json()]
        detail = await scoped.get(f"/api/v1/incidents/{incident_id}")
        assert detail.status_code == 200 and detail.json()["subject"] is None
        claim = await scoped.post(
            f"/api/v1/incidents/{incident_id}/acknowledge", json={"version": detail.json()["version"]}
        )
        assert claim.status_code == 200, claim.text
        assert claim.json()["owner"] == "op-two"
        plan = await scoped.get(f"/api/v1/incidents/{incident_id}/response-plan")
        assert plan.status_code == 404  # no person, so no plan (the console says so)
    async with cloud.operator_client() as admin:
        streets = {s["id"]: s["code"] for s in (await admin.get("/api/v1/streets")).json()}
        subjects = (await admin.get("/api/v1/subjects", params={"limit": 500})).json()
    outside = next(
        s["device_ids"][0]
        for s in subjects
        if streets[s["community"]["street_id"]] not in OP_TWO_STREETS and s["device_ids"]
    )
    async with cloud.staff_client("op-two") as scoped, cloud.edge_client(EDGE_TOKEN) as edge:
        theirs = await edge.post(
            INTAKE,
            json=_event(
                edge_id=EDGE_ID, device_id=outside, seq=1, kind=EventKind.SOS, derived=True, unassigned=False
            ),
        )
        assert theirs.status_code == 201, theirs.text
        hidden = int(theirs.json()["incident_id"])
        assert hidden not in [i["id"] for i in (await scoped.get("/api/v1/incidents")).json()]
        assert (await scoped.get(f"/api/v1/incidents/{hidden}")).status_code == 404
