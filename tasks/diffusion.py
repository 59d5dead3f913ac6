"""Diffusion of an approved annonce: who receives it, in which order, and the mails it makes."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, insert, or_, select
from sqlalchemy.orm import Session

from models import Branch, Channel, Diffusion, Mission, PriorityFlag, Scope, Volunteer
from models.outbox import OutboxMail
from models.refusals import StepRefused
from models.waves import Wave
from tasks import notices
from tasks.compose import MailContent, compose
from tasks.links import annonce_url, volunteer_links
from tasks.outbox import outbox_key

KIND = "annonce"  # the outbox kind of an annonce mail


def may_receive(mission: Mission) -> ColumnElement[bool]:
    """Who the mission's annonce may reach at all (SQL): reachable volunteers of the branch, and nationally those
    who accept national annonces when the mission can be done remotely. Suggestions use it; the diffusion sends it
    in waves (`reached_by`)."""
    return reached_by(mission, Wave.NATIONAL if mission.scope is Scope.NATIONAL else Wave.BRANCH)


def reached_by(mission: Mission, wave: Wave) -> ColumnElement[bool]:
    """Who the annonce reaches once `wave` is sent (SQL; models/waves.py): priority volunteers in the domain of the
    branch, the branch, or the branch and those of the whole country who accept national annonces."""
    scope: ColumnElement[bool] = Volunteer.branch_id == mission.branch_id
    if wave is Wave.NATIONAL:
        scope = or_(scope, Volunteer.consent_national.is_(True))
    if wave is Wave.PRIORITY:
        scope = and_(scope, _priority(mission))
    return and_(Volunteer.reachable, scope)


def _priority(mission: Mission) -> ColumnElement[bool]:
    return exists().where(
        PriorityFlag.volunteer_id == Volunteer.id,
        PriorityFlag.domain_id == mission.domain_id,
        PriorityFlag.cleared_at.is_(None),
    )


def audience(session: Session, mission: Mission) -> list[tuple[int, bool]]:
    """(volunteer id, has priority in the domain) of everyone the annonce may reach, priority first."""
    return [(r.id, r.priority) for r in session.execute(_audience(mission, None))]


def _audience(mission: Mission, wave: Wave | None) -> Select[int, bool, str, str, str, bool]:
    priority = _priority(mission)
    columns = (
        Volunteer.id,
        priority.label("priority"),
        Volunteer.email,
        Volunteer.first_name,
        Volunteer.last_name,
        Volunteer.is_relay,
    )
    who = may_receive(mission) if wave is None else reached_by(mission, wave)
    return select(*columns).where(who).order_by(priority.desc(), Volunteer.id)


BATCH = 1000  # outbox rows per INSERT


def diffuse(
    session: Session, mission: Mission, *, round_: int, wave: Wave, text: str, social: str = ""
) -> dict[str, int]:
    """Queue the annonce for everyone `wave` reaches not mailed yet, record the mail diffusion of this round (one
    row per round and channel: a round that passes an empty wave records the next), and give the support team the
    social networks post to publish (recorded when they confirm it).

    A national audience is tens of thousands: the annonce is rendered once per variant and personalised per
    volunteer (`Annonce`), the rows are inserted in batches; one row per volunteer and mission whatever happens
    (the outbox key), so a replayed step adds nothing."""
    already = set(
        session.scalars(
            select(OutboxMail.dedup_key).where(OutboxMail.mission_id == mission.id, OutboxMail.kind == KIND)
        )
    )
    branch = session.get(Branch, mission.branch_id)
    assert branch is not None
    annonce = Annonce(mission, branch, text)
    reply_to = mission.coordinator.email  # « répondez à ce mail » reaches the Passerelle
    rows: list[dict[str, Any]] = []
    queued = priority_count = 0
    for person in session.execute(_audience(mission, wave)):
        key = outbox_key(mission.id, KIND, f"v{person.id}")
        if key in already:
            continue
        links = volunteer_links(person.id, mission.id, relay=person.is_relay)
        content = annonce.content(person, person.priority, links)
        rows.append(
            {
                "dedup_key": key,
                "mission_id": mission.id,
                "kind": KIND,
                "to_address": person.email,
                "reply_to": reply_to,
                "list_unsubscribe": links["unsubscribe_url"],
                "subject": content.subject,
                "text_body": content.text,
                "html_body": content.html,
            }
        )
        queued += 1
        priority_count += person.priority
        if len(rows) == BATCH:
            session.execute(insert(OutboxMail), rows)
            rows = []
    if rows:
        session.execute(insert(OutboxMail), rows)
    channel = Channel.NATIONAL_EMAIL if wave is Wave.NATIONAL else Channel.EMAIL
    mail_rounds = session.scalars(
        select(Diffusion).where(
            Diffusion.mission_id == mission.id,
            Diffusion.round == round_,
            Diffusion.channel.in_([Channel.EMAIL, Channel.NATIONAL_EMAIL]),
        )
    ).all()
    if mail_rounds:  # the round passed an empty wave: it records the wave it went on to
        row = mail_rounds[0]
        row.channel, row.wave = channel, wave
        row.audience_size += queued
        row.priority_count += priority_count
    else:
        session.add(
            Diffusion(
                mission_id=mission.id,
                channel=channel,
                round=round_,
                wave=wave,
                audience_size=queued,
                priority_count=priority_count,
            )
        )
    session.flush()
    if social and round_ == 1:  # widening the search mails more volunteers; the post is already out
        notices.social_post(session, mission, text=social)
    return {"queued": queued, "priority": priority_count}


class Annonce:
    """The annonce mail of one mission, rendered once per variant (priority, relay: with their forwarding link) with
    placeholders, then personalised per volunteer by replacing them: the very text of `compose` per volunteer
    (tested), at a fraction of the cost for a national audience. A name the layout could turn into a link is
    rendered the slow way."""

    # URL placeholders are URLs, so that the layout's urlize links them as it links the real ones; names use
    # private-use characters no one types. URLs are replaced first: a name never goes through a second pass.
    URLS = {
        "apply_url": "https://apply.zzpc.invalid/zz",
        "preferences_url": "https://prefs.zzpc.invalid/zz",
        "unsubscribe_url": "https://unsub.zzpc.invalid/zz",
        "relay_url": "https://relay.zzpc.invalid/zz",  # a relay's only
    }
    NAMES = {"first_name": "\ue000first\ue000", "full_name": "\ue000full\ue000"}
    ODD = re.compile(r"[@:/.\n<>&\"'\ue000]|www", re.IGNORECASE)  # what urlize or escaping could treat apart
    ODD_URL = re.compile(r"[\s<>&\"'()\ue000]|zzpc")

    def __init__(self, mission: Mission, branch: Branch, text: str) -> None:
        self.mission, self.branch, self.text = mission, branch, text
        self.variants: dict[tuple[bool, bool], MailContent] = {}

    def _compose(self, volunteer: Any, priority: bool, links: dict[str, str]) -> MailContent:
        return compose(
            KIND,
            mission=self.mission,
            volunteer=volunteer,
            text=self.text,
            branch=self.branch,
            priority=priority,
            public_url=annonce_url(self.mission.reference),
            **links,
        )

    def content(self, person: Any, priority: bool, links: dict[str, str]) -> MailContent:
        """The mail for `person` (first_name, last_name, is_relay)."""
        names = {"first_name": person.first_name, "full_name": f"{person.first_name} {person.last_name}"}
        if self.ODD.search(names["full_name"]) or self.ODD_URL.search("".join(links.values())):
            return self._compose(SimpleNamespace(is_relay=person.is_relay, **names), priority, links)
        key = (bool(priority), bool(person.is_relay))
        if key not in self.variants:
            self.variants[key] = self._compose(SimpleNamespace(is_relay=key[1], **self.NAMES), key[0], self.URLS)
        base = self.variants[key]
        return MailContent(base.subject, self._fill(base.text, links, names), self._fill(base.html, links, names))

    def _fill(self, body: str, links: dict[str, str], names: dict[str, str]) -> str:
        for field, mark in self.URLS.items():
            if field in links:
                body = body.replace(mark, links[field])
        for field, mark in self.NAMES.items():
            body = body.replace(mark, names[field])
        return body


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
