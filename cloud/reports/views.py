"""Reports: the figures as JSON and every incident as CSV, for the caller's streets (drills left out)."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from cloud.deps import SessionDep, StaffDep, StateDep
from cloud.errors import InvalidInput
from cloud.reports import figures, service

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

DAY_MS = 24 * 3600 * 1000
Since = Annotated[int | None, Query(ge=0, description="epoch ms, default: 30 days ago")]
Until = Annotated[int | None, Query(ge=0, description="epoch ms, default: now")]


def _period(state: StateDep, since: int | None, until: int | None) -> tuple[int, int]:
    until_ms = until if until is not None else state.now_ms() + 1
    since_ms = since if since is not None else until_ms - 30 * DAY_MS
    if since_ms >= until_ms:
        raise InvalidInput("since must be before until", field="since")
    return since_ms, until_ms


@router.get("/summary")
async def summary(
    session: SessionDep, state: StateDep, staff: StaffDep, since: Since = None, until: Until = None
) -> dict[str, Any]:
    """Answer-time distribution against 60 s / 180 s, time to guardian and responder, incidents by
    street, kind and outcome, false-alarm rate per device model."""
    since_ms, until_ms = _period(state, since, until)
    rows = await service.incident_rows(
        session=session, since_ms=since_ms, until_ms=until_ms, streets=staff.streets
    )
    return {"since": since_ms, "until": until_ms, **asdict(figures.report(rows))}


@router.get("/incidents.csv", response_class=Response)
async def incidents_csv(
    session: SessionDep, state: StateDep, staff: StaffDep, since: Since = None, until: Until = None
) -> Response:
    """One row per incident (no names, numbers or addresses); times in seconds from the button press."""
    since_ms, until_ms = _period(state, since, until)
    rows = await service.incident_rows(
        session=session, since_ms=since_ms, until_ms=until_ms, streets=staff.streets
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(figures.CSV_COLUMNS)
    writer.writerows(figures.csv_row(r) for r in rows)
    return Response(
        content=out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="anxin-incidents.csv"'},
    )
