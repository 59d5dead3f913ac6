"""Branches (antennes) and the coordinators who run them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, str_enum, utcnow


class Role(StrEnum):
    """What a coordinator does in the association."""

    PASSERELLE = "passerelle"
    BRANCH_LEAD = "branch_lead"
    SUPPORT = "support"
    ADMIN = "admin"


ROLE_LABELS = {
    Role.PASSERELLE: "Passerelle",
    Role.BRANCH_LEAD: "Responsable d'antenne",
    Role.SUPPORT: "Équipe support RH/Communication",
    Role.ADMIN: "Administrateur national",
}


class Branch(Base):
    """A regional branch (antenne), e.g. Strasbourg."""

    __tablename__ = "branch"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(5), unique=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    region: Mapped[str] = mapped_column(String(80))
    founded_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    coordinators: Mapped[list[Coordinator]] = relationship(back_populates="branch", lazy="raise")


def digest_by_default(role: object) -> bool:
    """Whether a new member gets the daily digest (tasks/digest.py) unless they turn it off: Passerelles do."""
    return str(role) == Role.PASSERELLE.value


def _digest_default(context: Any) -> bool:
    return digest_by_default(context.get_current_parameters().get("role"))


class Coordinator(Base):
    """A person of P&C who uses the system: a Passerelle, a branch lead, the support team, an admin."""

    __tablename__ = "coordinator"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branch.id"), index=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    active: Mapped[bool] = mapped_column(default=True)
    # The morning digest of what waits for them (tasks/digest.py): on by default for Passerelles
    daily_digest: Mapped[bool] = mapped_column(default=_digest_default, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    branch: Mapped[Branch | None] = relationship(back_populates="coordinators")

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}"
