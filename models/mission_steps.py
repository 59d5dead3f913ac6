"""What each step of a mission produces: annonces, diffusions, applications, roadmap, check-ins, bilan."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, str_enum, utcnow
from models.waves import Wave


class AnnouncementStatus(StrEnum):
    """The association's answer to one version of the annonce."""

    DRAFT = "draft"
    APPROVED = "approved"
    REVISE = "revise"
    CANCELLED = "cancelled"


class Announcement(Base):
    """One version (round) of the « recherche d'un bénévole » text."""

    __tablename__ = "announcement"
    __table_args__ = (UniqueConstraint("mission_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("mission.id", ondelete="CASCADE"), index=True)
    round: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    social_text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[AnnouncementStatus] = mapped_column(str_enum(AnnouncementStatus), default=AnnouncementStatus.DRAFT)
    remarks: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


class Channel(StrEnum):
    """How an annonce went out, or how an application came in."""

    EMAIL = "email"
    NATIONAL_EMAIL = "national_email"
    SOCIAL = "social"
    FORM = "form"
    CLI = "cli"
    PHONE = "phone"
    RELAY = "relay"
    LINK = "link"  # the volunteer's own « Je suis intéressé(e) » link (portal)
    INVITATION = "invitation"  # the link of a personal invitation the Passerelle sent (tasks/invitations.py)
    PUBLIC_PAGE = "public_page"  # the annonce's public page on the portal (its address on the social networks)


CHANNEL_LABELS = {
    Channel.EMAIL: "réponse à l'annonce (mail)",
    Channel.NATIONAL_EMAIL: "annonce nationale (mail)",
    Channel.SOCIAL: "réseaux sociaux",
    Channel.FORM: "saisie par la Passerelle",
    Channel.CLI: "ligne de commande",
    Channel.PHONE: "téléphone",
    Channel.RELAY: "par un relais",
    Channel.LINK: "lien de l'annonce",
    Channel.INVITATION: "invitation",
    Channel.PUBLIC_PAGE: "page publique de l'annonce",
}


class Diffusion(Base):
    """One sending of the annonce on one channel, in one round (1 = first, 2+ = widened)."""

    __tablename__ = "diffusion"
    __table_args__ = (UniqueConstraint("mission_id", "channel", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("mission.id", ondelete="CASCADE"), index=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    round: Mapped[int] = mapped_column(default=1)
    audience_size: Mapped[int] = mapped_column(default=0)
    priority_count: Mapped[int] = mapped_column(default=0)
    wave: Mapped[Wave | None] = mapped_column(str_enum(Wave))  # the wave this round sent (mail channels)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApplicationStatus(StrEnum):
    """Where a volunteer's application stands."""

    RECEIVED = "received"
    SELECTED = "selected"
    RESERVE = "reserve"  # not retained while the search is open: may still be picked (a place left empty)
    NOT_SELECTED = "not_selected"  # not retained, before the search closed at the roadmap (missions before 0009)
    CLOSED = "closed"  # the search closed at the roadmap: thanked; still a replacement if someone withdraws
    WITHDRAWN = "withdrawn"


# How an application's status reads in French (exports, a volunteer's own data).
APPLICATION_STATUS_LABELS = {
    ApplicationStatus.RECEIVED: "Reçue",
    ApplicationStatus.SELECTED: "Retenue",
    ApplicationStatus.RESERVE: "En réserve",
    ApplicationStatus.NOT_SELECTED: "Non retenue",
    ApplicationStatus.CLOSED: "Close (recherche terminée)",
    ApplicationStatus.WITHDRAWN: "Désistement",
}


class Application(Base):
    """A volunteer's offer to take a mission: one per mission and volunteer."""

    __tablename__ = "application"
    __table_args__ = (UniqueConstraint("mission_id", "volunteer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("mission.id", ondelete="CASCADE"), index=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    status: Mapped[ApplicationStatus] = mapped_column(str_enum(ApplicationStatus), default=ApplicationStatus.RECEIVED)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel), default=Channel.EMAIL)
    # the relay volunteer the application came through (channel `relay`)
    relayed_by_id: Mapped[int | None] = mapped_column(ForeignKey("volunteer.id", ondelete="SET NULL"))
    message: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float | None]
    score_detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    wants_other_mission: Mapped[bool] = mapped_column(default=False)
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


class Invitation(Base):
    """A suggested volunteer the Passerelle invited to apply, mailed once: their application by the link counts
    as channel « invitation »."""

    __tablename__ = "invitation"
    __table_args__ = (UniqueConstraint("mission_id", "volunteer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("mission.id", ondelete="CASCADE"), index=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer.id"), index=True)
    step_key: Mapped[str] = mapped_column(String(80))  # the applications round that sent it
    invited_by: Mapped[str] = mapped_column(String(160), default="")
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)


class Roadmap(Base):
    """The feuille de route agreed by volunteer and association; its validation closes the search."""

    __tablename__ = "roadmap"

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("mission.id", ondelete="CASCADE"), unique=True)
    start_on: Mapped[date]
    end_on: Mapped[date]
    checkin_every_days: Mapped[int] = mapped_column(default=30)
    validated_on: Mapped[date]
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    objectives: Mapped[list[RoadmapObjective]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="RoadmapObjective.position"
    )


class RoadmapObjective(Base):
    """One objective of a roadmap with its deliverable and due date."""

    __tablename__ = "roadmap_objective"
    __table_args__ = (UniqueConstraint("roadmap_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    roadmap_id: Mapped[int] = mapped_column(ForeignKey("roadmap.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    objective: Mapped[str] = mapped_column(Text)
    deliverable: Mapped[str] = mapped_column(Text, default="")
    due_on: Mapped[date | None]


class CheckInStatus(StrEnum):
    """How the mission goes, as the Passerelle sees it at a check-in."""

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BLOCKED = "blocked"

    @property
    def label(self) -> str:
        """In French, with a sign for what needs attention."""
        return {"on_track": "dans les temps", "at_risk": "⚠️ à risque", "blocked": "⛔ bloquée"}[self.value]

    @property
    def alarming(self) -> bool:
        """At risk or blocked: the branch lead is told."""
        return self is not CheckInStatus.ON_TRACK


class CheckIn(Base):
    """The Passerelle's n-th contact with both sides during the mission."""

    __tablename__ = "check_in"
    __table_args__ = (UniqueConstraint("mission_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("mission.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    held_on: Mapped[date]
    status: Mapped[CheckInStatus] = mapped_column(str_enum(CheckInStatus))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ObjectivesMet(StrEnum):
    """Whether the roadmap's objectives were reached."""

    YES = "yes"
    PARTLY = "partly"
    NO = "no"


class Review(Base):
    """The bilan that ends a mission, with both sides."""

    __tablename__ = "review"
    __table_args__ = (
        CheckConstraint("association_rating BETWEEN 1 AND 5", name="association_rating_range"),
        CheckConstraint("volunteer_rating BETWEEN 1 AND 5", name="volunteer_rating_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("mission.id", ondelete="CASCADE"), unique=True)
    held_on: Mapped[date]
    association_rating: Mapped[int]
    volunteer_rating: Mapped[int]
    objectives_met: Mapped[ObjectivesMet] = mapped_column(str_enum(ObjectivesMet))
    testimony: Mapped[str] = mapped_column(Text, default="")
    association_would_redo: Mapped[bool] = mapped_column(default=True)
    volunteer_would_redo: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PartyAnswer(Base):
    """What one party outside P&C answered when a step asked it (by its signed link, or told the Passerelle, who
    recorded it): a retained volunteer's agreement to one sending of the roadmap, the association's or a
    volunteer's news at a check-in, their half of the bilan with their consent to publish its testimony.

    `asked` is the key of what was asked (the roadmap's sending, the check-in round, the bilan), `party` who answers
    it (`association`, or `v<volunteer id>`): one answer per party and asking, so a second click changes nothing.
    """

    __tablename__ = "party_answer"
    __table_args__ = (
        UniqueConstraint("mission_id", "asked", "party"),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="party_rating_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("mission.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(40))  # roadmap, check-in, review
    asked: Mapped[str] = mapped_column(String(120))
    party: Mapped[str] = mapped_column(String(40))
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteer.id", ondelete="CASCADE"))
    answer: Mapped[str] = mapped_column(String(40))  # agree / changes; going / difficulty / blocked; given
    comment: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    rating: Mapped[int | None]
    would_redo: Mapped[bool | None]
    # Consent to publish the testimony (the bilan): the wording agreed to, and when; empty and None without it.
    consent_wording: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    consent_at: Mapped[datetime | None]
    actor: Mapped[str] = mapped_column(String(200))  # who answered, or the team member who recorded it
    by_link: Mapped[bool] = mapped_column(
        default=True, server_default=true()
    )  # False: recorded by the Passerelle (phone, mail)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
