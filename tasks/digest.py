"""The daily digest: one morning mail per team member who wants it, listing what waits for them (models/digest.py).

What waits is read where it is: the forms from the mission runs suspended on Prefect (the step and since when from
the database's rule, as the dashboards show them), the requests and applications from the database since the
member's last digest (the outbox holds it), the unanswered links from tasks/outsiders.py. Each mail is keyed by
member and day: the flow run twice a morning sends one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from prefect import task
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Application, Association, Coordinator, Mission, OutboxMail, Role, Volunteer
from models.base import utcnow
from models.db import unit_of_work
from models.digest import Digest, NewApplication, NewRequest, Unanswered, WaitingStep, digest_about, digest_day
from models.mission_steps import CHANNEL_LABELS
from tasks import outsiders
from tasks.compose import compose
from tasks.monitoring import open_missions, service_levels
from tasks.notices import run_url, waiting_url
from tasks.outbox import enqueue, outbox_key
from tasks.runs import paused_runs
from tasks.steps import REGISTRY

KIND = "digest"
FIRST_LOOK_BACK = timedelta(days=1)  # a member's first digest lists what came in the day before


def last_digest_at(session: Session, member: Coordinator) -> datetime | None:
    """When the member's previous digest was queued (None: never)."""
    prefix = outbox_key(None, KIND, f"c{member.id}:")
    return session.scalar(
        select(OutboxMail.created_at)
        .where(OutboxMail.kind == KIND, OutboxMail.dedup_key.startswith(prefix))
        .order_by(OutboxMail.created_at.desc())
        .limit(1)
    )


def members(session: Session) -> list[Coordinator]:
    """The active members who want the digest."""
    return list(
        session.scalars(
            select(Coordinator)
            .where(Coordinator.active.is_(True), Coordinator.daily_digest.is_(True))
            .order_by(Coordinator.id)
        )
    )


def build(session: Session, member: Coordinator, *, now: datetime, paused: dict[str, str]) -> Digest:
    """What waits for `member` now; `paused`: the mission runs suspended at a form (tasks/runs.paused_runs)."""
    since = last_digest_at(session, member) or now - FIRST_LOOK_BACK
    today = digest_day(now)
    waiting = tuple(
        WaitingStep(o.reference, o.association, REGISTRY[o.waiting.step].label, o.waiting.since, run_url(run))
        for o in open_missions(session, today=today, levels=service_levels())
        if o.coordinator_id == member.id and (run := o.flow_run_id) is not None and run in paused
    )
    mine = Mission.coordinator_id == member.id
    # a branch lead also sees every request of her branch
    scope = or_(mine, Mission.branch_id == member.branch_id) if member.role is Role.BRANCH_LEAD else mine
    requests = tuple(
        NewRequest(m.reference, name, m.title, m.requested_at)
        for m, name in session.execute(
            select(Mission, Association.name)
            .join(Association, Association.id == Mission.association_id)
            .where(scope, Mission.requested_at > since)
            .order_by(Mission.requested_at)
        ).tuples()
    )
    applications = tuple(
        NewApplication(reference, f"{first} {last}", CHANNEL_LABELS[channel], at)
        for reference, first, last, channel, at in session.execute(
            select(
                Mission.reference,
                Volunteer.first_name,
                Volunteer.last_name,
                Application.channel,
                Application.applied_at,
            )
            .join(Mission, Mission.id == Application.mission_id)
            .join(Volunteer, Volunteer.id == Application.volunteer_id)
            .where(mine, Application.applied_at > since)
            .order_by(Application.applied_at)
        ).tuples()
    )
    unanswered = []
    for ask in outsiders.open_asks(session):
        m = session.get(Mission, ask.mail.mission_id)
        if m is None or m.coordinator_id != member.id or not outsiders.still_waits(session, m, ask):
            continue
        v = session.get(Volunteer, ask.volunteer_id) if ask.volunteer_id is not None else None
        who = f"{v.full_name} (bénévole)" if v else f"{m.association.contact_name} ({m.association.name})"
        unanswered.append(Unanswered(m.reference, who, outsiders.ASKS[ask.mail.kind], ask.mail.created_at.date()))
    return Digest(waiting, requests, applications, tuple(unanswered))


def queue(session: Session, member: Coordinator, *, now: datetime, paused: dict[str, str]) -> bool:
    """Queue the member's digest of today unless there is nothing to do or it is queued already; True if queued."""
    about = digest_about(member.id, digest_day(now))
    if session.scalar(select(OutboxMail.id).where(OutboxMail.dedup_key == outbox_key(None, KIND, about))):
        return False  # already today's: its « since » must not move
    digest = build(session, member, now=now, paused=paused)
    if digest.empty:
        return False
    content = compose(KIND, member=member, d=digest, day=digest_day(now), waiting_url=waiting_url())
    return enqueue(session, mission_id=None, kind=KIND, about=about, to=member.email, content=content)


@task(retries=2, retry_delay_seconds=10)
def send_digests(now: datetime | None = None) -> dict[str, Any]:
    """Queue today's digest of every member who wants it, each in its own transaction (one failing does not stop
    the others); the send-mails flow sends them."""
    now = now or utcnow()
    with unit_of_work() as session:
        runs = [r for r in session.scalars(select(Mission.flow_run_id).where(Mission.flow_run_id.is_not(None))) if r]
        ids = [c.id for c in members(session)]
    paused = paused_runs(runs) if runs else {}
    result: dict[str, Any] = {"queued": 0, "nothing_to_do": 0, "errors": []}
    for member_id in ids:
        try:
            with unit_of_work() as session:
                member = session.get(Coordinator, member_id)
                if member is not None and queue(session, member, now=now, paused=paused):
                    result["queued"] += 1
                else:
                    result["nothing_to_do"] += 1
        except Exception as exc:  # one member's digest must not stop the others'
            result["errors"].append(f"C-{member_id} : {exc}")
    return result
