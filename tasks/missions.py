"""Mission writes: opening a mission, moving it along its lifecycle with an audit event, cancelling it,
recording applications. Plain functions over a session; the caller owns the transaction."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    Application,
    ApplicationStatus,
    Association,
    AuditEvent,
    Channel,
    Coordinator,
    FeeBracket,
    FeeKind,
    FeeRecord,
    Mission,
    MissionStatus,
    Volunteer,
)
from models.base import utcnow
from models.refusals import StepRefused
from models.rules import REACHED_AT, check_reopen, check_transition, fees_for_budget, format_reference, next_sequence
from tasks import calendar
from tasks.fees import waive_if_unfound


def audit(
    session: Session,
    mission: Mission,
    *,
    actor: str,
    action: str,
    step_key: str,
    from_status: MissionStatus | None = None,
    to_status: MissionStatus | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record who did what to the mission (unique per mission and step key)."""
    event = AuditEvent(
        mission_id=mission.id,
        actor=actor,
        action=action,
        step_key=step_key,
        from_status=from_status,
        to_status=to_status,
        details=details or {},
    )
    session.add(event)
    return event


def step_done(session: Session, mission_id: int, step_key: str) -> AuditEvent | None:
    """The audit event of a step already handled (accepted or refused), if any."""
    return session.scalar(
        select(AuditEvent).where(AuditEvent.mission_id == mission_id, AuditEvent.step_key == step_key)
    )


def advance(
    session: Session,
    mission: Mission,
    target: MissionStatus,
    *,
    actor: str,
    step_key: str,
    action: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Move the mission to `target`, stamp when, and audit it; IllegalTransition if the lifecycle forbids it. A
    mission that ends (completed, cancelled) withdraws from the parties' calendars the dates still ahead."""
    previous = mission.status
    check_transition(previous, target)
    mission.status = target
    setattr(mission, REACHED_AT[target], utcnow())
    audit(
        session,
        mission,
        actor=actor,
        action=action,
        step_key=step_key,
        from_status=previous,
        to_status=target,
        details=details,
    )
    if not target.is_open:
        calendar.cancel_ahead(session, mission)


def reopen_search(
    session: Session,
    mission: Mission,
    *,
    actor: str,
    step_key: str,
    action: str,
    details: dict[str, Any],
    keep_dates: bool = False,
) -> None:
    """Back to « Annonce diffusée » after a withdrawal. `published_at` is kept (the report's funnel counts the
    first publication); the selection and the start go, unless someone is still retained (`keep_dates`)."""
    previous = mission.status
    check_reopen(previous)
    mission.status = MissionStatus.PUBLISHED
    if not keep_dates:
        mission.selected_at = mission.started_at = None
    audit(
        session,
        mission,
        actor=actor,
        action=action,
        step_key=step_key,
        from_status=previous,
        to_status=MissionStatus.PUBLISHED,
        details=details,
    )


def cancel(session: Session, mission: Mission, *, reason: str, actor: str, step_key: str) -> None:
    """Cancel the mission with a reason (required), remembering the status it was cancelled from."""
    if not reason.strip():
        raise StepRefused("Pour annuler la mission, indiquez le motif d'annulation.")
    mission.cancelled_from = mission.status
    mission.cancel_reason = reason.strip()
    waive_if_unfound(session, mission, cancelled_from=mission.status)
    advance(
        session,
        mission,
        MissionStatus.CANCELLED,
        actor=actor,
        step_key=step_key,
        action="cancel",
        details={"reason": reason.strip()},
    )


def open_mission(
    session: Session,
    *,
    association: Association,
    coordinator: Coordinator,
    title: str,
    request: str,
    today: date | None = None,
) -> Mission:
    """Create a `requested` mission with its reference and the fees it makes due; audited."""
    today = today or utcnow().date()
    if coordinator.branch_id is None:
        raise StepRefused(f"{coordinator.full_name} n'est rattaché(e) à aucune antenne.")
    if not title.strip():
        raise StepRefused("L'intitulé de la mission est vide.")
    if association.archived_at is not None:
        raise StepRefused(
            f"L'association « {association.name} » est archivée : réactivez-la avant de lui ouvrir une mission."
        )
    branch = coordinator.branch
    assert branch is not None
    used = session.scalars(
        select(Mission.seq).where(Mission.branch_id == branch.id, Mission.year == today.year).with_for_update()
    )
    seq = next_sequence(used)
    mission = Mission(
        reference=format_reference(branch.code, today.year, seq),
        branch_id=branch.id,
        year=today.year,
        seq=seq,
        association_id=association.id,
        coordinator_id=coordinator.id,
        title=title.strip(),
        request=request.strip(),
    )
    session.add(mission)
    session.flush()
    fees = fees_for_budget(association.annual_budget, current_brackets(session, today.year))
    membership_key = FeeRecord.membership_key(association.id, today.year)
    if session.scalar(select(FeeRecord.id).where(FeeRecord.key == membership_key)) is None:
        session.add(
            FeeRecord(
                key=membership_key,
                association_id=association.id,
                kind=FeeKind.MEMBERSHIP,
                year=today.year,
                amount=fees.membership_fee,
                due_on=today,
            )
        )
    session.add(
        FeeRecord(
            key=FeeRecord.search_key(mission.id),
            association_id=association.id,
            mission_id=mission.id,
            kind=FeeKind.SEARCH,
            year=today.year,
            amount=fees.search_fee,
            due_on=today,
        )
    )
    audit(
        session,
        mission,
        actor=coordinator.full_name,
        action="request",
        step_key="request",
        to_status=MissionStatus.REQUESTED,
        details={"membership_fee": fees.membership_fee, "search_fee": fees.search_fee},
    )
    return mission


def current_brackets(session: Session, year: int) -> list[Any]:
    """The fee brackets in force in `year` (the latest schedule not after it)."""
    since = session.scalar(select(func.max(FeeBracket.valid_from)).where(FeeBracket.valid_from <= year))
    if since is None:
        raise StepRefused(f"Aucun barème de cotisation n'est en vigueur en {year}.")
    return [b.rule() for b in session.scalars(select(FeeBracket).where(FeeBracket.valid_from == since))]


OPEN_TO_APPLICATIONS = (MissionStatus.PUBLISHED, MissionStatus.SELECTED)  # the search closes at the roadmap


def record_application(
    session: Session,
    mission: Mission,
    volunteer: Volunteer,
    *,
    channel: Channel,
    message: str = "",
    relayed_by: Volunteer | None = None,
) -> tuple[Application, bool]:
    """Record a volunteer's application once per mission (through a relay: channel `relay`); returns it and whether
    it is new."""
    if relayed_by is not None and relayed_by.id == volunteer.id:
        raise StepRefused(f"{volunteer.label} ne peut pas être son propre relais.")
    if volunteer.archived_at is not None:
        raise StepRefused(f"{volunteer.label} est archivé(e) : sa candidature ne peut pas être enregistrée.")
    if mission.status not in OPEN_TO_APPLICATIONS:
        raise StepRefused(
            f"La mission {mission.reference} est « {mission.status.label} » : elle ne reçoit de candidatures que "
            "de la diffusion de son annonce à la validation de sa feuille de route."
        )
    existing = session.scalar(
        select(Application).where(Application.mission_id == mission.id, Application.volunteer_id == volunteer.id)
    )
    if existing is not None:
        return existing, False
    application = Application(
        mission_id=mission.id,
        volunteer_id=volunteer.id,
        channel=Channel.RELAY if relayed_by else channel,
        relayed_by_id=relayed_by.id if relayed_by else None,
        message=message.strip(),
        # After the selection, until the roadmap closes the search: in reserve (the Passerelle is told)
        status=ApplicationStatus.RECEIVED if mission.status is MissionStatus.PUBLISHED else ApplicationStatus.RESERVE,
    )
    session.add(application)
    session.flush()
    return application, True
