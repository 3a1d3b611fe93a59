"""Who the edge may text itself when the district center cannot be reached (degraded mode).

The cloud's registry snapshot (``GET /api/v1/edges/{edge_id}/devices``) gives each device its person's
masked name (surname + ``**``, never the full name) and guardians: :class:`GuardianContact`. When an
edge texted guardians itself, the event it later delivers names them (:class:`EdgeNotice` in
``EdgeEvent.edge_notified``) so the cloud does not text the same guardian a second time.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

E164_PATTERN = r"^\+[1-9]\d{7,14}$"
MAX_GUARDIANS = 20

MaskedName = Annotated[str, Field(min_length=2, max_length=66, pattern=r"\*\*$")]


class GuardianContact(BaseModel):
    """One guardian of a person, as the edge needs it to send an SMS."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    guardian_id: Annotated[int, Field(ge=1)]
    phone: Annotated[str, Field(pattern=E164_PATTERN)]
    language: Literal["zh", "en"] = "zh"
    priority: Annotated[int, Field(ge=1, le=99)] = 1


class EdgeNotice(BaseModel):
    """A guardian the edge texted itself (the cloud had not confirmed the alarm in time)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    guardian_id: Annotated[int, Field(ge=1)]
    at_ms: Annotated[int, Field(ge=0, description="gateway clock when the SMS was accepted, epoch ms")]
    channel: Literal["sms"] = "sms"
