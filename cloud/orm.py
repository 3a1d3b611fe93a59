"""SQLAlchemy declarative base shared by every domain package's ``models.py``.

Times are stored as integer epoch milliseconds (UTC): exact to the millisecond on SQLite and
PostgreSQL alike, and the same unit as the wire contract.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

EpochMs = BigInteger


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def load_all_models() -> MetaData:
    """Import every domain's models so ``Base.metadata`` is complete (for Alembic)."""
    from cloud.auth import models as _auth
    from cloud.commands import models as _commands
    from cloud.drills import models as _drills
    from cloud.escalation import models as _escalation
    from cloud.incidents import models as _incidents
    from cloud.intake import models as _intake
    from cloud.notify import models as _notify
    from cloud.plans import models as _plans
    from cloud.registry import models as _registry
    from cloud.timeline import models as _timeline

    del _auth, _commands, _drills, _escalation, _incidents, _intake, _notify, _plans, _registry, _timeline
    return Base.metadata
