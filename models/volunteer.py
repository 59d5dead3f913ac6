"""Volunteers (bénévoles), their competences and their priority flags."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ColumnElement, ForeignKey, String, UniqueConstraint, and_, text
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from models.base import Base, str_enum, utcnow
from models.mail_gate import may_mail
from models.text import fold


class Availability(StrEnum):
    """How much room a volunteer has for a new mission."""

    AVAILABLE = "available"
    LIMITED = "limited"
    UNAVAILABLE = "unavailable"


AVAILABILITY_LABELS = {
    Availability.AVAILABLE: "Disponible",
    Availability.LIMITED: "Peu disponible",
    Availability.UNAVAILABLE: "Indisponible",
}

LEVEL_LABELS = {1: "notions", 2: "confirmé", 3: "expert"}

# When a volunteer can give time (the public sign-up's choices), key → French label.
TIME_SLOTS = {
    "semaine": "en semaine, en journée",
    "soirs": "en soirée",
    "week-ends": "le week-end",
    "distance": "à distance",
}


def _name_key(context: DefaultExecutionContext) -> str:
    row = context.get_current_parameters()
    return fold(f"{row['first_name']} {row['last_name']}")


class Volunteer(Base):
    """A professional who gives their skills. The e-mail is stored lower-cased, hence unique regardless of case."""

    __tablename__ = "volunteer"
    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lowercase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branch.id"), index=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    # fold(first last), for lookups by name that ignore case and accents on every database.
    name_key: Mapped[str] = mapped_column(String(170), index=True, default=_name_key, server_default=text("''"))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str] = mapped_column(String(30), default="")
    city: Mapped[str] = mapped_column(String(80), default="")
    profession: Mapped[str] = mapped_column(String(120), default="")
    consent_announcements: Mapped[bool] = mapped_column(default=False)
    consent_national: Mapped[bool] = mapped_column(default=False)
    is_relay: Mapped[bool] = mapped_column(default=False)
    availability: Mapped[Availability] = mapped_column(str_enum(Availability), default=Availability.AVAILABLE)
    # when they can give time, comma-separated TIME_SLOTS keys (`semaine,soirs,distance`); empty: not said
    time_slots: Mapped[str] = mapped_column(String(80), default="", server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]
    links_revoked_at: Mapped[datetime | None]  # links signed before it no longer work (tasks/links.revoke)
    unsubscribed_at: Mapped[datetime | None]

    competences: Mapped[list[VolunteerCompetence]] = relationship(
        back_populates="volunteer", lazy="raise", cascade="all, delete-orphan"
    )
    priority_flags: Mapped[list[PriorityFlag]] = relationship(
        back_populates="volunteer", lazy="raise", cascade="all, delete-orphan"
    )

    @validates("first_name", "last_name")
    def _keep_key(self, attr: str, value: str) -> str:
        names = {"first_name": self.first_name or "", "last_name": self.last_name or "", attr: value}
        self.name_key = fold(f"{names['first_name']} {names['last_name']}")
        return value

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}"

    @property
    def label(self) -> str:
        """Stable label used in forms: `V-0042 Alice Martin`."""
        return f"V-{self.id:04d} {self.full_name}"

    @hybrid_property
    def reachable(self) -> bool:
        """Whether the volunteer may receive annonces: consenting, not archived, not unsubscribed (also as SQL: the
        diffusion's audience). The rule is models/mail_gate.py's."""
        return self.may_receive("annonce")

    @reachable.inplace.expression
    @classmethod
    def _reachable_expression(cls) -> ColumnElement[bool]:
        return and_(cls.consent_announcements.is_(True), cls.archived_at.is_(None), cls.unsubscribed_at.is_(None))

    def may_receive(self, kind: str) -> bool:
        """Whether this volunteer may receive a mail of `kind` now (models/mail_gate.py)."""
        return may_mail(
            kind,
            consents_to_announcements=self.consent_announcements,
            archived=self.archived_at is not None,
            unsubscribed=self.unsubscribed_at is not None,
        )


class VolunteerCompetence(Base):
    """A competence a volunteer has, at a level from 1 (notions) to 3 (expert)."""

    __tablename__ = "volunteer_competence"
    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 3", name="level_range"),)

    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id", ondelete="CASCADE"), primary_key=True)
    competence_id: Mapped[int] = mapped_column(ForeignKey("competence.id"), primary_key=True, index=True)
    level: Mapped[int] = mapped_column(default=2)

    volunteer: Mapped[Volunteer] = relationship(back_populates="competences")


class PriorityFlag(Base):
    """A volunteer not selected who still wants a mission goes first next time in this domain."""

    __tablename__ = "priority_flag"
    __table_args__ = (UniqueConstraint("volunteer_id", "domain_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id", ondelete="CASCADE"), index=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domain.id"), index=True)
    since: Mapped[datetime] = mapped_column(default=utcnow)
    source_mission_id: Mapped[int | None] = mapped_column(ForeignKey("mission.id"))
    cleared_at: Mapped[datetime | None]
    cleared_by_mission_id: Mapped[int | None] = mapped_column(ForeignKey("mission.id"))

    volunteer: Mapped[Volunteer] = relationship(back_populates="priority_flags")

    @property
    def active(self) -> bool:
        """Whether the flag still gives priority."""
        return self.cleared_at is None


class ConsentKind(StrEnum):
    """What a volunteer agrees to receive."""

    ANNOUNCEMENTS = "announcements"  # the annonces of their branch
    NATIONAL = "national"  # the annonces of remote missions, nationally


class ConsentSource(StrEnum):
    """Where a consent (or its withdrawal) came from."""

    IMPORT = "import"
    FORM = "form"  # a team member's form or command
    LINK = "link"  # the volunteer's own signed link (preferences, unsubscribe)
    SIGNUP = "signup"  # the portal's public sign-up, confirmed by the link mailed to the address (double opt-in)


# The wording the volunteer agreed to, by version: a consent record names the version it was given under.
CONSENT_WORDING = {
    "2026-12": {
        ConsentKind.ANNOUNCEMENTS: "J'accepte de recevoir par e-mail les annonces de mission de mon antenne.",
        ConsentKind.NATIONAL: "J'accepte aussi les annonces de missions à distance, de toute la France.",
    }
}
CONSENT_VERSION = "2026-12"


class ConsentRecord(Base):
    """One consent given or withdrawn: when, how, under which wording (RGPD art. 7: the controller can show it)."""

    __tablename__ = "consent_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ConsentKind] = mapped_column(str_enum(ConsentKind))
    granted: Mapped[bool]
    source: Mapped[ConsentSource] = mapped_column(str_enum(ConsentSource))
    wording_version: Mapped[str] = mapped_column(String(20), default=CONSENT_VERSION)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class VolunteerEvent(Base):
    """A change to a volunteer's record (consents, availability, competences, unsubscribing): who made it, how."""

    __tablename__ = "volunteer_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(160))
    source: Mapped[ConsentSource] = mapped_column(str_enum(ConsentSource))
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
