"""Diffusion of an approved annonce: who receives it, in which order, and the mails it makes."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from models import Branch, Channel, Diffusion, Mission, PriorityFlag, Scope, Volunteer
from models.outbox import OutboxMail
from tasks import notices
from tasks.links import volunteer_links
from tasks.mail import compose, enqueue, outbox_key
from tasks.missions import StepRefused

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


def diffuse(session: Session, mission: Mission, *, round_: int, text: str, social: str = "") -> dict[str, int]:
    """Queue the annonce for everyone in the audience not mailed yet, record the mail diffusion of this round, and
    give the support team the social networks post to publish (recorded when they confirm it)."""
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
        links = volunteer_links(vid, mission.id)
        content = compose(KIND, mission=mission, volunteer=v, text=text, branch=branch, priority=has_priority,
                          **links)  # fmt: skip
        enqueue(session, mission_id=mission.id, kind=KIND, about=f"v{vid}", to=v.email, content=content,
                reply_to=reply_to, list_unsubscribe=links["unsubscribe_url"])  # fmt: skip
        queued += 1
        priority_count += has_priority
    channel = Channel.NATIONAL_EMAIL if national else Channel.EMAIL
    if _diffusion(session, mission, channel, round_) is None:
        session.add(Diffusion(mission_id=mission.id, channel=channel, round=round_, audience_size=queued,
                              priority_count=priority_count))  # fmt: skip
    if social and round_ == 1:  # widening the search mails more volunteers; the post is already out
        notices.social_post(session, mission, text=social)
    return {"queued": queued, "priority": priority_count}


def _diffusion(session: Session, mission: Mission, channel: Channel, round_: int) -> Diffusion | None:
    return session.scalar(
        select(Diffusion).where(
            Diffusion.mission_id == mission.id, Diffusion.channel == channel, Diffusion.round == round_
        )
    )


def confirm_social_post(session: Session, mission: Mission, *, reach: int | None) -> Diffusion:
    """The support team published the mission's post: the social diffusion is recorded, once, with its reach."""
    if mission.published_at is None:
        raise StepRefused(f"L'annonce de la mission {mission.reference} n'est pas encore diffusée.")
    if reach is not None and reach < 0:
        raise StepRefused(f"Portée négative ({reach}) : indiquez le nombre de personnes atteintes, ou rien.")
    if (done := _diffusion(session, mission, Channel.SOCIAL, 1)) is not None:
        raise StepRefused(f"La publication de {mission.reference} est déjà confirmée (le {done.sent_at:%d/%m/%Y}).")
    diffusion = Diffusion(mission_id=mission.id, channel=Channel.SOCIAL, round=1, audience_size=reach or 0)
    session.add(diffusion)
    session.flush()
    return diffusion
