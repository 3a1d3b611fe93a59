from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from cloud.auth.access import Role
from cloud.settings import PASSWORD_MIN_LEN, refuse_placeholder

Username = Annotated[str, Field(min_length=2, max_length=32, pattern=r"^[a-z0-9][a-z0-9_.\-]*$")]
DisplayName = Annotated[str, Field(min_length=1, max_length=64)]
StreetCode = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_\-]+$")]


def _real_password(value: str) -> str:
    return refuse_placeholder(value, what="password", min_len=PASSWORD_MIN_LEN)


NewPassword = Annotated[str, Field(max_length=256), AfterValidator(_real_password)]


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, Field(min_length=1, max_length=32)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class OperatorOut(BaseModel):
    """The signed-in staff member (``GET /api/v1/auth/me``)."""

    username: str
    display_name: str
    role: Role
    all_streets: bool
    street_ids: list[int]


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: Username
    display_name: DisplayName
    role: Role = Role.OPERATOR
    password: NewPassword
    all_streets: bool = False
    streets: Annotated[list[StreetCode], Field(max_length=32)] = []


class AccountPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    display_name: DisplayName | None = None
    role: Role | None = None
    password: NewPassword | None = None
    all_streets: bool | None = None
    streets: Annotated[list[StreetCode], Field(max_length=32)] | None = None
    active: bool | None = None


class AccountOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    all_streets: bool
    streets: list[str]  # street codes
    active: bool
    created_at: int
    updated_at: int


class StaffOut(BaseModel):
    """What any signed-in person may know about a colleague (to hand an incident over)."""

    username: str
    display_name: str
    role: Role
