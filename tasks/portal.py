"""What people outside P&C do through the portal's signed links, as plain functions over a session.

Each action checks everything before writing anything (a refusal is a `StepRefused` with the French sentence the
page shows) and is tied to state that changes once, so a second click says it was already done. Answering a
suspended step (the association approving the annonce) is in the portal package: it goes through the Prefect
API, as the UI does, and the step's own checks and writes run in the mission's flow.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Announcement,
    AnnouncementStatus,
    Application,
    ApplicationStatus,
    Availability,
    Branch,
    Channel,
    Competence,
    ConsentKind,
    ConsentSource,
    Domain,
    Mission,
    MissionStatus,
    Volunteer,
    VolunteerCompetence,
)
from models.base import utcnow
from models.db import unit_of_work
from models.volunteer import AVAILABILITY_LABELS, LEVEL_LABELS
from tasks import notices
from tasks.consents import CONSENT_LABELS, log_change, set_consent
from tasks.matching import rank_applicants
from tasks.missions import OPEN_TO_APPLICATIONS, record_application
from tasks.refusals import PersonRefused, StepRefused, TextRefused
from tasks.runs import rewrite_description
from tasks.steps import APPLICATIONS
from tasks.steps.answers import describe
from tasks.steps.selection import set_priority

MESSAGE_MAX = 2000
_TAG = re.compile(r"<\s*[a-zA-Z!/?][^>]*>")

logger = logging.getLogger("passerelles.portal")


def check_message(message: str, *, required: bool = False, what: str = "Votre message") -> str:
    """A free text typed on the portal, stripped; StepRefused if too long, made of HTML, or missing."""
    text = message.strip()
    if required and not text:
        raise TextRefused(f"Le champ « {what} » est vide : écrivez quelques mots.")
    if len(text) > MESSAGE_MAX:
        raise TextRefused(f"Le champ « {what} » compte {len(text)} caractères : {MESSAGE_MAX} au plus.")
    if _TAG.search(text):
        raise TextRefused(f"Le champ « {what} » contient des balises HTML : écrivez en texte simple.")
    return text


UNKNOWN = "Ce lien ne correspond à aucun bénévole : votre fiche a peut-être été effacée à votre demande."


def volunteer(session: Session, volunteer_id: object) -> Volunteer:
    """The volunteer a link names; StepRefused if there is none (erased at their request) or archived."""
    found = session.get(Volunteer, volunteer_id) if isinstance(volunteer_id, int) else None
    if found is None:
        raise PersonRefused(UNKNOWN)
    if found.archived_at is not None:
        raise PersonRefused("Votre fiche de bénévole est archivée : contactez votre antenne pour la réactiver.")
    return found


def mission(session: Session, mission_id: object) -> Mission:
    """The mission a link names; StepRefused if there is none."""
    found = session.get(Mission, mission_id) if isinstance(mission_id, int) else None
    if found is None:
        raise StepRefused("Cette mission n'existe pas (ou plus).")
    return found


@dataclass(frozen=True)
class MissionPage:
    """What the apply page shows of a mission."""

    reference: str
    title: str
    association: str
    branch: str
    text: str
    open: bool
    status: str


def mission_page(session: Session, m: Mission) -> MissionPage:
    """The mission as a volunteer sees it: the approved annonce."""
    text = session.scalar(
        select(Announcement.text)
        .where(Announcement.mission_id == m.id, Announcement.status == AnnouncementStatus.APPROVED)
        .order_by(Announcement.round.desc())
    )
    branch = session.get(Branch, m.branch_id)
    return MissionPage(
        m.reference,
        m.title,
        m.association.name,
        branch.name if branch else "",
        text or m.need or m.request,
        m.status is MissionStatus.PUBLISHED,
        m.status.label,
    )


def application_of(session: Session, volunteer_id: int, mission_id: int) -> Application | None:
    """The volunteer's application to the mission, if any."""
    return session.scalar(
        select(Application).where(Application.mission_id == mission_id, Application.volunteer_id == volunteer_id)
    )


def apply(session: Session, volunteer_id: object, mission_id: object, message: str) -> bool:
    """Record the volunteer's application by link (channel `link`), rank it, tell the Passerelle; False when it was
    already recorded (nothing is written again)."""
    v, m = volunteer(session, volunteer_id), mission(session, mission_id)
    if application_of(session, v.id, m.id) is not None:
        return False
    text = check_message(message)
    if m.status not in OPEN_TO_APPLICATIONS:
        raise StepRefused(f"La mission {m.reference} n'est plus ouverte aux candidatures ({m.status.label.lower()}).")
    m = session.get(Mission, m.id, with_for_update=True) or m  # one application per volunteer, even clicked twice
    _, new = record_application(session, m, v, channel=Channel.LINK, message=text)
    if not new:
        return False
    session.flush()
    rank_applicants(session, m)
    reserve = m.status is MissionStatus.SELECTED
    notices.application_received(session, m, v, message=text, reserve=reserve)
    if reserve:
        notices.in_reserve(session, m, v)
    return True


def ask_priority(session: Session, volunteer_id: object, mission_id: object) -> bool:
    """A volunteer not retained asks, by the link of their reserve mail, for another mission in the mission's
    domain: priority there (the seed's rule); False when they already had it."""
    v, m = volunteer(session, volunteer_id), mission(session, mission_id)
    app = application_of(session, v.id, m.id)
    if app is None or app.status not in (
        ApplicationStatus.RESERVE,
        ApplicationStatus.CLOSED,
        ApplicationStatus.NOT_SELECTED,
    ):
        raise StepRefused(f"Votre candidature à la mission {m.reference} n'est pas en réserve : rien à demander ici.")
    if m.domain_id is None:
        raise StepRefused("Cette mission n'a pas encore de domaine : rien à demander ici.")
    if app.wants_other_mission:
        return False
    app.wants_other_mission = True
    set_priority(session, v.id, m, utcnow())
    log_change(
        session,
        v,
        actor=f"{v.full_name} (par son lien)",
        source=ConsentSource.LINK,
        changes=[f"priorité demandée dans le domaine de la mission {m.reference}"],
    )
    return True


def unsubscribe(session: Session, volunteer_id: object) -> bool:
    """Stop every mail to the volunteer: no more annonces, and mails already queued are not sent; False when they
    had already unsubscribed."""
    found = session.get(Volunteer, volunteer_id, with_for_update=True) if isinstance(volunteer_id, int) else None
    if found is None:
        raise PersonRefused(UNKNOWN)
    if found.unsubscribed_at is not None:
        return False
    found.unsubscribed_at = utcnow()
    changes = ["désinscrit(e) de tous les mails"]
    for kind in ConsentKind:
        if set_consent(session, found, kind, False, ConsentSource.LINK):
            changes.append(f"{CONSENT_LABELS[kind]} : non")
    log_change(session, found, actor=found.full_name, source=ConsentSource.LINK, changes=changes)
    return True


@dataclass(frozen=True)
class CompetenceChoice:
    """One competence of the taxonomy on the preferences page, with the volunteer's level (0: none)."""

    code: str
    name: str
    domain: str
    level: int


def preferences(session: Session, v: Volunteer) -> list[CompetenceChoice]:
    """Every competence of the taxonomy, by domain, with the volunteer's level."""
    levels = dict(
        session.execute(
            select(VolunteerCompetence.competence_id, VolunteerCompetence.level).where(
                VolunteerCompetence.volunteer_id == v.id
            )
        )
        .tuples()
        .all()
    )
    rows = session.execute(
        select(Competence.id, Competence.code, Competence.name, Domain.name)
        .join(Domain, Domain.id == Competence.domain_id)
        .order_by(Domain.name, Competence.name)
    ).tuples()
    return [CompetenceChoice(code, name, domain, levels.get(cid, 0)) for cid, code, name, domain in rows]


def save_preferences(session: Session, volunteer_id: object, fields: dict[str, str]) -> list[str]:
    """Apply the preferences form (consents, availability, competences and levels) all or nothing; the changes,
    in French, kept in the volunteer's record. Ticking an annonce consent after unsubscribing subscribes again."""
    v = volunteer(session, volunteer_id)
    try:
        availability = Availability(fields.get("disponibilite", ""))
    except ValueError as exc:
        raise StepRefused("Choisissez votre disponibilité parmi celles proposées.") from exc
    known = {c.code: c for c in session.scalars(select(Competence))}
    wanted: dict[int, int] = {}
    for name, value in fields.items():
        if not name.startswith("c:"):
            continue
        code = name[2:]
        if code not in known or value not in ("0", "1", "2", "3"):
            raise StepRefused("Une compétence ou un niveau du formulaire est inconnu : rechargez la page.")
        if value != "0":
            wanted[known[code].id] = int(value)
    consents = {
        ConsentKind.ANNOUNCEMENTS: fields.get("annonces") == "oui",
        ConsentKind.NATIONAL: fields.get("national") == "oui",
    }
    if consents[ConsentKind.NATIONAL] and not consents[ConsentKind.ANNOUNCEMENTS]:
        raise StepRefused("Les annonces nationales s'ajoutent à celles de votre antenne : cochez aussi ces dernières.")
    changes = [
        f"{CONSENT_LABELS[kind]} : {'oui' if granted else 'non'}"
        for kind, granted in consents.items()
        if set_consent(session, v, kind, granted, ConsentSource.LINK)
    ]
    if consents[ConsentKind.ANNOUNCEMENTS] and v.unsubscribed_at is not None:
        v.unsubscribed_at = None
        changes.append("réinscrit(e) aux mails")
    if availability is not v.availability:
        v.availability = availability
        changes.append(f"disponibilité : {AVAILABILITY_LABELS[availability].lower()}")
    current = {
        vc.competence_id: vc
        for vc in session.scalars(select(VolunteerCompetence).where(VolunteerCompetence.volunteer_id == v.id))
    }
    names = {c.id: c.name for c in known.values()}
    for cid, vc in current.items():
        if cid not in wanted:
            session.delete(vc)
            changes.append(f"compétence retirée : {names[cid]}")
        elif vc.level != wanted[cid]:
            vc.level = wanted[cid]
            changes.append(f"{names[cid]} : {LEVEL_LABELS[wanted[cid]]}")
    for cid, level in wanted.items():
        if cid not in current:
            session.add(VolunteerCompetence(volunteer_id=v.id, competence_id=cid, level=level))
            changes.append(f"compétence ajoutée : {names[cid]} ({LEVEL_LABELS[level]})")
    # Saving unchanged preferences is still news from the volunteer: it keeps their data (retention).
    log_change(session, v, actor=v.full_name, source=ConsentSource.LINK, changes=changes or ["préférences confirmées"])
    return changes


def refresh_applications_form(mission_id: int) -> None:
    """An application by link shows at once in the applications form waiting for the Passerelle: its description
    (the ranked applicants) is written again. Never fails the application, which is recorded already."""

    def description(key: str) -> str:
        with unit_of_work() as session:
            m = mission(session, mission_id)
            spec = describe(session, m, APPLICATIONS, n=int(key.rsplit("-", 1)[1]), error="", previous=None)
        return str(spec["description"])

    try:
        with unit_of_work() as session:
            run_id = mission(session, mission_id).flow_run_id
        if run_id:
            rewrite_description(run_id, f"{APPLICATIONS.round_key}-", description)
    except Exception:  # the Prefect API is down: the next form of the step will show it
        logger.warning("formulaire de la mission %s non rafraîchi", mission_id, exc_info=True)
