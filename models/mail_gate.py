"""The one gate for mails to volunteers: who may be mailed, for what kind of mail. Applied when a mail is queued
(tasks/notices.py, the diffusion's audience as SQL: `Volunteer.reachable`) and again when it is sent
(tasks/outbox.py): a volunteer archived or unsubscribed after a mail was queued does not get it.

- An unsubscribed address (one click on any mail; erased people are unsubscribed too) gets nothing at all.
- An archived volunteer gets only what the law asks of us: the notice before their data is erased (RGPD, articles
  5-1-e and 12-14: information on the retention of their data, with the way to keep it). Nothing about missions:
  an archived volunteer is out of the process (`passerelles volunteer archive` promises « il ne reçoit plus rien »).
- An annonce, and a Passerelle's personal invitation to apply, also need the volunteer's consent to annonces.
- Everything else (selection, introduction, in reserve, search closed, withdrawal, mission completed or
  cancelled) goes to an active volunteer about a mission they applied to.
"""

from __future__ import annotations

from enum import StrEnum


class MailNeed(StrEnum):
    """Why a kind of mail is sent to a volunteer."""

    ANNOUNCEMENT = "annonce"  # an offer of a mission: consent required
    MISSION = "mission"  # about a mission they applied to or are retained on
    LAW = "loi"  # what the law asks us to tell them


VOLUNTEER_MAILS: dict[str, MailNeed] = {
    "annonce": MailNeed.ANNOUNCEMENT,
    "invitation": MailNeed.ANNOUNCEMENT,  # a Passerelle's personal invitation to apply: an offer of a mission too
    "selected": MailNeed.MISSION,
    "introduction_volunteer": MailNeed.MISSION,
    "reserve": MailNeed.MISSION,
    "withdrawal_volunteer": MailNeed.MISSION,
    "search_closed": MailNeed.MISSION,
    "roadmap_to_agree": MailNeed.MISSION,
    "review_to_give_volunteer": MailNeed.MISSION,
    "check_in_news": MailNeed.MISSION,
    "party_reminder": MailNeed.MISSION,
    "completed": MailNeed.MISSION,
    "cancelled": MailNeed.MISSION,
    "calendar": MailNeed.MISSION,  # a check-in's day as a calendar invitation (tasks/calendar.py)
    "retention_warning": MailNeed.LAW,
}


def may_mail(kind: str, *, consents_to_announcements: bool, archived: bool, unsubscribed: bool) -> bool:
    """Whether a volunteer in this state may receive a mail of `kind` (a kind not listed is a mission's mail)."""
    need = VOLUNTEER_MAILS.get(kind, MailNeed.MISSION)
    if unsubscribed:
        return False
    if need is MailNeed.LAW:
        return True
    if archived:
        return False
    return consents_to_announcements if need is MailNeed.ANNOUNCEMENT else True
