"""Fusion: open an incident for an event, or join the subject's open incident of the same kind.

Fusion says when the guardians must be alerted (``Opened.alert_guardians``); the intake use case
queues the SMS. An unassigned alarm (no subject: see ``cloud.incidents.models``) joins the open unassigned
incident of the same device, gateway and kind, and alerts no guardian. Functions flush and never commit
(the intake request commits once); a join leaves its changes to the caller's next flush.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Insert,
    Row,
    Select,
    Table,
    bindparam,
    insert,
    inspect,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key

from cloud.incidents import lifecycle
from cloud.incidents.lifecycle import IncidentKind, Status
from cloud.incidents.models import Incident
from cloud.incidents.presentation import SUBJECT_SUMMARY_COLUMNS, subject_summary, with_subject_summary
from cloud.registry.models import Subject
from cloud.registry.schemas import SubjectSummary
from cloud.timeline.entries import DEVICE_ACTOR, EDGE_ACTOR, SYSTEM_ACTOR, add_entry
from cloud.timeline.models import TimelineEntry
from contracts.intake import EdgeEvent, EventKind, Severity

_DEVICE_KINDS = frozenset({EventKind.SOS, EventKind.SOS_CANCEL, EventKind.FALL_DEVICE, EventKind.PULL_CORD})
_HOME_FIELDS = ("sensor_id", "sensor_kind", "room", "text_en", "text_zh")


def home_report(event: EdgeEvent) -> dict[str, str]:
    """What a home hub reported (sensor, room, the edge's explanation), for the timeline entry."""
    evidence = event.evidence or {}
    return {name: evidence[name] for name in _HOME_FIELDS if isinstance(evidence.get(name), str)}


@dataclass(frozen=True, slots=True)
class Opened:
    incident: Incident
    created: bool
    alert_guardians: bool  # it opened urgent, or just became urgent: text the guardians now


def actor_of(kind: EventKind) -> str:
    return DEVICE_ACTOR if kind in _DEVICE_KINDS else EDGE_ACTOR


def _fix_of(event: EdgeEvent) -> dict[str, Any]:
    """The incident columns ``event``'s position fix sets (none without a fix)."""
    if event.fix is None:
        return {}
    return {
        "last_lat": event.fix.lat,
        "last_lon": event.fix.lon,
        "last_accuracy_m": event.fix.accuracy_m,
        "last_fix_source": event.fix.source.value,
        "last_fix_at": event.device_ts,
    }


def _set_fix(incident: Incident, event: EdgeEvent) -> None:
    for name, value in _fix_of(event).items():
        setattr(incident, name, value)


@dataclass(frozen=True, slots=True)
class Join:
    """What joining ``event`` to an open incident changes (decided before anything is written)."""

    before: Severity
    severity: Severity
    alert_guardians: bool  # it just became urgent: text the guardians now


def join_of(incident_severity: str, event: EdgeEvent, *, assigned: bool) -> Join:
    before = Severity(incident_severity)
    severity = lifecycle.higher_severity(before, event.severity)
    alert = lifecycle.should_notify_guardians(severity) and not lifecycle.should_notify_guardians(before)
    return Join(before=before, severity=severity, alert_guardians=alert and assigned)


def _join_entries(join: Join, event: EdgeEvent, *, stored_key: str, now_ms: int) -> list[dict[str, Any]]:
    """The timeline entries of a join, in order (``add_entry``'s arguments)."""
    actor = actor_of(event.kind)
    entries: list[dict[str, Any]] = []
    if join.severity != join.before:
        entries.append(
            {"at": now_ms, "type_": "severity_raised", "actor": actor, "severity": join.severity.value}
        )
    entries.append(
        {
            "at": now_ms,
            "type_": "event_joined",
            "actor": actor,
            "key": stored_key,
            "event": event.kind.value,
            "device_id": event.device_id,
            "device_ts": event.device_ts,
            **home_report(event),
        }
    )
    return entries


_incidents_t = cast(Table, Incident.__table__)
_timeline_t = cast(Table, TimelineEntry.__table__)
_INCIDENT_COLUMNS = tuple(column.key for column in _incidents_t.c)
_OPEN_ROW_BESIDE: dict[str, Select[Any]] = {}  # per dialect: built once each


def open_row_beside(dialect: str, select_from: Table, subject_id: ColumnElement[Any]) -> Select[Any]:
    """A statement reading ``select_from`` (the caller adds its columns and ``WHERE``) beside the open
    incident of ``fusion_key`` of the subject ``subject_id`` names, read as :func:`find_open` reads and
    locks it: the incident's columns first, then the person's summary; all NULL when there is none. On
    PostgreSQL a ``LATERAL`` subquery (a lock cannot take the nullable side of an outer join), elsewhere
    outer joins. Built once per dialect: the intake's hot path reads its device this way."""
    statement = _OPEN_ROW_BESIDE.get(dialect)
    if statement is not None:
        return statement
    subjects = cast(Table, Subject.__table__)
    if dialect == "postgresql":
        found = (
            with_subject_summary(
                select(_incidents_t, *SUBJECT_SUMMARY_COLUMNS)
                .select_from(_incidents_t)
                .join(subjects, subjects.c.id == _incidents_t.c.subject_id)
            )
            .where(
                _incidents_t.c.subject_id == subject_id, _incidents_t.c.fusion_key == bindparam("fusion_key")
            )
            .with_for_update(of=_incidents_t, key_share=True)
            .lateral("open_incident")
        )
        statement = select(*found.c).select_from(select_from.outerjoin(found, true()))
    else:
        statement = with_subject_summary(
            select(_incidents_t, *SUBJECT_SUMMARY_COLUMNS)
            .select_from(select_from)
            .outerjoin(
                _incidents_t,
                (_incidents_t.c.subject_id == subject_id)
                & (_incidents_t.c.fusion_key == bindparam("fusion_key")),
            )
            .outerjoin(subjects, subjects.c.id == _incidents_t.c.subject_id),
            outer=True,
        )
    _OPEN_ROW_BESIDE[dialect] = statement
    return statement


def open_row_of(session: AsyncSession, row: Row[Any]) -> OpenRow | None:
    """The open incident in ``row`` (read by a statement of :func:`open_row_beside`); None when there is
    none, or when the session already holds it as an ORM object (then only the ORM path keeps that object
    right)."""
    if row.id is None or identity_key(Incident, row.id) in session.sync_session.identity_map:
        return None
    return OpenRow(row=row, subject=subject_summary(row.subject_id, row))


_JOIN_UPDATE = update(_incidents_t).where(_incidents_t.c.id == bindparam("incident_id"))
_ADD_ENTRY = insert(_timeline_t)
_ONE_STATEMENT_JOINS: dict[tuple[str, ...], Insert] = {}  # per record table and columns: built once each


_INSERTS: dict[str, Insert] = {}


def _insert_into(table: Table) -> Insert:
    statement = _INSERTS.get(table.name)
    if statement is None:
        statement = _INSERTS[table.name] = insert(table)
    return statement


def _one_statement_join(record: Table, changes: Iterable[str], fields: Iterable[str]) -> Insert:
    """PostgreSQL: the incident's update and its timeline entry as data-modifying CTEs of the record's
    ``INSERT`` — one round trip instead of three, the same rows (a failing part fails the whole)."""
    changes, fields = tuple(changes), tuple(fields)
    shape = (record.name, *changes, "|", *fields)
    statement = _ONE_STATEMENT_JOINS.get(shape)
    if statement is None:
        joined = (
            update(_incidents_t)
            .where(_incidents_t.c.id == bindparam("incident_id"))
            .values({name: bindparam(f"incident_{name}") for name in changes})
            .cte("joined")
        )
        entry = (
            insert(_timeline_t)
            .values(
                incident_id=bindparam("incident_id"),
                at=bindparam("entry_at"),
                type=bindparam("entry_type"),
                actor=bindparam("entry_actor"),
                text="",
                data=bindparam("entry_data"),
            )
            .cte("entry")
        )
        statement = (
            insert(record)
            .values({name: bindparam(f"record_{name}") for name in fields})
            .add_cte(joined)
            .add_cte(entry)
        )
        _ONE_STATEMENT_JOINS[shape] = statement
    return statement


@dataclass(frozen=True, slots=True)
class OpenRow:
    """A subject's open incident read as a plain row (locked for the transaction), not an ORM object."""

    row: Row[Any]
    subject: SubjectSummary

    @property
    def id(self) -> int:
        return int(self.row.id)

    @property
    def owner(self) -> str | None:
        return self.row.owner  # type: ignore[no-any-return]


async def join_row(
    *,
    session: AsyncSession,
    found: OpenRow,
    join: Join,
    event: EdgeEvent,
    now_ms: int,
    stored_key: str,
    record: Table,
    record_values: Mapping[str, Any],
) -> Incident:
    """Join ``event`` to the incident ``found`` with Core statements: exactly what the ORM join writes
    (:func:`open_or_join`), without loading the incident as an ORM object; then insert ``record_values``
    into ``record`` (the event's own row, whose ``incident_id`` the caller sets). Returns a detached copy of
    the incident as written (not in the session: for presenting it)."""
    changes = {
        "severity": join.severity.value,
        "event_count": found.row.event_count + 1,  # the row is locked (SQLite: the write lock)
        "last_event_kind": event.kind.value,
        "updated_at": now_ms,
        **_fix_of(event),
    }
    entries = _join_entries(join, event, stored_key=stored_key, now_ms=now_ms)
    if len(entries) == 1 and session.get_bind().dialect.name == "postgresql":
        entry = entries[0]
        at, type_, actor = entry.pop("at"), entry.pop("type_"), entry.pop("actor")
        params = {
            "incident_id": found.id,
            **{f"incident_{name}": value for name, value in changes.items()},
            "entry_at": at,
            "entry_type": type_,
            "entry_actor": actor,
            "entry_data": entry,
            **{f"record_{name}": value for name, value in record_values.items()},
        }
        await session.execute(_one_statement_join(record, changes, record_values), params)
    else:
        await session.execute(_JOIN_UPDATE, {"incident_id": found.id, **changes})
        for entry in entries:
            at, type_, actor = entry.pop("at"), entry.pop("type_"), entry.pop("actor")
            await session.execute(
                _ADD_ENTRY,
                {"incident_id": found.id, "at": at, "type": type_, "actor": actor, "text": "", "data": entry},
            )
        await session.execute(_insert_into(record), dict(record_values))
    values = dict(zip(_INCIDENT_COLUMNS, found.row[: len(_INCIDENT_COLUMNS)], strict=True))
    return _detached_incident({**values, **changes})


_INCIDENT_MANAGER = inspect(Incident).class_manager


def _detached_incident(values: Mapping[str, Any]) -> Incident:
    """A transient :class:`Incident` holding ``values`` (every column), for reading only: built without
    the ORM constructor's attribute events (≈ 0.1 ms CPU per joined event), as a loaded object's
    attributes are set."""
    incident: Incident = _INCIDENT_MANAGER.new_instance()
    incident.__dict__.update(values)
    return incident


# built once (the intake's hot path); joiners queue on the row (PostgreSQL), SQLite holds the write lock
_OPEN_OF_SUBJECT = (
    select(Incident)
    .where(Incident.subject_id == bindparam("subject_id"), Incident.fusion_key == bindparam("fusion_key"))
    .with_for_update(key_share=True)
)


async def find_open(*, session: AsyncSession, subject_id: int, kind: IncidentKind) -> Incident | None:
    return await session.scalar(_OPEN_OF_SUBJECT, {"subject_id": subject_id, "fusion_key": kind.value})


async def find_open_unassigned(
    *, session: AsyncSession, device_id: str, edge_id: str, kind: IncidentKind
) -> Incident | None:
    return await session.scalar(
        select(Incident)
        .where(
            Incident.subject_id.is_(None),
            Incident.device_id == device_id,
            Incident.edge_id == edge_id,
            Incident.fusion_key == kind.value,
        )
        .order_by(Incident.id)
        .limit(1)
        .with_for_update()
    )


async def open_or_join(
    *, session: AsyncSession, event: EdgeEvent, subject_id: int, now_ms: int, stored_key: str | None = None
) -> Opened:
    """Open an incident for ``event``, or add it to the subject's open incident of the same kind.
    ``stored_key``: the key the event is stored under, when not its own (a variant key)."""
    kind = lifecycle.incident_kind_of(event.kind)
    incident = await find_open(session=session, subject_id=subject_id, kind=kind)
    return await _open_or_join(
        session,
        incident,
        event,
        subject_id=subject_id,
        stored_key=stored_key or event.key,
        reason=None,
        now_ms=now_ms,
    )


async def open_or_join_unassigned(
    *, session: AsyncSession, event: EdgeEvent, stored_key: str, reason: str, now_ms: int
) -> Opened:
    """Open (or join) the unassigned incident of ``event``'s device at its gateway: no subject, no SMS."""
    kind = lifecycle.incident_kind_of(event.kind)
    incident = await find_open_unassigned(
        session=session, device_id=event.device_id, edge_id=event.edge_id, kind=kind
    )
    return await _open_or_join(
        session, incident, event, subject_id=None, stored_key=stored_key, reason=reason, now_ms=now_ms
    )


async def _open_or_join(
    session: AsyncSession,
    incident: Incident | None,
    event: EdgeEvent,
    *,
    subject_id: int | None,
    stored_key: str,
    reason: str | None,
    now_ms: int,
) -> Opened:
    kind = lifecycle.incident_kind_of(event.kind)
    actor = actor_of(event.kind)
    if incident is not None:
        join = join_of(incident.severity, event, assigned=subject_id is not None)
        for entry in _join_entries(join, event, stored_key=stored_key, now_ms=now_ms):
            add_entry(session, incident.id, **entry)
        incident.severity = join.severity.value
        incident.event_count += 1
        incident.last_event_kind = event.kind.value
        incident.updated_at = now_ms
        _set_fix(incident, event)
        # not flushed here: the caller's flush writes these with the event's own row (one flush per event)
        return Opened(incident=incident, created=False, alert_guardians=join.alert_guardians)

    incident = Incident(
        kind=kind.value,
        severity=event.severity.value,
        status=Status.NEW.value,
        subject_id=subject_id,
        fusion_key=lifecycle.fusion_key(kind, Status.NEW),
        device_id=event.device_id,
        edge_id=event.edge_id,
        origin_key=stored_key,
        origin_seq=event.seq,
        origin_boot=event.boot,
        unassigned_reason=reason,
        device_ts=event.device_ts,
        edge_ts=event.edge_ts,
        cloud_ts=now_ms,
        updated_at=now_ms,
        event_count=1,
        origin_kind=event.kind.value,
        last_event_kind=event.kind.value,
    )
    _set_fix(incident, event)
    session.add(incident)
    await session.flush()
    add_entry(
        session,
        incident.id,
        at=now_ms,
        type_="created",
        actor=actor,
        key=stored_key,
        event=event.kind.value,
        device_ts=event.device_ts,
        edge_ts=event.edge_ts,
        **home_report(event),
    )
    if reason is not None:
        add_entry(session, incident.id, at=now_ms, type_="unassigned", actor=SYSTEM_ACTOR, reason=reason)
    await session.flush()
    alert = subject_id is not None and lifecycle.should_notify_guardians(event.severity)
    return Opened(incident=incident, created=True, alert_guardians=alert)
