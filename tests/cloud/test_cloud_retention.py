"""Retention at the center: the pure policy, and the purge job on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from cloud.commands.models import CommandRecord
from cloud.db import Database, open_database
from cloud.incidents.models import Incident
from cloud.intake.models import EventRecord
from cloud.notify.models import ConsoleSms, GuardianReply, Notification
from cloud.registry import service
from cloud.registry.models import Guardian
from cloud.registry.schemas import SubjectIn
from cloud.retention.policy import DAY_MS, RetentionPolicy
from cloud.retention.purge import RetentionJob, purge_expired
from cloud.timeline.models import TimelineEntry

NOW = 1_800_000_000_000
POLICY = RetentionPolicy(incident_days=365)


def test_policy_expires_only_closed_incidents_past_the_cutoff() -> None:
    old, recent = NOW - 366 * DAY_MS, NOW - 364 * DAY_MS
    assert POLICY.incident_cutoff_ms(NOW) == NOW - 365 * DAY_MS
    for status in ("resolved", "cancelled", "false_alarm"):
        assert POLICY.incident_expired(status=status, updated_at_ms=old, now_ms=NOW)
        assert not POLICY.incident_expired(status=status, updated_at_ms=recent, now_ms=NOW)
    for status in ("new", "acknowledged", "dispatched"):  # an open incident is never purged
        assert not POLICY.incident_expired(status=status, updated_at_ms=0, now_ms=NOW)
    assert RetentionPolicy().incident_days == 365
    with pytest.raises(ValueError):
        RetentionPolicy(incident_days=0)


async def _world(db: Database) -> dict[str, int]:
    """Incidents with every kind of dependent row: closed+old, closed+recent, open+old."""
    old, recent = NOW - 400 * DAY_MS, NOW - 10 * DAY_MS
    ids: dict[str, int] = {}
    async with db.sessions() as session:
        await service.seed_district(session=session)
        subject = await service.create_subject(
            session=session,
            data=SubjectIn(display_name="李桂兰", birth_year=1941, community_id=1),
            now_ms=old,
        )
        guardian = Guardian(
            subject_id=subject.id, name="李强", phone="+8613900000001", relation="儿子", created_at=old
        )
        session.add(guardian)
        for name, status, updated in (
            ("gone", "resolved", old),
            ("kept", "cancelled", recent),
            ("open", "new", old),
        ):
            incident = Incident(
                kind="sos", severity="P1", status=status, subject_id=subject.id, fusion_key=name,
                device_id="card-0001", edge_id="edge-1", origin_key=f"card-0001:{name}", origin_seq=1,
                device_ts=updated, edge_ts=updated, cloud_ts=updated, updated_at=updated,
            )  # fmt: skip
            session.add(incident)
            await session.flush()
            ids[name] = incident.id
            session.add_all(
                [
                    TimelineEntry(incident_id=incident.id, at=updated, type="created", actor="edge"),
                    EventRecord(
                        key=f"card-0001:{name}",
                        edge_id="edge-1",
                        device_id="card-0001",
                        seq=1,
                        kind="sos",
                        severity="P1",
                        device_ts=updated,
                        edge_ts=updated,
                        cloud_ts=updated,
                        incident_id=incident.id,
                        payload={},
                    ),
                    Notification(
                        incident_id=incident.id,
                        guardian_id=guardian.id,
                        to_phone="+8613900000001",
                        language="zh",
                        body="李** SOS",
                        status="sent",
                        next_attempt_at=updated,
                        created_at=updated,
                    ),
                    GuardianReply(
                        provider_message_id=f"SM{name}",
                        channel="console",
                        guardian_id=guardian.id,
                        incident_id=incident.id,
                        result="acknowledged",
                        body="1",
                        received_at=updated,
                    ),
                    CommandRecord(
                        edge_id="edge-1",
                        device_id="card-0001",
                        incident_id=incident.id,
                        downlink={},
                        created_at=updated,
                        acked_at=updated,
                    ),
                ]
            )
        session.add_all(
            [
                ConsoleSms(message_id="old", to_phone="+8613900000001", body="x", sent_at=old),
                ConsoleSms(message_id="new", to_phone="+8613900000001", body="y", sent_at=recent),
                CommandRecord(
                    edge_id="edge-1", device_id="card-0001", downlink={}, created_at=old, acked_at=old
                ),
                CommandRecord(
                    edge_id="edge-1", device_id="card-0001", downlink={}, created_at=old
                ),  # not acked
            ]
        )
        await session.commit()
    return ids


async def _count(db: Database, model: type, **where: object) -> int:
    async with db.sessions() as session:
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return int(await session.scalar(query) or 0)


async def test_purge_removes_expired_incidents_with_everything_that_hangs_off_them(tmp_path: Path) -> None:
    db = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}")
    try:
        ids = await _world(db)
        result = await purge_expired(sessions=db.sessions, policy=POLICY, now_ms=NOW)
        assert (result.incidents, result.console_sms, result.commands) == (1, 1, 1)
        async with db.sessions() as session:
            left = set(await session.scalars(select(Incident.id)))
        assert left == {ids["kept"], ids["open"]}
        for model in (TimelineEntry, EventRecord, Notification, GuardianReply):
            assert await _count(db, model, incident_id=ids["gone"]) == 0, model.__name__
            assert await _count(db, model, incident_id=ids["kept"]) == 1, model.__name__
            assert await _count(db, model, incident_id=ids["open"]) == 1, model.__name__
        assert await _count(db, ConsoleSms) == 1
        assert await _count(db, CommandRecord) == 3  # kept's, open's, and the unacknowledged one
        job = RetentionJob(sessions=db.sessions, policy=POLICY, now_ms=lambda: NOW, interval_s=3600)
        again = await job.run_once()
        assert (again.incidents, again.console_sms, again.commands, job.runs) == (0, 0, 0, 1)
    finally:
        await db.close()
