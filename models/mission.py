"""Missions, their required competences, and the audit trail of every step."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.association import Association
from models.base import Base, str_enum, utcnow
from models.org import Branch, Coordinator
from models.rules import MissionStatus
from models.taxonomy import Domain
from models.waves import Wave


class Scope(StrEnum):
    """Who the annonce goes to: the branch, or the whole country when the work can be done remotely."""

    REGIONAL = "regional"
    NATIONAL = "national"


# The timestamps of the steps a report counts by period; each has an index with the branch (migration 0006).
STEP_STAMPS = ("requested_at", "published_at", "selected_at", "started_at", "completed_at", "cancelled_at")


class Mission(Base):
    """A bounded piece of help for an association; one Prefect flow run follows it end to end."""

    __tablename__ = "mission"
    __table_args__ = (
        UniqueConstraint("branch_id", "year", "seq"),
        CheckConstraint("volunteers_needed >= 1", name="volunteers_needed_positive"),
        # Reports count the missions of some branches whose step happened in a period (tasks/reports.py).
        *(Index(f"ix_mission_branch_{step}", "branch_id", step) for step in STEP_STAMPS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branch.id"), index=True)
    year: Mapped[int]
    seq: Mapped[int]
    association_id: Mapped[int] = mapped_column(ForeignKey("association.id"), index=True)
    coordinator_id: Mapped[int] = mapped_column(ForeignKey("coordinator.id"), index=True)
    status: Mapped[MissionStatus] = mapped_column(str_enum(MissionStatus), default=MissionStatus.REQUESTED, index=True)
    title: Mapped[str] = mapped_column(String(200))
    request: Mapped[str] = mapped_column(Text, default="", comment="The association's own words")
    need: Mapped[str] = mapped_column(Text, default="")
    deliverables: Mapped[str] = mapped_column(Text, default="")
    domain_id: Mapped[int | None] = mapped_column(ForeignKey("domain.id"), index=True)
    scope: Mapped[Scope] = mapped_column(str_enum(Scope), default=Scope.REGIONAL)
    # How far the annonce goes now (models/waves.py): set when a wave is asked for, sent by the diffusion step.
    wave: Mapped[Wave | None] = mapped_column(str_enum(Wave))
    waves_stopped_at: Mapped[datetime | None] = mapped_column(comment="The Passerelle stopped the scheduled waves")
    volunteers_needed: Mapped[int] = mapped_column(default=1)
    effort: Mapped[str] = mapped_column(String(200), default="")
    expected_start: Mapped[date | None]
    expected_end: Mapped[date | None]
    needs_meeting_on: Mapped[date | None]

    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    analysed_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    selected_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    cancelled_from: Mapped[MissionStatus | None] = mapped_column(str_enum(MissionStatus))

    flow_run_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    branch: Mapped[Branch] = relationship()
    association: Mapped[Association] = relationship()
    coordinator: Mapped[Coordinator] = relationship()
    domain: Mapped[Domain | None] = relationship()
    competences: Mapped[list[MissionCompetence]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="MissionCompetence.competence_id"
    )


class MissionCompetence(Base):
    """A competence the mission requires, with the minimum level wanted."""

    __tablename__ = "mission_competence"

    mission_id: Mapped[int] = mapped_column(ForeignKey("mission.id", ondelete="CASCADE"), primary_key=True)
    competence_id: Mapped[int] = mapped_column(ForeignKey("competence.id"), primary_key=True)
    min_level: Mapped[int] = mapped_column(default=1)


class AuditEvent(Base):
    """Who did what to a mission, when: one row per step, written with the step's status change."""

    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("mission_id", "step_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("mission.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(160))
    action: Mapped[str] = mapped_column(String(60))
    # The step's stable key (`needs-analysis`, `annonce-review-2`...): a replayed step writes nothing twice.
    step_key: Mapped[str] = mapped_column(String(80))
    from_status: Mapped[MissionStatus | None] = mapped_column(str_enum(MissionStatus))
    to_status: Mapped[MissionStatus | None] = mapped_column(str_enum(MissionStatus))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
