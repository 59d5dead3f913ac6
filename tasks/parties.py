"""What the parties outside P&C answer when a step asks them: the association and each retained volunteer.

A step asks (the roadmap sent for agreement, a check-in's news, the bilan); each party answers its own part by
its signed link, or tells the Passerelle, who records it for them (the audit and `PartyAnswer.actor` say who).
One answer per party and asking (`PartyAnswer`'s unique key): a second click changes nothing and says so. The
Passerelle's form shows the answers received (a section of its description, written again when one arrives) and,
where they fill a field, prefills it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEvent, Mission, PartyAnswer, Volunteer
from models.base import utcnow
from tasks.missions import audit, step_done

ASSOCIATION = "association"
SECTION = "### Réponses des parties"  # the form's section that shows them, written again when one arrives
_SECTION = re.compile(rf"\n{re.escape(SECTION)}\n.*?(?=\n---\n)", re.DOTALL)
ROADMAP_SENT = "roadmap:sent"  # audit action of each sending of the roadmap to the parties (details: its key)

# What a volunteer or the association agrees to when they tick « publier mon témoignage ». Stored with each
# consent: change the text, and the consents given before keep the wording they agreed to.
TESTIMONY_CONSENT = (
    "J'accepte que Passerelles & Compétences publie ce témoignage (site, réseaux sociaux, rapport d'activité), "
    "avec mon prénom et le nom de l'association ; je peux retirer mon accord à tout moment en écrivant à ma "
    "Passerelle."
)


def party_of(volunteer_id: int | None) -> str:
    """The party code of a volunteer (`v12`), or of the association (None)."""
    return ASSOCIATION if volunteer_id is None else f"v{volunteer_id}"


@dataclass(frozen=True)
class Answer:
    """What a party answered (the row's values, for pages, forms and pure rules)."""

    party: str
    answer: str
    comment: str = ""
    rating: int | None = None
    would_redo: bool | None = None
    consent: bool = False
    actor: str = ""
    at: datetime | None = None
    by_link: bool = True


def answers(session: Session, mission_id: int, asked: str) -> dict[str, Answer]:
    """Every party's answer to one asking, by party."""
    rows = session.scalars(select(PartyAnswer).where(PartyAnswer.mission_id == mission_id, PartyAnswer.asked == asked))
    return {
        r.party: Answer(
            r.party,
            r.answer,
            r.comment,
            r.rating,
            r.would_redo,
            r.consent_at is not None,
            r.actor,
            r.answered_at,
            r.by_link,
        )
        for r in rows
    }


def record(
    session: Session,
    mission: Mission,
    *,
    step: str,
    asked: str,
    volunteer: Volunteer | None,
    answer: str,
    actor: str,
    by_link: bool,
    comment: str = "",
    rating: int | None = None,
    would_redo: bool | None = None,
    consent: bool = False,
) -> bool:
    """Record a party's answer once (the mission row is locked first: two clicks at once write one); False when
    that party had answered already. Audited with who answered or recorded it."""
    session.get(Mission, mission.id, with_for_update=True)
    party = party_of(volunteer.id if volunteer else None)
    done = session.scalar(
        select(PartyAnswer.id).where(
            PartyAnswer.mission_id == mission.id, PartyAnswer.asked == asked, PartyAnswer.party == party
        )
    )
    if done is not None:
        return False
    now = utcnow()
    session.add(
        PartyAnswer(
            mission_id=mission.id,
            step=step,
            asked=asked,
            party=party,
            volunteer_id=volunteer.id if volunteer else None,
            answer=answer,
            comment=comment,
            rating=rating,
            would_redo=would_redo,
            consent_wording=TESTIMONY_CONSENT if consent else "",
            consent_at=now if consent else None,
            actor=actor,
            by_link=by_link,
            answered_at=now,
        )
    )
    audit(
        session,
        mission,
        actor=actor,
        action=f"{step}:party-answer",
        step_key=f"answer:{asked}:{party}",
        details={"asked": asked, "party": party, "answer": answer, "by_link": by_link, "consent": consent},
    )
    return True


def record_consent(
    session: Session,
    mission: Mission,
    *,
    step: str,
    asked: str,
    volunteer: Volunteer | None,
    testimony: str,
    actor: str,
) -> None:
    """The Passerelle records that a party agreed, by phone or mail, to publish its testimony: on the party's half
    when it gave one by link without consenting (its own words), else as a half of its own carrying `testimony`
    (no rating). Audited with her name."""
    party = party_of(volunteer.id if volunteer else None)
    row = session.scalar(
        select(PartyAnswer).where(
            PartyAnswer.mission_id == mission.id, PartyAnswer.asked == asked, PartyAnswer.party == party
        )
    )
    if row is not None and row.consent_at is not None:
        return
    now = utcnow()
    if row is None:
        row = PartyAnswer(
            mission_id=mission.id,
            step=step,
            asked=asked,
            party=party,
            volunteer_id=volunteer.id if volunteer else None,
            answer="given",
            actor=actor,
            by_link=False,
            answered_at=now,
        )
        session.add(row)
    row.comment = row.comment or testimony  # their own words when they gave some by link, else the form's
    row.consent_wording, row.consent_at = f"{TESTIMONY_CONSENT} (accord donné à {actor}, hors lien)", now
    audit(
        session,
        mission,
        actor=actor,
        action=f"{step}:consent-recorded",
        step_key=f"consent:{asked}:{party}",
        details={"party": party},
    )


def one_answer(session: Session, mission_id: int, asked: str, party: str) -> Answer | None:
    """One party's answer to an asking, if any."""
    return answers(session, mission_id, asked).get(party)


def latest_sending(session: Session, mission_id: int) -> str:
    """The key of the last sending of the roadmap to the parties ("" when it was never sent)."""
    keys = session.scalars(
        select(AuditEvent.details)
        .where(AuditEvent.mission_id == mission_id, AuditEvent.action == ROADMAP_SENT)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).all()
    return str(keys[0].get("key", "")) if keys else ""


def record_sending(
    session: Session, mission: Mission, key: str, volunteer_ids: list[int], roadmap: dict[str, Any] | None = None
) -> bool:
    """Audit one sending of the roadmap (once per key), with the roadmap as sent (what the parties' pages show);
    False when it was recorded already (a replay)."""
    if step_done(session, mission.id, f"sent:{key}") is not None:
        return False
    audit(
        session,
        mission,
        actor=mission.coordinator.full_name,
        action=ROADMAP_SENT,
        step_key=f"sent:{key}",
        details={
            "key": key,
            "volunteers": volunteer_ids,
            "roadmap": json.loads(json.dumps(roadmap or {}, default=str)),
        },
    )
    return True


def sent_roadmap(session: Session, mission_id: int, key: str) -> dict[str, Any] | None:
    """The roadmap as this sending mailed it (None for a sending recorded before it was kept)."""
    done = step_done(session, mission_id, f"sent:{key}")
    return (done.details.get("roadmap") or None) if done is not None else None


def missing(parties: list[str], received: dict[str, Answer], *, wanted: str | None = None) -> list[str]:
    """The parties who did not answer (or, with `wanted`, did not answer that) — pure."""
    return [p for p in parties if p not in received or (wanted is not None and received[p].answer != wanted)]


_MARKDOWN = re.compile(r"([\\`*_\[\]<>~])")  # inline, after « : no other sign formats there


def as_text(words: str) -> str:
    """Someone's words shown in a form's markdown as text (pure): every markdown sign escaped, one line, so an
    outsider's comment can neither format the page nor load an image from elsewhere."""
    return _MARKDOWN.sub(r"\\\1", " ".join(words.split()))


def section(lines: str) -> str:
    """The form's « Réponses des parties » section (markdown), last in the step's section."""
    return f"\n{SECTION}\n\n{lines}\n"


def replace_section(description: str, new: str) -> str:
    """A form's description with its « Réponses des parties » section replaced by `new` (pure)."""
    return _SECTION.sub(lambda _: new, description, count=1)
