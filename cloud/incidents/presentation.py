"""Build the list-item shape of incidents from the tables (the detail is ``cloud.response.detail``)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.incidents.lifecycle import FIRST_STEPS, IncidentKind, Status
from cloud.incidents.models import Incident
from cloud.incidents.schemas import HomeSensorOut, IncidentItem, LocationOut
from cloud.registry.models import Community, Device, Street, Subject, mask_name
from cloud.registry.schemas import SubjectKind, SubjectSummary
from cloud.timeline.models import TimelineEntry
from contracts.home import ROOM_LABEL, Room
from contracts.intake import Severity

_KINDS = frozenset(k.value for k in IncidentKind)
_ROOMS = frozenset(r.value for r in Room)
_HOME_KINDS = frozenset({"smoke", "gas", "water_leak", "wandering", "door", "inactivity", "sos", "device"})


def _item(
    incident: Incident, subject: SubjectSummary | None, home: HomeSensorOut | None = None
) -> IncidentItem:
    location = None
    # a child's position is shown only after an explicit, audited reveal (POST …/reveal "location"); an
    # unassigned alarm has no person to reveal it for, and the position is how operators find whoever pressed
    hidden = subject is not None and subject.kind is SubjectKind.CHILD and incident.last_lat is not None
    if incident.last_lat is not None and incident.last_lon is not None and not hidden:
        location = LocationOut(
            lat=incident.last_lat,
            lon=incident.last_lon,
            accuracy_m=incident.last_accuracy_m,
            source=incident.last_fix_source,
            at=incident.last_fix_at,
        )
    return IncidentItem(
        id=incident.id,
        kind=incident.kind,
        origin_kind=incident.origin_kind or incident.kind,
        last_event_kind=incident.last_event_kind or incident.origin_kind or incident.kind,
        severity=Severity(incident.severity),
        status=Status(incident.status),
        outcome=incident.outcome,
        subject=subject,
        unassigned=incident.unassigned_reason is not None,
        unassigned_reason=incident.unassigned_reason,
        device_id=incident.device_id,
        edge_id=incident.edge_id,
        origin_key=incident.origin_key,
        device_ts=incident.device_ts,
        edge_ts=incident.edge_ts,
        cloud_ts=incident.cloud_ts,
        acknowledged_at=incident.acknowledged_at,
        dispatched_at=incident.dispatched_at,
        resolved_at=incident.resolved_at,
        guardian_answered_at=incident.guardian_answered_at,
        updated_at=incident.updated_at,
        acknowledged_by=incident.acknowledged_by,
        owner=incident.owner,
        version=incident.version,
        drill=incident.drill,
        responder=incident.responder,
        eta_min=incident.eta_min,
        event_count=incident.event_count,
        last_location=location,
        home=home,
        first_steps=list(FIRST_STEPS.get(IncidentKind(incident.kind), ())) if incident.kind in _KINDS else [],
        location_hidden=hidden,
    )


_subjects_t, _communities_t, _streets_t = Subject.__table__, Community.__table__, Street.__table__
# a person's summary as plain columns (Core, not ORM: this runs for every incident change the operators are
# told about); :func:`subject_summary` reads them; the intake's join reads them with the incident's row
SUBJECT_SUMMARY_COLUMNS = (
    _subjects_t.c.kind.label("subject_kind"),
    _subjects_t.c.display_name.label("subject_display_name"),
    _subjects_t.c.birth_year.label("subject_birth_year"),
    _communities_t.c.name_zh.label("subject_community"),
    _streets_t.c.name_zh.label("subject_street"),
    _communities_t.c.street_id.label("subject_street_id"),
)


def with_subject_summary(statement: Select[Any], *, outer: bool = False) -> Select[Any]:
    """``statement`` (which selects from ``subjects``) joined to what :data:`SUBJECT_SUMMARY_COLUMNS` read
    (``outer``: outer joins, for a statement whose ``subjects`` side may be missing)."""
    return statement.join(
        _communities_t, _communities_t.c.id == _subjects_t.c.community_id, isouter=outer
    ).join(_streets_t, _streets_t.c.id == _communities_t.c.street_id, isouter=outer)


def subject_summary(subject_id: int, row: Any) -> SubjectSummary:
    """The summary of person ``subject_id`` from a row holding :data:`SUBJECT_SUMMARY_COLUMNS`."""
    return SubjectSummary(
        id=subject_id,
        kind=SubjectKind(row.subject_kind),
        masked_name=mask_name(row.subject_display_name),
        birth_year=row.subject_birth_year,
        community=row.subject_community,
        street=row.subject_street,
        street_id=row.subject_street_id,
    )


_SUBJECT_SUMMARIES = (
    with_subject_summary(  # built once: building a statement costs about as much as running it
        select(_subjects_t.c.id, *SUBJECT_SUMMARY_COLUMNS).select_from(_subjects_t)
    ).where(_subjects_t.c.id.in_(bindparam("ids", expanding=True)))
)


async def _subjects(session: AsyncSession, ids: set[int]) -> dict[int, SubjectSummary]:
    """Each person's summary, one row per person."""
    if not ids:
        return {}
    rows = await session.execute(_SUBJECT_SUMMARIES, {"ids": sorted(ids)})
    return {row.id: subject_summary(row.id, row) for row in rows}


class _CreatedEvidence:
    """What each incident's ``created`` timeline entry says about a home sensor (``_EVIDENCE_FIELDS``), kept
    for the most recent incidents: an incident updated again and again (every joined event re-presents it)
    then costs no query for it. Safe to keep across requests and workers: the ``created`` entry is written
    with the incident and never changed, and the key holds the incident's ``origin_key`` (unique), so an
    id SQLite reuses after a purge is a miss."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._known: OrderedDict[tuple[int, str], dict[str, Any]] = OrderedDict()

    def get(self, incident: Incident) -> dict[str, Any] | None:
        found = self._known.get((incident.id, incident.origin_key))
        if found is not None:
            self._known.move_to_end((incident.id, incident.origin_key))
        return found

    def put(self, incident: Incident, data: dict[str, Any]) -> dict[str, Any]:
        kept = {name: data[name] for name in _EVIDENCE_FIELDS if name in data}
        self._known[(incident.id, incident.origin_key)] = kept
        while len(self._known) > self._limit:
            self._known.popitem(last=False)
        return kept


_EVIDENCE_FIELDS = ("sensor_id", "text_zh", "text_en")
_created_evidence = _CreatedEvidence(limit=4096)


async def _evidence(session: AsyncSession, hubs: dict[int, Incident]) -> dict[int, dict[str, Any]]:
    """The home-sensor evidence of each incident's ``created`` entry (from the cache, else one query)."""
    evidence: dict[int, dict[str, Any]] = {}
    for incident_id, incident in hubs.items():
        cached = _created_evidence.get(incident)
        if cached is not None:
            evidence[incident_id] = cached
    missing = [incident_id for incident_id in hubs if incident_id not in evidence]
    if missing:
        rows = await session.scalars(
            select(TimelineEntry).where(
                TimelineEntry.incident_id.in_(missing), TimelineEntry.type == "created"
            )
        )
        for row in rows:
            evidence[row.incident_id] = _created_evidence.put(hubs[row.incident_id], row.data or {})
    return evidence


async def _homes(session: AsyncSession, incidents: Sequence[Incident]) -> dict[int, HomeSensorOut]:
    """For incidents a home hub opened: the sensor its first event named (kept on the ``created`` timeline
    entry), looked up in the registry for its room."""
    hubs = {i.id: i for i in incidents if i.kind in _HOME_KINDS}
    if not hubs:
        return {}
    evidence = await _evidence(session, hubs)
    wanted = {str(e["sensor_id"]) for e in evidence.values() if isinstance(e.get("sensor_id"), str)}
    sensors = (
        {d.device_id: d for d in await session.scalars(select(Device).where(Device.device_id.in_(wanted)))}
        if wanted
        else {}
    )
    found: dict[int, HomeSensorOut] = {}
    for incident_id, ev in evidence.items():
        incident = hubs[incident_id]
        text_zh, text_en = ev.get("text_zh"), ev.get("text_en")
        sensor = sensors.get(str(ev.get("sensor_id")))
        if sensor is not None and sensor.hub_id != incident.device_id:
            sensor = None  # not a sensor of that hub: show no room rather than a wrong one
        if sensor is None and not isinstance(text_en, str):
            continue
        room = Room(sensor.room) if sensor is not None and sensor.room in _ROOMS else None
        found[incident.id] = HomeSensorOut(
            sensor_id=None if sensor is None else sensor.device_id,
            kind=None if sensor is None else sensor.kind,
            room=None if room is None else room.value,
            room_zh=None if room is None else ROOM_LABEL["zh"][room],
            room_en=None if room is None else ROOM_LABEL["en"][room],
            hub_id=incident.device_id,
            text_zh=text_zh if isinstance(text_zh, str) else None,
            text_en=text_en if isinstance(text_en, str) else None,
        )
    return found


async def home_room(*, session: AsyncSession, incident: Incident) -> str | None:
    """The room of the home sensor that raised ``incident`` (None: not a home hub's, or unknown)."""
    home = (await _homes(session, [incident])).get(incident.id)
    return None if home is None else home.room


async def incident_items(
    *,
    session: AsyncSession,
    incidents: Sequence[Incident],
    known: Mapping[int, SubjectSummary] | None = None,
) -> list[IncidentItem]:
    """The list item of each incident; ``known``: summaries of persons already read (by subject id)."""
    known = known or {}
    wanted = {i.subject_id for i in incidents if i.subject_id is not None and i.subject_id not in known}
    subjects = {**known, **await _subjects(session, wanted)}
    homes = await _homes(session, incidents)
    return [
        _item(i, None if i.subject_id is None else subjects[i.subject_id], homes.get(i.id)) for i in incidents
    ]


async def incident_item(*, session: AsyncSession, incident: Incident) -> IncidentItem:
    return (await incident_items(session=session, incidents=[incident]))[0]
