"""What the lifecycle tells people, queued in the outbox in the same transaction as the step that causes it.

One mail per (mission, recipient, kind): the deduplication keys below.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import (
    Application,
    ApplicationStatus,
    Branch,
    CheckInStatus,
    Competence,
    Coordinator,
    Domain,
    Mission,
    MissionCompetence,
    Role,
    Volunteer,
)
from models.outbox import OutboxMail
from models.settings import get_settings
from tasks.compose import compose
from tasks.links import Purpose, annonce_url, link, volunteer_links
from tasks.outbox import enqueue
from tasks.rendering import render

UNDELIVERED = "undelivered"
RETENTION_WARNING = "retention_warning"
CALENDAR = "calendar"  # a calendar invitation (tasks/calendar.py)


def run_url(flow_run_id: str) -> str:
    """The run's page in the Prefect UI, where its form is."""
    return f"{get_settings().public_base_url}/runs/flow-run/{flow_run_id}"


def waiting_url() -> str:
    """Every run waiting for someone."""
    return f"{get_settings().public_base_url}/runs?state=Suspended"


def _volunteers(session: Session, ids: list[int]) -> list[Volunteer]:
    return list(session.scalars(select(Volunteer).where(Volunteer.id.in_(ids)).order_by(Volunteer.id))) if ids else []


def _to_volunteer(
    session: Session,
    mission: Mission,
    v: Volunteer,
    kind: str,
    *,
    occasion: str = "",
    calendar: str = "",
    **ctx: object,
) -> bool:
    """`occasion`, as for the association: what tells apart mails of one kind sent again (each roadmap sending);
    `calendar`: the invitation the mail carries."""
    if not v.may_receive(kind):  # the mail gate (models/mail_gate.py); checked again when it is sent
        return False
    links = volunteer_links(v.id)
    content = compose(kind, mission=mission, volunteer=v, name=v.first_name, is_volunteer=True, **ctx)
    return enqueue(
        session,
        mission_id=mission.id,
        kind=kind,
        about=f"v{v.id}:{occasion}" if occasion else f"v{v.id}",
        to=v.email,
        content=content,
        reply_to=mission.coordinator.email,
        list_unsubscribe=links["unsubscribe_url"],
        calendar=calendar,
    )


def _to_association(
    session: Session, mission: Mission, kind: str, *, occasion: str = "", calendar: str = "", **ctx: object
) -> bool:
    """`occasion` tells apart mails of one kind that a mission may send again (the introduction after a
    withdrawal, each withdrawal): the step key that causes it."""
    a = mission.association
    content = compose(kind, mission=mission, name=a.contact_name, is_volunteer=False, **ctx)
    about = f"association:{occasion}" if occasion else "association"
    return enqueue(
        session,
        mission_id=mission.id,
        kind=kind,
        about=about,
        to=a.contact_email,
        content=content,
        reply_to=mission.coordinator.email,
        calendar=calendar,
    )


def calendar_mail(
    session: Session, mission: Mission, volunteer: Volunteer | None, *, occasion: str, ics: str, **ctx: object
) -> bool:
    """A calendar invitation (new, moved or cancelled date: tasks/calendar.py) to one party, a retained volunteer or
    (None) the association, carrying its .ics; once per event, change and party (`occasion`)."""
    if volunteer is None:
        return _to_association(session, mission, CALENDAR, occasion=occasion, calendar=ics, **ctx)
    return _to_volunteer(session, mission, volunteer, CALENDAR, occasion=occasion, calendar=ics, **ctx)


def waiting(session: Session, mission: Mission, *, step_key: str, step_title: str, instructions: str) -> None:
    """Tell the Passerelle that the mission waits for them, with the link to its form."""
    c = mission.coordinator
    content = compose(
        "waiting",
        mission=mission,
        coordinator=c,
        step_title=step_title,
        instructions=instructions,
        run_url=run_url(mission.flow_run_id or ""),
        waiting_url=waiting_url(),
    )
    enqueue(session, mission_id=mission.id, kind="waiting", about=step_key, to=c.email, content=content)


def mission_moved(session: Session, mission: Mission, *, occasion: str, from_branch: str, reason: str) -> bool:
    """Tell the Passerelle of the branch a mission moved to that she follows it now, where it stands and why it
    came; once per move (`occasion`: its audit key)."""
    c = mission.coordinator
    content = compose(
        "mission_moved",
        mission=mission,
        coordinator=c,
        from_branch=from_branch,
        reason=reason,
        run_url=run_url(mission.flow_run_id or ""),
    )
    return enqueue(
        session, mission_id=mission.id, kind="mission_moved", about=f"{occasion}:c{c.id}", to=c.email, content=content
    )


def at_risk(session: Session, mission: Mission, *, number: int, status: CheckInStatus, notes: str) -> int:
    """Tell the branch's leads that a check-in found the mission at risk or blocked; how many were told."""
    leads = session.scalars(
        select(Coordinator).where(
            Coordinator.branch_id == mission.branch_id,
            Coordinator.role == Role.BRANCH_LEAD,
            Coordinator.active.is_(True),
        )
    ).all()
    for lead in leads:
        content = compose(
            "at_risk",
            mission=mission,
            lead=lead,
            number=number,
            status=status.label,
            notes=notes,
            run_url=run_url(mission.flow_run_id or ""),
        )
        enqueue(
            session,
            mission_id=mission.id,
            kind="at_risk",
            about=f"check-in-{number}:c{lead.id}",
            to=lead.email,
            content=content,
            reply_to=mission.coordinator.email,
        )
    return len(leads)


def social_post(session: Session, mission: Mission, *, text: str) -> int:
    """Give the support team the ready-to-post text (the Passerelle when the team has nobody); how many told."""
    team = session.scalars(
        select(Coordinator)
        .where(Coordinator.role == Role.SUPPORT, Coordinator.active.is_(True))
        .where(or_(Coordinator.branch_id == mission.branch_id, Coordinator.branch_id.is_(None)))
    ).all() or [mission.coordinator]
    for member in team:
        content = compose(
            "social_post", mission=mission, member=member, text=text, public_url=annonce_url(mission.reference)
        )
        enqueue(
            session,
            mission_id=mission.id,
            kind="social_post",
            about=f"c{member.id}",
            to=member.email,
            content=content,
            reply_to=mission.coordinator.email,
        )
    return len(team)


def undelivered(session: Session, failed: OutboxMail) -> None:
    """Tell the mission's Passerelle that a mail could not be delivered (never about a mail to them)."""
    mission = session.get(Mission, failed.mission_id) if failed.mission_id else None
    if mission is None or failed.kind == UNDELIVERED or failed.to_address == mission.coordinator.email:
        return
    c = mission.coordinator
    content = compose(
        UNDELIVERED,
        mission=mission,
        coordinator=c,
        to=failed.to_address,
        failed_subject=failed.subject,
        error=failed.last_error or "refus sans motif",
    )
    enqueue(session, mission_id=mission.id, kind=UNDELIVERED, about=f"mail{failed.id}", to=c.email, content=content)


def competence_names(session: Session, mission: Mission) -> list[str]:
    """Names of the mission's required competences."""
    return list(
        session.scalars(
            select(Competence.name)
            .join(MissionCompetence, MissionCompetence.competence_id == Competence.id)
            .where(MissionCompetence.mission_id == mission.id)
            .order_by(Competence.name)
        )
    )


def _announcement_context(session: Session, mission: Mission) -> dict[str, object]:
    return {
        "mission": mission,
        "association": mission.association,
        "branch": session.get(Branch, mission.branch_id),
        "competences": competence_names(session, mission),
        "national": mission.scope.value == "national",
        "public_url": annonce_url(mission.reference),  # the annonce's public page, where anyone may apply
    }


def draft_announcement(session: Session, mission: Mission) -> str:
    """The annonce drafted from the analysed need."""
    return render("annonce.txt.j2", **_announcement_context(session, mission)).strip()


def social_text(session: Session, mission: Mission) -> str:
    """The ready-to-post text for social networks (short, with hashtags)."""
    return render("social.txt.j2", **_announcement_context(session, mission)).strip()


def selection(session: Session, mission: Mission, *, chosen: list[int], reserve: list[int], occasion: str = "") -> None:
    """Tell the newly retained (and introduce them to the association), and tell the others they are in reserve
    until the search closes, with their link to ask for priority in the domain; `occasion` is the key of a
    selection made again after a withdrawal (the association is introduced to the new volunteer)."""
    domain = session.get(Domain, mission.domain_id) if mission.domain_id else None
    picked = _volunteers(session, chosen)
    for v in picked:
        _to_volunteer(session, mission, v, "selected")
        _to_volunteer(session, mission, v, "introduction_volunteer")
    for v in _volunteers(session, reserve):
        _to_reserve(session, mission, v, domain)
    if picked:
        _to_association(session, mission, "introduction_association", occasion=occasion, volunteers=picked)


def _to_reserve(session: Session, mission: Mission, v: Volunteer, domain: Domain | None) -> None:
    app = session.scalar(
        select(Application).where(Application.mission_id == mission.id, Application.volunteer_id == v.id)
    )
    url = link(Purpose.PRIORITY, v=v.id, m=mission.id)
    _to_volunteer(
        session,
        mission,
        v,
        "reserve",
        priority=bool(app and app.wants_other_mission),
        domain=domain.name if domain else "",
        priority_url=url,
    )


def in_reserve(session: Session, mission: Mission, volunteer: Volunteer) -> None:
    """A volunteer who applied after the selection is in reserve: told so (with the priority link)."""
    domain = session.get(Domain, mission.domain_id) if mission.domain_id else None
    _to_reserve(session, mission, volunteer, domain)


def annonce_to_approve(session: Session, mission: Mission, *, key: str, text: str) -> None:
    """Ask the association to approve this version of the annonce, or to ask for a revision, by its links (once
    per version: `key` is the step asked, `annonce-review-<n>`)."""
    url = link(Purpose.ANNOUNCEMENT, m=mission.id, k=key)
    _to_association(session, mission, "annonce_to_approve", occasion=key, text=text, url=url)


def roadmap_to_approve(session: Session, mission: Mission, *, key: str, roadmap: dict[str, object]) -> None:
    """Ask the association to validate the roadmap the Passerelle sent (once per sending: `key` is its attempt)."""
    url = link(Purpose.ROADMAP, m=mission.id, k=key)
    _to_association(session, mission, "roadmap_to_approve", occasion=key, roadmap=roadmap, url=url)


def roadmap_to_agree(
    session: Session, mission: Mission, volunteer: Volunteer | None, *, key: str, roadmap: dict[str, object]
) -> None:
    """Ask a retained volunteer to agree to the roadmap the Passerelle sent, or to ask for changes (once per
    sending and volunteer)."""
    if volunteer is None:
        return
    url = link(Purpose.ROADMAP_AGREEMENT, v=volunteer.id, m=mission.id, k=key)
    _to_volunteer(session, mission, volunteer, "roadmap_to_agree", occasion=key, roadmap=roadmap, url=url)


def party_answered(
    session: Session, mission: Mission, *, occasion: str, who: str, what: str, comment: str, step_title: str
) -> None:
    """Tell the Passerelle what a party answered that needs her (changes asked to the roadmap, a difficulty)."""
    c = mission.coordinator
    content = compose(
        "party_answered",
        mission=mission,
        coordinator=c,
        who=who,
        what=what,
        comment=comment,
        step_title=step_title,
        run_url=run_url(mission.flow_run_id or ""),
    )
    enqueue(session, mission_id=mission.id, kind="party_answered", about=occasion, to=c.email, content=content)


def review_to_give_volunteer(session: Session, mission: Mission, volunteer: Volunteer | None, *, key: str) -> None:
    """Ask a retained volunteer for their half of the bilan, by their link (once per bilan)."""
    if volunteer is None:
        return
    url = link(Purpose.VOLUNTEER_REVIEW, v=volunteer.id, m=mission.id, k=key)
    _to_volunteer(session, mission, volunteer, "review_to_give_volunteer", occasion=key, url=url)


def check_in_news(session: Session, mission: Mission, volunteer: Volunteer | None, *, key: str) -> int:
    """Ask one party (a retained volunteer; None: the association) how the mission goes at check-in `key`, by its
    link (once per check-in and party); 1 when asked."""
    if volunteer is None:
        url = link(Purpose.NEWS, m=mission.id, k=key)
        return int(_to_association(session, mission, "check_in_news", occasion=key, url=url))
    url = link(Purpose.NEWS, v=volunteer.id, m=mission.id, k=key)
    return int(_to_volunteer(session, mission, volunteer, "check_in_news", occasion=key, url=url))


def party_reminder(
    session: Session, mission: Mission, volunteer_id: int | None, *, occasion: str, what: str, url: str, n: int
) -> int:
    """Remind a person outside P&C of a link left unanswered (reminder `n` of 2); 1 when queued."""
    if volunteer_id is None:
        return int(_to_association(session, mission, "party_reminder", occasion=occasion, what=what, url=url, n=n))
    v = session.get(Volunteer, volunteer_id)
    if v is None:
        return 0
    return int(_to_volunteer(session, mission, v, "party_reminder", occasion=occasion, what=what, url=url, n=n))


def party_silent(session: Session, mission: Mission, *, occasion: str, who: str, what: str, since: datetime) -> int:
    """Tell the Passerelle that someone left a link unanswered after two reminders; 1 when queued."""
    c = mission.coordinator
    content = compose(
        "party_silent",
        mission=mission,
        coordinator=c,
        who=who,
        what=what,
        since=since,
        run_url=run_url(mission.flow_run_id or ""),
    )
    return int(
        enqueue(session, mission_id=mission.id, kind="party_silent", about=occasion, to=c.email, content=content)
    )


def review_to_give(session: Session, mission: Mission, *, key: str) -> None:
    """Ask the association for its own bilan of the mission, by its link."""
    url = link(Purpose.REVIEW, m=mission.id, k=key)
    _to_association(session, mission, "review_to_give", occasion=key, url=url)


def application_received(
    session: Session, mission: Mission, volunteer: Volunteer, *, message: str, reserve: bool = False
) -> None:
    """Tell the Passerelle that a volunteer applied by the annonce's link (after the selection: in reserve)."""
    c = mission.coordinator
    content = compose(
        "application_received",
        mission=mission,
        coordinator=c,
        volunteer=volunteer,
        message=message,
        reserve=reserve,
        run_url=run_url(mission.flow_run_id or ""),
    )
    enqueue(
        session,
        mission_id=mission.id,
        kind="application_received",
        about=f"v{volunteer.id}",
        to=c.email,
        content=content,
    )


def withdrawal(session: Session, mission: Mission, volunteer_ids: list[int], *, occasion: str, reason: str) -> None:
    """Tell the association that its volunteer(s) withdrew and the search reopens; acknowledge to each of them."""
    withdrawn = _volunteers(session, volunteer_ids)
    for v in withdrawn:
        _to_volunteer(session, mission, v, "withdrawal_volunteer")
    _to_association(session, mission, "withdrawal_association", occasion=occasion, volunteers=withdrawn, reason=reason)


def search_closed(session: Session, mission: Mission, volunteer_ids: list[int]) -> None:
    """Tell the applicants still waiting that the search is closed."""
    for v in _volunteers(session, volunteer_ids):
        _to_volunteer(session, mission, v, "search_closed")


def completed(session: Session, mission: Mission) -> None:
    """Thank the retained volunteers and the association."""
    ids = session.scalars(
        select(Application.volunteer_id).where(
            Application.mission_id == mission.id, Application.status == ApplicationStatus.SELECTED
        )
    )
    for v in _volunteers(session, list(ids)):
        _to_volunteer(session, mission, v, "completed")
    _to_association(session, mission, "completed")


def people_to_tell_of_cancel(session: Session, mission: Mission) -> list[int]:
    """The volunteers a cancellation concerns: applicants still waiting and those retained."""
    return list(
        session.scalars(
            select(Application.volunteer_id).where(
                Application.mission_id == mission.id,
                Application.status.in_([ApplicationStatus.RECEIVED, ApplicationStatus.SELECTED]),
            )
        )
    )


def cancelled(session: Session, mission: Mission, volunteer_ids: list[int]) -> None:
    """Tell the association and the volunteers concerned that the mission is cancelled, and why."""
    for v in _volunteers(session, volunteer_ids):
        _to_volunteer(session, mission, v, "cancelled")
    _to_association(session, mission, "cancelled")


def retention_warning(session: Session, v: Volunteer, *, days: int, now: datetime) -> None:
    """Tell an inactive volunteer that their data will be erased in `days` days unless they confirm their
    preferences (once per warning period)."""
    if not v.may_receive(RETENTION_WARNING):
        return
    links = volunteer_links(v.id)
    content = compose(RETENTION_WARNING, volunteer=v, deadline=(now + timedelta(days=days)).date(), **links)
    enqueue(
        session,
        mission_id=None,
        kind=RETENTION_WARNING,
        about=f"v{v.id}:{now:%Y-%m}",
        to=v.email,
        content=content,
        list_unsubscribe=links["unsubscribe_url"],
    )
