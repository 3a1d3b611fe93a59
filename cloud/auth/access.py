"""Who may do what, pure: roles, street scope, and the signed-in staff member. No I/O.

Roles are ordered: an ``operator`` answers alarms in their streets; a ``supervisor`` also reassigns
anyone's incidents, receives escalations and reads reports; an ``admin`` also manages accounts and the
registry. A street scope is one, several or all of the district's streets (``streets is None`` = all).
Anything outside a person's scope does not exist for them: the API answers 404, not 403.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


_RANK = {Role.OPERATOR: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}


@dataclass(frozen=True, slots=True)
class Staff:
    """The signed-in account, as every route sees it."""

    id: int
    username: str
    display_name: str
    role: Role
    streets: frozenset[int] | None  # None: every street
    session_id: str = ""

    def at_least(self, role: Role) -> bool:
        return _RANK[self.role] >= _RANK[role]

    def sees_street(self, street_id: int | None) -> bool:
        return self.streets is None or (street_id is not None and street_id in self.streets)

    def street_filter(self) -> frozenset[int] | None:
        """Street ids to restrict queries to, or None for no restriction."""
        return self.streets


def scope_of(all_streets: bool, street_ids: Iterable[int]) -> frozenset[int] | None:
    return None if all_streets else frozenset(street_ids)
