"""Personal invitations: at the applications step the Passerelle invites suggested volunteers to apply; each gets
one mail (the outbox key is the mission and the volunteer: a replayed or repeated answer mails nobody twice) with
their one-click apply link, and an application by that link is recorded with channel « invitation »."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Announcement, AnnouncementStatus, Application, Branch, Invitation, Mission, Volunteer
from tasks.compose import compose
from tasks.links import volunteer_links
from tasks.outbox import enqueue

KIND = "invitation"
_LABEL_ID = re.compile(r"^\s*V-?(\d+)\b", re.IGNORECASE)


def choice_label(v: Volunteer, score: float) -> str:
    """How a suggested volunteer shows among the form's choices: `V-0042 Alice Martin · score 7.5`."""
    return f"{v.label} · score {score:g}"


def invitable(session: Session, mission: Mission, labels: list[str]) -> tuple[list[Volunteer], list[str]]:
    """The volunteers the form's labels name who may be invited, and why the others may not (French): not a
    volunteer, unknown, the mail gate bars them (archived, unsubscribed, no consent to annonces), or they already
    applied. Someone already invited is among the volunteers (inviting again mails nobody)."""
    found: list[Volunteer] = []
    errors: list[str] = []
    for label in dict.fromkeys(x for x in labels if x.strip()):
        m = _LABEL_ID.match(label)
        v = session.get(Volunteer, int(m.group(1))) if m else None
        if v is None:
            errors.append(f"« {label} » ne désigne aucun bénévole à inviter.")
        elif not v.may_receive(KIND):  # the mail gate (models/mail_gate.py) says who may be mailed
            errors.append(f"{v.label} ne peut pas être invité(e) : archivé(e), désinscrit(e) ou sans consentement.")
        elif session.scalar(
            select(Application.id).where(Application.mission_id == mission.id, Application.volunteer_id == v.id)
        ):
            errors.append(f"{v.label} a déjà candidaté : inutile de l'inviter.")
        else:
            found.append(v)
    return found, errors


def _annonce_text(session: Session, mission: Mission) -> str:
    text = session.scalar(
        select(Announcement.text)
        .where(Announcement.mission_id == mission.id, Announcement.status == AnnouncementStatus.APPROVED)
        .order_by(Announcement.round.desc())
        .limit(1)
    )
    return text or mission.need


def invite(session: Session, mission: Mission, volunteers: list[Volunteer], *, step_key: str, actor: str) -> int:
    """Record the invitations and queue one mail per volunteer not invited before; how many were new."""
    already = set(session.scalars(select(Invitation.volunteer_id).where(Invitation.mission_id == mission.id)))
    branch = session.get(Branch, mission.branch_id)
    new = 0
    for v in volunteers:
        if v.id in already:
            continue
        session.add(Invitation(mission_id=mission.id, volunteer_id=v.id, step_key=step_key, invited_by=actor))
        links = volunteer_links(v.id, mission.id)
        content = compose(
            KIND,
            mission=mission,
            volunteer=v,
            branch=branch,
            coordinator=mission.coordinator,
            text=_annonce_text(session, mission),
            **links,
        )
        enqueue(
            session,
            mission_id=mission.id,
            kind=KIND,
            about=f"v{v.id}",
            to=v.email,
            content=content,
            reply_to=mission.coordinator.email,
            list_unsubscribe=links["unsubscribe_url"],
        )
        new += 1
    session.flush()
    return new


def was_invited(session: Session, mission_id: int, volunteer_id: int) -> bool:
    """Whether the volunteer was invited to apply to the mission."""
    return (
        session.scalar(
            select(Invitation.id).where(Invitation.mission_id == mission_id, Invitation.volunteer_id == volunteer_id)
        )
        is not None
    )
