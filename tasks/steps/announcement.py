"""Step 2, the annonce: drafted from the analysed need, edited by the Passerelle, approved by the association.

Each version is a round (`annonce-review-<n>`); « à réviser » opens the next one with the text kept.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from prefect.input import RunInput
from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Announcement, AnnouncementStatus, Mission, MissionStatus
from models.base import utcnow
from tasks import notices
from tasks.missions import advance
from tasks.parties import as_text
from tasks.steps.base import (
    CANCEL,
    Ctx,
    Outcome,
    Prefill,
    Step,
    asked_key,
    entered_by_field,
    reason_field,
    refuse_if,
)


class Decision(StrEnum):
    """The association's answer."""

    APPROVED = "approuvée par l'association"
    REVISE = "à réviser"
    CANCEL = CANCEL


class AnnouncementForm(RunInput):
    """The annonce, as the association approved it (or asked to revise it)."""

    text: str = Field(title="Texte de l'annonce", description="Pré-rempli ; corrigez-le avec l'association.")
    decision: Decision = Field(
        default=Decision.APPROVED,
        title="Réponse de l'association",
        description="« à réviser » ouvre un nouveau tour avec le texte ci-dessus.",
    )
    remarks: str = Field(default="", title="Remarques de l'association", description="Ce qu'elle demande de changer.")
    cancel_reason: str = reason_field()
    entered_by: str = entered_by_field()


def check(a: AnnouncementForm) -> list[str]:
    """Reasons to refuse a version (pure): an empty text cannot be approved or revised."""
    return [] if a.text.strip() else ["Le texte de l'annonce est vide : impossible de le faire valider."]


def prefill(session: Session, mission: Mission, n: int) -> Prefill:
    """The previous version's text (or the draft) and the association's remarks on it."""
    before = session.scalar(
        select(Announcement).where(Announcement.mission_id == mission.id, Announcement.round == n - 1)
    )
    section = f"\n_Version {n} de l'annonce._\n"
    if before and before.remarks:
        section += f"\n### Remarques de l'association sur la version {n - 1}\n\n> {as_text(before.remarks)}\n"
    return Prefill(
        defaults={"text": before.text if before else notices.draft_announcement(session, mission)}, section=section
    )


def apply(session: Session, mission: Mission, a: AnnouncementForm, ctx: Ctx) -> Outcome:
    """Store version `ctx.n`; approval moves the mission on and prepares the social-network text."""
    refuse_if(check(a))
    status = AnnouncementStatus.REVISE if a.decision is Decision.REVISE else AnnouncementStatus.APPROVED
    existing = session.scalar(
        select(Announcement).where(Announcement.mission_id == mission.id, Announcement.round == ctx.n)
    )
    version = existing or Announcement(mission_id=mission.id, round=ctx.n, text=a.text)
    version.text, version.status, version.remarks, version.decided_at = (
        a.text.strip(),
        status,
        a.remarks.strip(),
        utcnow(),
    )
    session.add(version)
    if status is AnnouncementStatus.REVISE:
        return Outcome.REVISE
    version.social_text = notices.social_text(session, mission)
    advance(
        session,
        mission,
        MissionStatus.APPROVED,
        actor=ctx.actor,
        step_key=ctx.key,
        action=STEP.key,
        details={"round": ctx.n},
    )
    return Outcome.APPROVED


def ask_association(
    session: Session, mission: Mission, key: str, defaults: dict[str, Any], previous: dict[str, Any] | None
) -> None:
    """Mail the association this version with its link: approve, or ask for a revision with remarks (once per
    version, whatever the attempt)."""
    notices.annonce_to_approve(session, mission, key=asked_key(key), text=str(defaults.get("text", "")))


def next_round(session: Session, mission_id: int) -> int:
    """The version a run started mid-way asks first."""
    rounds = session.scalar(select(func.max(Announcement.round)).where(Announcement.mission_id == mission_id))
    return (rounds or 0) + 1


STEP = Step(
    key="annonce",
    label="Validation de l'annonce",
    instructions="Relisez l'annonce pré-rédigée, faites-la valider par l'association, puis indiquez sa réponse "
    "(approuvée, à réviser).",
    next_action="obtenir la validation de l'annonce par l'association",
    service_level=7,  # the association's approval
    status=MissionStatus.ANALYSED,
    form=AnnouncementForm,
    round_key="annonce-review",
    repeat_on=frozenset({Outcome.REVISE}),
    prefill=prefill,
    apply=apply,
    next_round=next_round,
    ask_outside=ask_association,
)
