"""What the Passerelle sees of a mission: its card, and the run's artifacts (card and progress).

The artifacts are computed inside the step's transaction and published after its commit: an HTTP call to the
Prefect API never runs while the mission row (on SQLite, the whole database) is locked.
"""

from __future__ import annotations

from dataclasses import dataclass

from prefect.artifacts import create_markdown_artifact, create_progress_artifact
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import (
    Announcement,
    Application,
    ApplicationStatus,
    CheckIn,
    Domain,
    FeeRecord,
    MailStatus,
    Mission,
    MissionStatus,
    OutboxMail,
    Volunteer,
)
from models.base import utcnow
from tasks import notices, waves
from tasks.fees import fee_label, state_text
from tasks.monitoring import open_missions, service_levels
from tasks.rendering import render
from tasks.steps import REGISTRY

CLOSED_NEXT_ACTION = {
    MissionStatus.COMPLETED: "aucune : mission terminée",
    MissionStatus.CANCELLED: "aucune : mission annulée",
}


def progress_step(mission: Mission) -> int:
    """Steps behind the mission (a cancelled mission keeps the step it was cancelled at)."""
    status = mission.cancelled_from if mission.status is MissionStatus.CANCELLED else mission.status
    return REGISTRY.progress(status or MissionStatus.REQUESTED)


def card(session: Session, mission: Mission) -> str:
    """The mission card (markdown): who, what, where it stands, what is next."""
    apps = list(session.scalars(select(Application).where(Application.mission_id == mission.id)))
    selected_ids = [a.volunteer_id for a in apps if a.status is ApplicationStatus.SELECTED]
    selected = [v.label for v in session.scalars(select(Volunteer).where(Volunteer.id.in_(selected_ids)))]
    last = session.scalar(select(CheckIn).where(CheckIn.mission_id == mission.id).order_by(CheckIn.number.desc()))
    domain = session.get(Domain, mission.domain_id) if mission.domain_id else None
    social = session.scalar(
        select(Announcement.social_text)
        .where(Announcement.mission_id == mission.id, Announcement.social_text != "")
        .order_by(Announcement.round.desc())
    )
    undelivered = [
        f"{m.to_address} ({m.last_error[:60]})"
        for m in session.scalars(
            select(OutboxMail).where(OutboxMail.mission_id == mission.id, OutboxMail.status == MailStatus.FAILED)
        )
    ]
    fees = [
        f"{fee_label(f, mission)} F-{f.id} : {f.amount} €, {state_text(f)}"
        for f in session.scalars(
            select(FeeRecord)
            .where(
                or_(
                    FeeRecord.mission_id == mission.id,
                    FeeRecord.key == FeeRecord.membership_key(mission.association_id, mission.year),
                )
            )
            .order_by(FeeRecord.kind)
        )
    ]
    today = utcnow().date()
    waiting = next(iter(open_missions(session, today=today, levels=service_levels(), mission_id=mission.id)), None)
    step = REGISTRY[waiting.waiting.step] if waiting else None
    return render(
        "mission_card.md.j2",
        m=mission,
        progress={"step": progress_step(mission), "total": len(REGISTRY)},
        step=step.label if step else "",
        waiting_days=waiting.waiting.days(today) if waiting else 0,
        next_action=step.next_action if step else CLOSED_NEXT_ACTION[mission.status],
        domain=domain.name if domain else "",
        competences=notices.competence_names(session, mission),
        applications=len(apps),
        social=social or "",
        waves=waves.describe(session, mission) if mission.status is MissionStatus.PUBLISHED else "",
        undelivered=undelivered,
        fees=fees,
        selected=selected,
        last_check_in=f"n° {last.number} du {last.held_on:%d/%m/%Y} : {last.status.label}" if last else "",
    )


def artifact_key(mission: Mission, suffix: str = "") -> str:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    return f"mission-{mission.reference.lower()}" + (f"-{suffix}" if suffix else "")


@dataclass(frozen=True)
class Dashboard:
    """The run's dashboard of one mission, ready to publish: its card and its progress (step k of n)."""

    reference: str
    key: str
    card: str
    step: int
    total: int
    status: str

    def publish(self) -> None:
        """Publish both artifacts (HTTP to the Prefect API: call it outside any transaction)."""
        create_markdown_artifact(markdown=self.card, key=self.key, description=f"Fiche mission {self.reference}")
        create_progress_artifact(
            progress=round(self.step / self.total * 100, 1),
            key=f"{self.key}-avancement",
            description=f"{self.reference} : étape {self.step} sur {self.total} — {self.status}",
        )


def dashboard(session: Session, mission: Mission) -> Dashboard:
    """The mission's dashboard as it stands in this transaction."""
    return Dashboard(
        mission.reference,
        artifact_key(mission),
        card(session, mission),
        progress_step(mission),
        len(REGISTRY),
        mission.status.label,
    )
