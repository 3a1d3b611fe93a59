"""Registry tables: streets/towns, communities, subjects (elders and children), devices, guardians."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloud.orm import Base, EpochMs

COMPOUND_SURNAMES = frozenset(
    {
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "令狐",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
    }
)


def mask_name(name: str) -> str:
    """Surname + ``**``: ``王秀英`` -> ``王**``, ``欧阳明`` -> ``欧阳**``, ``Mary Smith`` -> ``Smith**``."""
    name = name.strip()
    if not name:
        return "**"
    if " " in name:
        return name.split()[-1] + "**"
    if name[:2] in COMPOUND_SURNAMES:
        return name[:2] + "**"
    return name[0] + "**"


class Street(Base):
    __tablename__ = "streets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    communities: Mapped[list[Community]] = relationship(back_populates="street", order_by="Community.id")


class Community(Base):
    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("street_id", "name_zh"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("streets.id"), index=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    street: Mapped[Street] = relationship(back_populates="communities")


class Subject(Base):
    """A person under care: an elder (助老卡/wearable) or a child (child monitor)."""

    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # elder | child
    display_name: Mapped[str] = mapped_column(String(64))
    birth_year: Mapped[int] = mapped_column(Integer)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    care_notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(EpochMs)
    community: Mapped[Community] = relationship()

    @property
    def masked_name(self) -> str:
        return mask_name(self.display_name)


class Device(Base):
    __tablename__ = "devices"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # contracts.DeviceKind
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    edge_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[int] = mapped_column(EpochMs)
    # the device's MQTT secret as a Mosquitto ``$7$`` hash (cloud.registry.secrets); None = no login yet
    mqtt_secret_hash: Mapped[str | None] = mapped_column(String(160), default=None)


class Guardian(Base):
    __tablename__ = "guardians"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(16), index=True)  # inbound replies find guardians by number
    relation: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8), default="zh")
    priority: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[int] = mapped_column(EpochMs)


class CarePlanRecord(Base):
    """A subject's care plan (``contracts.care_plan.CarePlan`` as JSON); absent = the defaults."""

    __tablename__ = "care_plans"

    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
    plan: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[int] = mapped_column(EpochMs)
