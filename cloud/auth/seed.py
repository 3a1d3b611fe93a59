"""The first accounts: an ``operator`` admin on an empty database; demo staff with the demo district.

``operator`` keeps its historic name (every deployment's first sign-in) and is an admin of all streets:
it creates the real accounts from the admin page. The demo adds a supervisor, an operator for all
streets and one for two streets, all with the operator's password (demo only).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth import accounts
from cloud.auth.access import Role

BOOTSTRAP_USERNAME = "operator"


@dataclass(frozen=True, slots=True)
class SeedAccount:
    username: str
    display_name: str
    role: Role
    streets: tuple[str, ...]  # () = all streets


DEMO_STAFF = (
    SeedAccount("supervisor", "值班主任 Supervisor", Role.SUPERVISOR, ()),
    SeedAccount("op-all", "接警员 全区 Operator (all streets)", Role.OPERATOR, ()),
    SeedAccount(
        "op-two", "接警员 西营门/李七庄 Operator (2 streets)", Role.OPERATOR, ("xiyingmen", "liqizhuang")
    ),
)
BOOTSTRAP = SeedAccount(BOOTSTRAP_USERNAME, "管理员 Administrator", Role.ADMIN, ())


async def seed_staff(*, session: AsyncSession, password_hash: str, demo: bool, now_ms: int) -> list[str]:
    """Create the bootstrap admin (and the demo staff) when there is no account yet; their usernames."""
    if await accounts.count_accounts(session=session):
        return []
    seeds = (BOOTSTRAP, *DEMO_STAFF) if demo else (BOOTSTRAP,)
    for seed in seeds:
        await accounts.create_account(
            session=session,
            username=seed.username,
            display_name=seed.display_name,
            role=seed.role,
            password_hash=password_hash,
            all_streets=not seed.streets,
            street_codes=seed.streets,
            now_ms=now_ms,
        )
    return [s.username for s in seeds]
