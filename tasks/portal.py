"""What people outside P&C do through the portal's signed links, as plain functions over a session.

Each action checks everything before writing anything (a refusal is a `StepRefused` with the French sentence the
page shows) and is tied to state that changes once, so a second click says it was already done. Answering a
suspended step (the association approving the annonce) is in the portal package: it goes through the Prefect
API, as the UI does, and the step's own checks and writes run in the mission's flow.
"""

from __future__ import annotations

import logging
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
from models.refusals import PersonRefused, StepRefused, TextRefused
from models.text import check_text
from models.volunteer import AVAILABILITY_LABELS, LEVEL_LABELS
from tasks import notices, parties
from tasks.consents import CONSENT_LABELS, log_change, set_consent
from tasks.invitations import was_invited
from tasks.matching import rank_applicants
from tasks.missions import OPEN_TO_APPLICATIONS, record_application
from tasks.runs import resume, rewrite_form, waiting_form
from tasks.steps import APPLICATIONS, CHECK_IN, REVIEW, ROADMAP
from tasks.steps import check_in as check_in_step
from tasks.steps import review as review_step
from tasks.steps import roadmap as roadmap_step
from tasks.steps.answers import describe
from tasks.steps.selection import set_priority

MESSAGE_MAX = 2000

logger = logging.getLogger("passerelles.portal")


def check_message(message: str, *, required: bool = False, what: str = "Votre message") -> str:
    """A free text typed on a signed link's page (several lines), checked as every typed text is."""
    return check_text(message, what, max_len=MESSAGE_MAX, required=required, one_line=False)


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


def apply(
    session: Session,
    volunteer_id: object,
    mission_id: object,
    message: str,
    *,
    channel: Channel = Channel.LINK,
    relayed_by: Volunteer | None = None,
) -> bool:
    """Record the volunteer's application by link (channel `link`, or the page's own: the annonce's public page;
    `invitation` when the Passerelle invited them; `relay` « via » `relayed_by`), rank it, tell the Passerelle —
    in reserve after the selection; False when it was already recorded (nothing is written again)."""
    v, m = volunteer(session, volunteer_id), mission(session, mission_id)
    if application_of(session, v.id, m.id) is not None:
        return False
    text = check_message(message)
    if m.status not in OPEN_TO_APPLICATIONS:
        raise StepRefused(f"La mission {m.reference} n'est plus ouverte aux candidatures ({m.status.label.lower()}).")
    m = session.get(Mission, m.id, with_for_update=True) or m  # one application per volunteer, even clicked twice
    if relayed_by is not None and relayed_by.id == v.id:
        relayed_by = None  # a relay who follows their own forwarding link applies as themselves
    if relayed_by is None and was_invited(session, m.id, v.id):
        channel = Channel.INVITATION
    _, new = record_application(session, m, v, channel=channel, message=text, relayed_by=relayed_by)
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

    def description(key: str, current: str) -> str:
        with unit_of_work() as session:
            m = mission(session, mission_id)
            spec = describe(session, m, APPLICATIONS, n=int(key.rsplit("-", 1)[1]), error="", previous=None)
        return str(spec["description"])

    try:
        with unit_of_work() as session:
            run_id = mission(session, mission_id).flow_run_id
        if run_id:
            rewrite_form(run_id, f"{APPLICATIONS.round_key}-", description)
    except Exception:  # the Prefect API is down: the next form of the step will show it
        logger.warning("formulaire de la mission %s non rafraîchi", mission_id, exc_info=True)


# --- Each party answers its own part (tasks/parties.py) ----------------------------------------------------------


def _retained(session: Session, v: Volunteer, m: Mission) -> bool:
    app = application_of(session, v.id, m.id)
    return app is not None and app.status is ApplicationStatus.SELECTED


def _open(m: Mission) -> None:
    if m.status is MissionStatus.CANCELLED:
        raise StepRefused(f"La mission {m.reference} a été annulée : {m.cancel_reason}")
    if not m.status.is_open:
        raise StepRefused(f"La mission {m.reference} est terminée : merci pour votre engagement !")


def roadmap_asked(session: Session, volunteer_id: object, mission_id: object, key: object) -> tuple[Volunteer, Mission]:
    """The retained volunteer and the mission a roadmap link names, if that sending still waits for their answer;
    StepRefused (in French) otherwise."""
    v, m = volunteer(session, volunteer_id), mission(session, mission_id)
    _open(m)
    if not _retained(session, v, m):
        raise StepRefused(f"Vous n'êtes pas (ou plus) retenu(e) pour la mission {m.reference} : rien à valider ici.")
    if m.status is not MissionStatus.SELECTED:
        raise StepRefused(f"La feuille de route de la mission {m.reference} est déjà validée : bonne mission !")
    if not isinstance(key, str) or parties.latest_sending(session, m.id) != key:
        raise StepRefused(
            "Une version plus récente de la feuille de route vous a été envoyée : utilisez le lien du dernier mail."
        )
    done = parties.one_answer(session, m.id, key, parties.party_of(v.id))
    if done is not None and done.at is not None:
        said = "vous êtes d'accord" if done.answer == roadmap_step.AGREE else "vous avez demandé des modifications"
        raise StepRefused(f"Vous avez déjà répondu à cette feuille de route le {done.at:%d/%m/%Y} : {said}.")
    return v, m


def answer_roadmap(
    session: Session, volunteer_id: object, mission_id: object, key: object, decision: str, remarks: str
) -> bool:
    """A retained volunteer agrees to the roadmap as sent (True), or asks for changes, which the Passerelle is told
    (False); TextRefused when the answer is to correct."""
    v, m = roadmap_asked(session, volunteer_id, mission_id, key)
    if decision not in ("accord", "modifier"):
        raise TextRefused("Choisissez : je suis d'accord, ou je demande des modifications.")
    text = check_message(remarks, required=decision == "modifier", what="Vos remarques")
    agree = decision == "accord"
    if not parties.record(
        session,
        m,
        step=ROADMAP.key,
        asked=str(key),
        volunteer=v,
        answer=roadmap_step.AGREE if agree else roadmap_step.CHANGES,
        actor=f"{v.full_name} (bénévole, par son lien)",
        by_link=True,
        comment=text,
    ):
        raise StepRefused("Votre réponse à cette feuille de route est déjà enregistrée.")
    if not agree:
        notices.party_answered(
            session,
            m,
            occasion=f"roadmap:{key}:v{v.id}",
            who=f"{v.full_name} (bénévole)",
            what="demande des modifications à la feuille de route",
            comment=text,
            step_title=ROADMAP.label,
        )
    return agree


def after_roadmap_answer(mission_id: int, key: str) -> str:
    """After a volunteer's answer: when the association has validated and every retained volunteer agreed, the
    roadmap step is answered (the search closes) — "validated"; else the Passerelle's form shows the answer —
    "shown" (or "" when the run waits at no roadmap form). Never fails the answer, which is recorded already."""
    try:
        with unit_of_work() as session:
            m = mission(session, mission_id)
            run, missing = m.flow_run_id or "", roadmap_step.pending(session, m)
            section = roadmap_step.agreements_section(session, m)
        schema = waiting_form(run, key) if run else None
        if schema is None:
            return ""
        defaults = {k: v["default"] for k, v in schema.get("properties", {}).items() if "default" in v}
        if not missing and defaults.get("validated_by_association") is True:
            answer = {
                **defaults,
                "decision": roadmap_step.Decision.VALIDATE.value,
                "cancel_reason": "",
                "entered_by": roadmap_step.BY_LINKS,
            }
            if resume(run, answer):
                return "validated"
        rewrite_form(run, ROADMAP.key, lambda _key, current: parties.replace_section(current, section))
        return "shown"
    except Exception:  # the Prefect API is down: the Passerelle's next form shows it
        logger.warning("feuille de route de la mission %s non rafraîchie", mission_id, exc_info=True)
        return ""


def roadmap_shown(run: str, key: str, mission_id: int) -> dict[str, object]:
    """The roadmap as this sending mailed it (dates, objectives, notes), else as the Passerelle's waiting form
    holds it (a sending of before the upgrade that keeps it); StepRefused when neither can be read now."""
    with unit_of_work() as session:
        sent = parties.sent_roadmap(session, mission_id, key)
    if sent is not None:
        return sent
    schema = waiting_form(run, key) if run else None
    if schema is None:
        raise StepRefused("La feuille de route est en cours de mise à jour : réessayez dans une minute.")
    return {k: v["default"] for k, v in schema.get("properties", {}).items() if "default" in v}


@dataclass(frozen=True)
class PartyAsked:
    """Who a bilan link names (no volunteer: the association) and the mission, for its page."""

    volunteer: Volunteer | None
    mission: Mission

    @property
    def greeting(self) -> str:
        return self.volunteer.first_name if self.volunteer else self.mission.association.contact_name

    @property
    def actor(self) -> str:
        if self.volunteer is not None:
            return f"{self.volunteer.full_name} (bénévole, par son lien)"
        return f"{self.mission.association.name} (association, par son lien)"


def review_asked(session: Session, volunteer_id: object, mission_id: object, key: object) -> PartyAsked:
    """The party and the mission a bilan link names, if the bilan still waits for that party's half; StepRefused
    (in French) otherwise. `volunteer_id` None: the association's link."""
    m = mission(session, mission_id)
    v = volunteer(session, volunteer_id) if volunteer_id is not None else None
    _open(m)
    if v is not None and not _retained(session, v, m):
        raise StepRefused(f"Vous n'êtes pas (ou plus) retenu(e) pour la mission {m.reference} : pas de bilan à donner.")
    if key != REVIEW.key or m.status is not MissionStatus.IN_PROGRESS:
        raise StepRefused(f"La mission {m.reference} n'attend pas de bilan sur ce lien.")
    done = parties.one_answer(session, m.id, REVIEW.key, parties.party_of(v.id if v else None))
    if done is not None and done.at is not None:
        raise StepRefused(
            f"Votre bilan de la mission {m.reference} est déjà enregistré (le {done.at:%d/%m/%Y}) : merci !"
        )
    return PartyAsked(v, m)


def give_review(
    session: Session, volunteer_id: object, mission_id: object, key: object, fields: dict[str, str]
) -> None:
    """Record a party's half of the bilan with, when ticked, the consent to publish its testimony (the wording
    agreed to and when); TextRefused when the answer is to correct, nothing written."""
    asked = review_asked(session, volunteer_id, mission_id, key)
    rating = fields.get("note", "")
    if rating not in {"1", "2", "3", "4", "5"}:
        raise TextRefused("Choisissez votre satisfaction, de 1 à 5.")
    testimony = check_message(fields.get("temoignage", ""), what="Votre témoignage")
    consent = fields.get("publier") == "oui"
    if consent and not testimony:
        raise TextRefused("Écrivez votre témoignage pour en accepter la publication, ou décochez la case.")
    if not parties.record(
        session,
        asked.mission,
        step=REVIEW.key,
        asked=REVIEW.key,
        volunteer=asked.volunteer,
        answer=review_step.GIVEN,
        actor=asked.actor,
        by_link=True,
        comment=testimony,
        rating=int(rating),
        would_redo=fields.get("refaire") != "non",
        consent=consent,
    ):
        raise StepRefused("Votre bilan est déjà enregistré : merci !")


def after_review_answer(mission_id: int) -> None:
    """The Passerelle's bilan form shows the half just received, and its values prefill the fields they fill.
    Never fails the answer, which is recorded already."""
    try:
        with unit_of_work() as session:
            m = mission(session, mission_id)
            retained, got = review_step.halves(session, m)
            run = m.flow_run_id or ""
            section = review_step.halves_section(retained, got, m.association.name)
            values = review_step.answered_values(retained, got)
        if run:
            rewrite_form(run, REVIEW.key, lambda _key, current: parties.replace_section(current, section), values)
    except Exception:  # the Prefect API is down: the Passerelle's next form shows it
        logger.warning("bilan de la mission %s non rafraîchi", mission_id, exc_info=True)


def news_asked(session: Session, volunteer_id: object, mission_id: object, key: object) -> PartyAsked:
    """The party and the mission a check-in link names, while that check-in waits; StepRefused otherwise."""
    m = mission(session, mission_id)
    v = volunteer(session, volunteer_id) if volunteer_id is not None else None
    _open(m)
    if v is not None and not _retained(session, v, m):
        raise StepRefused(f"Vous n'êtes pas (ou plus) retenu(e) pour la mission {m.reference} : rien à dire ici.")
    number = str(key).removeprefix(f"{CHECK_IN.round_key}-") if isinstance(key, str) else ""
    if not number.isdigit() or m.status is not MissionStatus.IN_PROGRESS:
        raise StepRefused(f"La mission {m.reference} n'attend pas de nouvelles sur ce lien.")
    if check_in_step.next_round(session, m.id) != int(number):
        raise StepRefused(f"Ce point de la mission {m.reference} est déjà fait : merci !")
    done = parties.one_answer(session, m.id, str(key), parties.party_of(v.id if v else None))
    if done is not None and done.at is not None:
        raise StepRefused(f"Vos nouvelles sont déjà enregistrées (le {done.at:%d/%m/%Y}, « {done.answer} ») : merci !")
    return PartyAsked(v, m)


def give_news(session: Session, volunteer_id: object, mission_id: object, key: object, fields: dict[str, str]) -> str:
    """Record a party's news at a check-in; a difficulty or a blockage is told to the Passerelle at once. The
    answer given; TextRefused when it is to correct, nothing written."""
    asked = news_asked(session, volunteer_id, mission_id, key)
    try:
        said = check_in_step.News(fields.get("nouvelles", ""))
    except ValueError as exc:
        raise TextRefused("Choisissez : ça avance, une difficulté, ou c'est bloqué.") from exc
    comment = check_message(fields.get("commentaire", ""), what="Votre commentaire")
    if not parties.record(
        session,
        asked.mission,
        step=CHECK_IN.key,
        asked=str(key),
        volunteer=asked.volunteer,
        answer=said.value,
        actor=asked.actor,
        by_link=True,
        comment=comment,
    ):
        raise StepRefused("Vos nouvelles sont déjà enregistrées : merci !")
    if said is not check_in_step.News.GOING:
        notices.party_answered(
            session,
            asked.mission,
            occasion=f"{key}:{parties.party_of(asked.volunteer.id if asked.volunteer else None)}",
            who=asked.actor.removesuffix(", par son lien)") + ")",
            what=f"« {said.value} »",
            comment=comment,
            step_title=CHECK_IN.label,
        )
    return said.value


def after_news_answer(mission_id: int, key: str) -> None:
    """The Passerelle's check-in form shows the news just received and prefills its state and notes. Never fails
    the answer, which is recorded already."""
    try:
        with unit_of_work() as session:
            m = mission(session, mission_id)
            section, values = check_in_step.news(session, m, int(key.rsplit("-", 1)[1]))
            run = m.flow_run_id or ""
        if run:
            rewrite_form(run, key, lambda _key, current: parties.replace_section(current, section), values)
    except Exception:  # the Prefect API is down: the Passerelle's next form shows it
        logger.warning("point de suivi de la mission %s non rafraîchi", mission_id, exc_info=True)
