"""Diffusion of an approved annonce: who receives it, in which order, and the mails it makes."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from models import Branch, Channel, Diffusion, Mission, PriorityFlag, Scope, Volunteer
from models.outbox import OutboxMail
from tasks.mail import compose, enqueue


def audience(session: Session, mission: Mission, *, national: bool) -> list[tuple[int, bool]]:
    """(volunteer id, has priority in the domain) of everyone the annonce may reach, priority first.

    Consenting, not archived, not unsubscribed; from the branch, plus everyone who accepts national annonces
    when the mission is national.
    """
    priority = exists().where(
        PriorityFlag.volunteer_id == Volunteer.id,
        PriorityFlag.domain_id == mission.domain_id,
        PriorityFlag.cleared_at.is_(None),
    )
    query = select(Volunteer.id, priority.label("priority")).where(
        Volunteer.consent_annonces.is_(True),
        Volunteer.archived_at.is_(None),
        Volunteer.unsubscribed_at.is_(None),
    )
    if national:
        query = query.where((Volunteer.branch_id == mission.branch_id) | Volunteer.consent_national.is_(True))
    else:
        query = query.where(Volunteer.branch_id == mission.branch_id)
    return [(vid, bool(p)) for vid, p in session.execute(query.order_by(priority.desc(), Volunteer.id))]


def diffuse(session: Session, mission: Mission, *, round_: int, text: str) -> dict[str, int]:
    """Queue the annonce for everyone in the audience not mailed yet, and record the diffusion of this round."""
    national = mission.scope is Scope.NATIONAL
    targets = audience(session, mission, national=national)
    already = set(
        session.scalars(
            select(OutboxMail.dedup_key).where(OutboxMail.mission_id == mission.id, OutboxMail.kind == "annonce")
        )
    )
    branch = session.get(Branch, mission.branch_id)
    assert branch is not None
    queued = priority_count = 0
    ids = [vid for vid, _ in targets]
    people = {v.id: v for v in session.scalars(select(Volunteer).where(Volunteer.id.in_(ids)))} if ids else {}
    for vid, has_priority in targets:
        key = f"m{mission.id}:annonce:v{vid}"
        if key in already:
            continue
        v = people[vid]
        content = compose("annonce", mission=mission, volunteer=v, text=text, branch=branch, priority=has_priority)
        enqueue(session, dedup_key=key, kind="annonce", to=v.email, content=content, mission_id=mission.id)
        queued += 1
        priority_count += has_priority
    channel = Channel.NATIONAL_EMAIL if national else Channel.EMAIL
    for ch, size, prio in ((channel, queued, priority_count), (Channel.SOCIAL, 0, 0)):
        if (
            session.scalar(
                select(Diffusion.id).where(
                    Diffusion.mission_id == mission.id, Diffusion.channel == ch, Diffusion.round == round_
                )
            )
            is None
        ):
            session.add(
                Diffusion(mission_id=mission.id, channel=ch, round=round_, audience_size=size, priority_count=prio)
            )
    return {"queued": queued, "priority": priority_count}
