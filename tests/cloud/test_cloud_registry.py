"""Registry API over real HTTP: validation naming the field, edge snapshot, demo district."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import httpx
from cloud_harness import OTHER_EDGE_TOKEN, RunningCloud, StartCloud

from cloud.registry.demo import demo_devices
from cloud.registry.district import XIQING_STREETS
from cloud.registry.secrets import matches


async def test_district_and_demo_are_loaded(operator: httpx.AsyncClient, edge: httpx.AsyncClient) -> None:
    streets = (await operator.get("/api/v1/streets")).json()
    assert [s["name_zh"] for s in streets] == [s[1] for s in XIQING_STREETS]
    assert all(2 <= len(s["communities"]) <= 3 for s in streets)
    snapshot = (await edge.get("/api/v1/edges/edge-xiqing-01/devices")).json()
    assert sorted((d["device_id"], d["kind"]) for d in snapshot) == sorted(
        (d, k.value) for d, k in demo_devices()
    )
    subjects = (await operator.get("/api/v1/subjects", params={"limit": 500})).json()
    assert len(subjects) == 43
    assert sum(s["kind"] == "child" for s in subjects) == 3


async def test_create_subject_device_and_guardian(
    operator: httpx.AsyncClient, edge: httpx.AsyncClient
) -> None:
    created = await operator.post(
        "/api/v1/subjects",
        json={
            "display_name": "欧阳秀兰",
            "birth_year": 1938,
            "community_id": 2,
            "address": "梨园头社区 3号楼",
            "care_notes": "独居",
        },
    )
    assert created.status_code == 201, created.text
    subject = created.json()
    assert subject["masked_name"] == "欧阳**"
    assert subject["community"]["street"] == "西营门街道"
    device = await operator.post(
        "/api/v1/devices",
        json={
            "device_id": "card-9001",
            "kind": "sos_card",
            "subject_id": subject["id"],
            "edge_id": "edge-xiqing-01",
        },
    )
    assert device.status_code == 201
    guardian = await operator.post(
        f"/api/v1/subjects/{subject['id']}/guardians",
        json={"name": "欧阳明", "phone": "+8613900001111", "relation": "儿子", "priority": 1},
    )
    assert guardian.status_code == 201
    assert (await operator.get(f"/api/v1/subjects/{subject['id']}")).json()["device_ids"] == ["card-9001"]
    guardians = (await operator.get(f"/api/v1/subjects/{subject['id']}/guardians")).json()
    assert [(g["phone"], g["relation"], g["language"]) for g in guardians] == [
        ("+8613900001111", "儿子", "zh")
    ]
    snapshot = (await edge.get("/api/v1/edges/edge-xiqing-01/devices")).json()
    [entry] = [d for d in snapshot if d["device_id"] == "card-9001"]
    assert (entry["kind"], entry["subject_id"]) == ("sos_card", subject["id"])
    assert entry["care_plan"]["vitals"]["hr_high_bpm"] == 130  # no plan stored: the defaults


async def test_a_new_device_gets_its_broker_secret_once_and_the_center_keeps_only_a_hash(
    cloud: RunningCloud, operator: httpx.AsyncClient
) -> None:
    body = {"device_id": "card-9002", "kind": "sos_card", "subject_id": 1, "edge_id": "edge-xiqing-01"}
    created = await operator.post("/api/v1/devices", json=body)
    assert created.status_code == 201, created.text
    answer = created.json()
    secret = answer["mqtt_secret"]
    assert answer["mqtt_username"] == "card-9002" and len(secret) >= 24
    listed = await operator.get("/api/v1/devices", params={"limit": 500})
    assert secret not in listed.text and "mqtt_secret" not in listed.text
    database = Path(cloud.settings.database_url.removeprefix("sqlite+aiosqlite:///"))
    stored = _stored_hash(database, "card-9002")
    assert stored != secret and matches(secret, stored)
    assert secret.encode() not in await asyncio.to_thread(_database_bytes, database)  # nor in the WAL
    rotated = await operator.post("/api/v1/devices/card-9002/secret")
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["mqtt_secret"]
    assert new_secret != secret and matches(new_secret, _stored_hash(database, "card-9002"))
    assert (await operator.post("/api/v1/devices/card-0000/secret")).status_code == 404
    async with httpx.AsyncClient(base_url=cloud.url) as anonymous:
        assert (await anonymous.post("/api/v1/devices/card-9002/secret")).status_code == 401


def _database_bytes(database: Path) -> bytes:
    return b"".join(path.read_bytes() for path in database.parent.glob(database.name + "*"))


def _stored_hash(database: Path, device_id: str) -> str:
    with contextlib.closing(sqlite3.connect(database)) as conn:
        row = conn.execute(
            "SELECT mqtt_secret_hash FROM devices WHERE device_id = ?", (device_id,)
        ).fetchone()
    return str(row[0])


async def test_registry_validation_names_the_field(operator: httpx.AsyncClient) -> None:
    cases = [
        (
            "/api/v1/subjects",
            {"display_name": "王", "birth_year": 1800, "community_id": 1},
            422,
            "birth_year",
        ),
        (
            "/api/v1/subjects",
            {"display_name": "王", "birth_year": 1950, "community_id": 999},
            422,
            "community_id",
        ),
        ("/api/v1/subjects", {"display_name": "王", "birth_year": 1950, "community_id": 1, "x": 1}, 422, "x"),
        (
            "/api/v1/devices",
            {"device_id": "bad/id", "kind": "sos_card", "subject_id": 1, "edge_id": "e"},
            422,
            "device_id",
        ),
        (
            "/api/v1/devices",
            {"device_id": "ok-1", "kind": "phone", "subject_id": 1, "edge_id": "e"},
            422,
            "kind",
        ),
        (
            "/api/v1/devices",
            {"device_id": "ok-1", "kind": "sos_card", "subject_id": 999, "edge_id": "e"},
            422,
            "subject_id",
        ),
        (
            "/api/v1/devices",
            {"device_id": "card-0001", "kind": "sos_card", "subject_id": 1, "edge_id": "e"},
            409,
            "device_id",
        ),
        (
            "/api/v1/subjects/1/guardians",
            {"name": "李", "phone": "13800001234", "relation": "儿子"},
            422,
            "phone",
        ),
        (
            "/api/v1/subjects/1/guardians",
            {"name": "李", "phone": "+8613800001234", "relation": "老板"},
            422,
            "relation",
        ),
        (
            "/api/v1/subjects/1/guardians",
            {"name": "李", "phone": "+8613800001234", "relation": "儿子", "language": "fr"},
            422,
            "language",
        ),
        (
            "/api/v1/subjects/999/guardians",
            {"name": "李", "phone": "+8613800001234", "relation": "儿子"},
            404,
            "subject_id",
        ),
    ]
    for path, body, status, field in cases:
        response = await operator.post(path, json=body)
        assert response.status_code == status, (path, body, response.text)
        assert response.json()["detail"][0]["field"] == field, (path, body, response.text)
    assert (await operator.get("/api/v1/subjects/999")).status_code == 404
    assert (await operator.get("/api/v1/subjects", params={"limit": 0})).json()["detail"][0][
        "field"
    ] == "limit"


async def test_edge_snapshot_needs_that_edges_token(cloud: RunningCloud) -> None:
    async with cloud.edge_client(OTHER_EDGE_TOKEN) as other:
        assert (await other.get("/api/v1/edges/edge-xiqing-01/devices")).status_code == 403
        assert (await other.get("/api/v1/edges/edge-other/devices")).json() == []
    async with cloud.client() as anonymous:
        assert (await anonymous.get("/api/v1/edges/edge-xiqing-01/devices")).status_code == 401


async def test_restart_keeps_data_and_does_not_reseed(start_cloud: StartCloud) -> None:
    async with start_cloud() as cloud, cloud.operator_client() as operator:
        before = (await operator.get("/api/v1/subjects", params={"limit": 500})).json()
    async with start_cloud() as cloud, cloud.operator_client() as operator:
        after = (await operator.get("/api/v1/subjects", params={"limit": 500})).json()
        streets = (await operator.get("/api/v1/streets")).json()
    assert after == before
    assert len(streets) == 11


async def test_without_demo_data_only_the_district_is_loaded(start_cloud: StartCloud) -> None:
    async with start_cloud(demo_data=False) as cloud, cloud.operator_client() as operator:
        assert (await operator.get("/api/v1/subjects")).json() == []
        assert len((await operator.get("/api/v1/streets")).json()) == 11
