"""People outside P&C asked by a link: the check-in's question at each check-in date, and the reminders of a link
left unanswered.

Every ask is a mail in the outbox (`ASKS`: the annonce and roadmap to the association, the roadmap to each
retained volunteer, the bilan to each party, the check-in's question), so the outbox says who was asked what, and
when. An ask still unanswered `outsider_reminder_days` after it was queued gets one reminder with its link, a
second after as many days again, then the Passerelle is told once; never more than two reminders per link, and
nothing once the step moved on (answered, by the person or by the Passerelle; a newer version sent). Each mail has
its key (`party_reminder` / `party_silent`, about the ask and its number): running this often sends nothing twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Application, ApplicationStatus, CheckIn, Mission, MissionStatus, OutboxMail, Volunteer
from models.settings import get_settings
from tasks import notices, parties
from tasks.missions import step_done
from tasks.runs import answered
from tasks.steps import ANNOUNCEMENT, CHECK_IN, REVIEW, ROADMAP, withdrawal

NEWS = "check_in_news"
# ask mail kind -> what the reminder says is awaited
ASKS = {
    "annonce_to_approve": "votre approbation de l'annonce",
    "roadmap_to_approve": "votre validation de la feuille de route",
    "roadmap_to_agree": "votre accord sur la feuille de route",
    "review_to_give": "votre bilan de la mission",
    "review_to_give_volunteer": "votre bilan de la mission",
    NEWS: "vos nouvelles de la mission",
}
_ABOUT = re.compile(r"^m\d+:[a-z_]+:(?:(?P<association>association)|v(?P<volunteer>\d+)):(?P<key>.+)$")


@dataclass(frozen=True)
class Ask:
    """One link sent to one person: the mail that carried it."""

    mail: OutboxMail
    volunteer_id: int | None  # None: the association
    key: str  # the step key it answers

    @property
    def party(self) -> str:
        return parties.party_of(self.volunteer_id)


def portal_link(text: str) -> str:
    """The portal link an ask mail carries (not another address its text may quote: an annonce names sites)."""
    portal = re.escape(get_settings().portal_url.rstrip("/"))
    found = re.search(rf"{portal}/\S+", text)
    return found.group(0) if found else ""


def reminders_due(asked_at: datetime, now: datetime, days: int) -> int:
    """How many reminders an ask unanswered since `asked_at` should have had by `now` (0, 1, 2), and 3 once the
    Passerelle is to be told (pure)."""
    return min(int((now - asked_at) / timedelta(days=days)), 3) if now > asked_at else 0


def still_waits(session: Session, m: Mission, ask: Ask) -> bool:
    """Whether the ask still waits for that person: its step not answered nor moved on."""
    kind = ask.mail.kind
    if kind == "annonce_to_approve":
        latest = session.scalar(
            select(func.max(OutboxMail.id)).where(OutboxMail.mission_id == m.id, OutboxMail.kind == kind)
        )
        return (
            m.status is ANNOUNCEMENT.status
            and latest == ask.mail.id
            and answered(session, m.id, ANNOUNCEMENT.key, ask.key) is None
        )
    if kind in ("roadmap_to_approve", "roadmap_to_agree"):
        if m.status is not ROADMAP.status or parties.latest_sending(session, m.id) != ask.key:
            return False
        if kind == "roadmap_to_approve":  # the association's answer (or the Passerelle's) answers that very form
            return step_done(session, m.id, ask.key) is None
        return _retained(session, m, ask.volunteer_id) and parties.one_answer(session, m.id, ask.key, ask.party) is None
    if kind.startswith("review_to_give"):
        return (
            m.status is REVIEW.status  # the bilan ends the mission: in progress, it still waits
            and (ask.volunteer_id is None or _retained(session, m, ask.volunteer_id))
            and parties.one_answer(session, m.id, REVIEW.key, ask.party) is None
        )
    number = int(ask.key.rsplit("-", 1)[1])
    done = session.scalar(select(CheckIn.id).where(CheckIn.mission_id == m.id, CheckIn.number == number))
    return (
        m.status is CHECK_IN.status
        and done is None
        and (ask.volunteer_id is None or _retained(session, m, ask.volunteer_id))
        and parties.one_answer(session, m.id, ask.key, ask.party) is None
    )


def _retained(session: Session, m: Mission, volunteer_id: int | None) -> bool:
    status = session.scalar(
        select(Application.status).where(Application.mission_id == m.id, Application.volunteer_id == volunteer_id)
    )
    return status is ApplicationStatus.SELECTED


def open_asks(session: Session) -> list[Ask]:
    """Every ask mail of an open mission."""
    rows = session.scalars(
        select(OutboxMail)
        .join(Mission, Mission.id == OutboxMail.mission_id)
        .where(
            OutboxMail.kind.in_(list(ASKS)), Mission.status.not_in([MissionStatus.COMPLETED, MissionStatus.CANCELLED])
        )
        .order_by(OutboxMail.id)
    )
    asks = []
    for mail in rows:
        found = _ABOUT.match(mail.dedup_key)
        if found is not None:
            volunteer = found.group("volunteer")
            asks.append(Ask(mail, int(volunteer) if volunteer else None, found.group("key")))
    return asks


def remind_outsiders(session: Session, now: datetime) -> dict[str, int]:
    """Queue the reminders due now, and tell the Passerelles of the links still unanswered after two."""
    days = get_settings().outsider_reminder_days
    counts = {"reminders": 0, "passerelle_told": 0}
    for ask in open_asks(session):
        due = reminders_due(ask.mail.created_at, now, days)
        if due == 0:
            continue
        m = session.get(Mission, ask.mail.mission_id)
        if m is None or not still_waits(session, m, ask):
            continue
        url = portal_link(ask.mail.text_body)
        what = ASKS[ask.mail.kind]
        for n in range(1, min(due, 2) + 1):
            counts["reminders"] += notices.party_reminder(
                session, m, ask.volunteer_id, occasion=f"{ask.mail.kind}:{ask.key}:{n}", what=what, url=url, n=n
            )
        if due == 3:
            who = _who(session, m, ask.volunteer_id)
            counts["passerelle_told"] += notices.party_silent(
                session,
                m,
                occasion=f"{ask.mail.kind}:{ask.party}:{ask.key}",
                who=who,
                what=what,
                since=ask.mail.created_at,
            )
    return counts


def _who(session: Session, m: Mission, volunteer_id: int | None) -> str:
    if volunteer_id is None:
        return f"{m.association.contact_name} ({m.association.name})"
    v = session.get(Volunteer, volunteer_id)
    return f"{v.full_name} (bénévole)" if v else "un bénévole"


def check_in_due(snapshot_since: date, level_days: int, today: date) -> bool:
    """Whether a check-in waiting since `snapshot_since` is due (its rhythm reached) — pure."""
    return today >= snapshot_since + timedelta(days=level_days)


def ask_news(session: Session, m: Mission, number: int) -> int:
    """Ask the association and each retained volunteer how check-in `number` finds the mission (once per check-in
    and person); how many were asked."""
    key = CHECK_IN.step_key(number)
    asked = notices.check_in_news(session, m, None, key=key)
    for vid in withdrawal.retained(session, m):
        asked += notices.check_in_news(session, m, session.get(Volunteer, vid), key=key)
    return asked
