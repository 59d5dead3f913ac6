"""Diffusion of an approved annonce: who receives it, in which order, and the mails it makes."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from models import Branch, Channel, Diffusion, Mission, PriorityFlag, Scope, Volunteer
from models.outbox import OutboxMail
from tasks.mail import compose, enqueue, outbox_key

KIND = "annonce"  # the outbox kind of an annonce mail


def may_receive(mission: Mission) -> ColumnElement[bool]:
    """Who the mission's annonce may reach (SQL): reachable volunteers of the branch, and nationally those who
    accept national annonces when the mission can be done remotely. Diffusion and suggestions both use it."""
    scope: ColumnElement[bool] = Volunteer.branch_id == mission.branch_id
    if mission.scope is Scope.NATIONAL:
        scope = or_(scope, Volunteer.consent_national.is_(True))
    return and_(Volunteer.reachable, scope)


def audience(session: Session, mission: Mission) -> list[tuple[int, bool]]:
    """(volunteer id, has priority in the domain) of everyone the annonce may reach, priority first."""
    priority = exists().where(
        PriorityFlag.volunteer_id == Volunteer.id,
        PriorityFlag.domain_id == mission.domain_id,
        PriorityFlag.cleared_at.is_(None),
    )
    query = select(Volunteer.id, priority.label("priority")).where(may_receive(mission))
    return [(vid, bool(p)) for vid, p in session.execute(query.order_by(priority.desc(), Volunteer.id))]


def diffuse(session: Session, mission: Mission, *, round_: int, text: str) -> dict[str, int]:
    """Queue the annonce for everyone in the audience not mailed yet, and record the diffusion of this round."""
    national = mission.scope is Scope.NATIONAL
    targets = audience(session, mission)
    already = set(
        session.scalars(
            select(OutboxMail.dedup_key).where(OutboxMail.mission_id == mission.id, OutboxMail.kind == KIND)
        )
    )
    branch = session.get(Branch, mission.branch_id)
    assert branch is not None
    queued = priority_count = 0
    reply_to = mission.coordinator.email  # « répondez à ce mail » reaches the Passerelle
    ids = [vid for vid, _ in targets]
    people = {v.id: v for v in session.scalars(select(Volunteer).where(Volunteer.id.in_(ids)))} if ids else {}
    for vid, has_priority in targets:
        if outbox_key(mission.id, KIND, f"v{vid}") in already:
            continue
        v = people[vid]
        content = compose(KIND, mission=mission, volunteer=v, text=text, branch=branch, priority=has_priority)
        enqueue(session, mission_id=mission.id, kind=KIND, about=f"v{vid}", to=v.email, content=content,
                reply_to=reply_to)  # fmt: skip
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
