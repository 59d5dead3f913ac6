"""Volunteers sign up on the portal's public pages: on their own (`/inscription`), or on the way to applying from
a published annonce's public page (`/missions/<reference>`) or a relay's forwarding link (`/relais/<token>`).

What the form offers, the checks of what was typed (every reason at once, nothing written), and — only once the
address is confirmed (double opt-in, tasks/confirmations.py) — the volunteer's record: created, or, for an address
already known, updated with what was typed, each change said on the page and kept in the record
(`volunteer_event`), never before the owner of the address confirmed it. Consents are recorded with the version
of the wording the person was shown, as the imports record theirs. The application then goes the way of a mailed
one-click apply (tasks/portal.apply): ranked, the Passerelle told, in reserve after the selection, « via » the
relay whose link it came by.

Merging a known record: the competences typed set their levels (others are kept: the preferences page removes
them), the time slots typed replace the stored ones, a ticked consent is given (an unticked one is not withdrawn:
withdrawing is the preferences page's or the unsubscribe link's), the names, phone, city, profession and branch
typed replace the stored ones when they differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Announcement,
    AnnouncementStatus,
    Branch,
    Channel,
    Competence,
    ConsentKind,
    ConsentSource,
    Domain,
    Mission,
    PublicSubmission,
    Volunteer,
    VolunteerCompetence,
)
from models.checks import check_address_to_confirm
from models.refusals import PersonRefused, StepRefused, TextRefused
from models.text import check_text
from models.volunteer import CONSENT_VERSION, CONSENT_WORDING, LEVEL_LABELS, TIME_SLOTS
from tasks import portal
from tasks.consents import CONSENT_LABELS, log_change, set_consent
from tasks.missions import OPEN_TO_APPLICATIONS
from tasks.public_requests import branch_for_city

NAME_MAX, CITY_MAX, PROFESSION_MAX, PHONE_MAX = 80, 80, 120, 30
COMPETENCE_FIELD, SLOT_FIELD = "c:", "dispo:"  # `c:site-web` = level 0..3, `dispo:soirs` = "oui"
PERSONAL = ("first_name", "last_name", "email", "phone", "city", "profession", "message")  # dropped once applied


def choices(session: Session) -> dict[str, Any]:
    """What the sign-up form offers: branches, the taxonomy by domain, levels, time slots, the consents' wording."""
    rows = session.execute(
        select(Domain.name, Competence.code, Competence.name)
        .join(Competence, Competence.domain_id == Domain.id)
        .order_by(Domain.name, Competence.name)
    ).tuples()
    domains: dict[str, list[tuple[str, str]]] = {}
    for domain, code, name in rows:
        domains.setdefault(domain, []).append((code, name))
    return {
        "branches": [(b.code, b.name) for b in session.scalars(select(Branch).order_by(Branch.name))],
        "domains": list(domains.items()),
        "levels": sorted(LEVEL_LABELS.items()),
        "slots": list(TIME_SLOTS.items()),
        "wording": {k.value: v for k, v in CONSENT_WORDING[CONSENT_VERSION].items()},
    }


def check_signup(session: Session, fields: dict[str, str]) -> tuple[str, dict[str, Any], int, str]:
    """The typed sign-up, checked: (address to confirm, payload, branch id, first name). TextRefused with every
    reason at once (the form is shown again with what was typed); nothing is written."""
    errors: list[str] = []
    payload: dict[str, Any] = {}

    def take(name: str, what: str, max_len: int, required: bool = True) -> None:
        try:
            payload[name] = check_text(fields.get(name, ""), what, max_len=max_len, required=required)
        except TextRefused as exc:
            errors.append(str(exc))

    take("first_name", "Prénom", NAME_MAX)
    take("last_name", "Nom", NAME_MAX)
    take("phone", "Téléphone", PHONE_MAX, required=False)
    take("city", "Ville", CITY_MAX, required=False)
    take("profession", "Métier", PROFESSION_MAX, required=False)
    try:
        payload["email"] = check_address_to_confirm(fields.get("email", ""))
    except StepRefused as exc:
        errors.append(str(exc))

    known = {
        code: (cid, name)
        for cid, code, name in session.execute(select(Competence.id, Competence.code, Competence.name)).tuples()
    }
    competences: dict[str, int] = {}
    odd = False  # a competence or level off the list (a stale page, a forged form)
    for name, value in fields.items():
        if not name.startswith(COMPETENCE_FIELD):
            continue
        code = name[len(COMPETENCE_FIELD) :]
        if code not in known:
            odd = True
            errors.append(f"La compétence « {code[:60]} » n'est pas dans notre liste : rechargez la page.")
        elif value not in ("0", "1", "2", "3"):
            odd = True
            errors.append(f"Le niveau choisi pour « {known[code][1]} » est inconnu : choisissez-le dans la liste.")
        elif value != "0":
            competences[code] = int(value)
    if not competences and not odd:
        errors.append(
            "Choisissez au moins une compétence et votre niveau : c'est ainsi que nous vous proposons des missions."
        )
    payload["competences"] = competences
    slots = []
    for name, value in fields.items():
        if name.startswith(SLOT_FIELD) and value:
            key = name[len(SLOT_FIELD) :]
            if key not in TIME_SLOTS:
                errors.append("Une disponibilité du formulaire est inconnue : rechargez la page.")
            else:
                slots.append(key)
    payload["time_slots"] = [k for k in TIME_SLOTS if k in slots]  # in the list's order
    payload["consent_announcements"] = fields.get("annonces") == "oui"
    payload["consent_national"] = fields.get("national") == "oui"
    if payload["consent_national"] and not payload["consent_announcements"]:
        errors.append("Les annonces nationales s'ajoutent à celles de votre antenne : cochez aussi ces dernières.")
    payload["wording_version"] = CONSENT_VERSION  # the wording shown with the boxes, recorded with the consents

    branch: Branch | None = None
    code = fields.get("branch", "")
    if code:
        branch = session.scalar(select(Branch).where(Branch.code == code))
        if branch is None:
            errors.append("Choisissez une antenne de la liste.")
    elif payload.get("city"):
        branch = branch_for_city(session, payload["city"])
        if branch is None:
            errors.append(
                f"Nous ne savons pas encore à quelle antenne rattacher « {payload['city']} » : choisissez "
                "l'antenne la plus proche."
            )
    elif "city" in payload:
        errors.append("Choisissez votre antenne, ou indiquez votre ville.")
    if errors:
        raise TextRefused(" ".join(errors))
    assert branch is not None
    payload["branch"] = branch.code
    # Told in the confirmation mail only (which goes to the address's owner): the page says the same to everyone.
    payload["known"] = session.scalar(select(Volunteer.id).where(Volunteer.email == payload["email"])) is not None
    return payload["email"], payload, branch.id, payload["first_name"]


# --- A published annonce, as anyone may see it -------------------------------------------------------------------


@dataclass(frozen=True)
class PublicAnnonce:
    """What the public page shows of a mission: its approved annonce, the association, the branch — nobody's name,
    address or phone (the text is the one the association approved for volunteers)."""

    id: int
    reference: str
    title: str
    association: str
    branch: str
    branch_code: str
    text: str
    open: bool  # taking applications (published, until the roadmap closes the search); else the page is gone


class AnnonceGone(StepRefused):
    """A mission whose annonce is not (or no longer) public: `published` says whether it ever was."""

    def __init__(self, reason: str, *, published: bool) -> None:
        super().__init__(reason)
        self.published = published


NOT_OPEN = "Cette annonce n'est plus ouverte"


def public_annonce(session: Session, *, reference: str = "", mission_id: int | None = None) -> PublicAnnonce:
    """The mission's public annonce, by reference or id; AnnonceGone (in French) when there is none to show: never
    published (not found), or no longer open (the search closed, the mission was cancelled or is over)."""
    m = (
        session.get(Mission, mission_id)
        if mission_id is not None
        else session.scalar(select(Mission).where(Mission.reference == reference.strip().upper()[:20]))
    )
    text = (
        session.scalar(
            select(Announcement.text)
            .where(Announcement.mission_id == m.id, Announcement.status == AnnouncementStatus.APPROVED)
            .order_by(Announcement.round.desc())
            .limit(1)
        )
        if m is not None
        else None
    )
    if m is None or m.published_at is None or not text:
        raise AnnonceGone("Aucune annonce publiée ne porte cette référence.", published=False)
    if m.status not in OPEN_TO_APPLICATIONS:
        raise AnnonceGone(
            f"{NOT_OPEN} : la mission {m.reference} « {m.title} » ne reçoit plus de candidatures"
            + (" (elle a été annulée)." if m.status.value == "cancelled" else " (la recherche est close).")
            + " D'autres missions vous attendent peut-être : inscrivez-vous pour recevoir nos annonces.",
            published=True,
        )
    branch = session.get(Branch, m.branch_id)
    return PublicAnnonce(
        m.id,
        m.reference,
        m.title,
        m.association.name,
        branch.name if branch else "",
        branch.code if branch else "",
        text,
        True,
    )


def open_annonces(session: Session) -> list[PublicAnnonce]:
    """Every annonce taking applications, newest first (the portal's list of public pages)."""
    ids = session.scalars(
        select(Mission.id)
        .where(Mission.status.in_(OPEN_TO_APPLICATIONS), Mission.published_at.is_not(None))
        .order_by(Mission.published_at.desc())
    ).all()
    found = []
    for mission_id in ids:
        try:
            found.append(public_annonce(session, mission_id=mission_id))
        except AnnonceGone:
            continue
    return found


def check_application(
    session: Session, fields: dict[str, str], *, mission_id: int, relay_id: int | None
) -> tuple[str, dict[str, Any], int, str]:
    """A sign-up with an application to a public annonce, checked (the sign-up's checks, the message, the annonce
    still open); the payload names the mission and the relay whose link it came by."""
    reasons: list[str] = []
    try:
        address, payload, branch_id, greeting = check_signup(session, fields)
    except TextRefused as exc:
        reasons.append(str(exc))
    try:
        message = portal.check_message(fields.get("message", ""))
    except TextRefused as exc:
        reasons.append(str(exc))
    try:
        annonce = public_annonce(session, mission_id=mission_id)
    except AnnonceGone as exc:  # closed while the form was being filled: said, what was typed kept, nothing kept
        raise TextRefused(str(exc)) from exc
    if reasons:
        raise TextRefused(" ".join(reasons))
    payload.update(
        mission_id=annonce.id, reference=annonce.reference, title=annonce.title, message=message, relay_id=relay_id
    )
    return address, payload, branch_id, greeting


# --- Once the address is confirmed ---------------------------------------------------------------------------------


def sign_up(session: Session, row: PublicSubmission) -> tuple[Volunteer, list[str], bool]:
    """Apply a confirmed sign-up: the volunteer created, or the known one (same address) updated; (volunteer, the
    changes in French, whether new). Every change is kept in the record with the source « inscription »."""
    p = row.payload
    branch = session.scalar(select(Branch).where(Branch.code == p["branch"]))
    if branch is None:
        raise StepRefused("L'antenne choisie n'existe plus : remplissez le formulaire à nouveau.")
    by_code = {c.code: c for c in session.scalars(select(Competence).where(Competence.code.in_(p["competences"])))}
    v = session.scalar(select(Volunteer).where(Volunteer.email == row.email).with_for_update())
    new = v is None
    changes: list[str] = []
    if v is None:
        v = Volunteer(
            branch_id=branch.id,
            first_name=p["first_name"],
            last_name=p["last_name"],
            email=row.email,
            phone=p["phone"],
            city=p["city"],
            profession=p["profession"],
            time_slots=",".join(p["time_slots"]),
        )
        session.add(v)
        session.flush()
        changes.append(f"inscription en ligne (antenne de {branch.name})")
    else:
        if v.archived_at is not None:
            raise PersonRefused(
                "Votre fiche de bénévole est archivée : contactez votre antenne pour la réactiver. Rien n'a été "
                "modifié."
            )
        for attr, label in (
            ("first_name", "prénom"),
            ("last_name", "nom"),
            ("phone", "téléphone"),
            ("city", "ville"),
            ("profession", "métier"),
        ):
            if p[attr] and p[attr] != getattr(v, attr):
                changes.append(f"{label} : {getattr(v, attr) or '(vide)'} → {p[attr]}")
                setattr(v, attr, p[attr])
        if v.branch_id != branch.id:
            changes.append(f"antenne : {branch.name}")
            v.branch_id = branch.id
        slots = ",".join(p["time_slots"])
        if slots and slots != v.time_slots:
            changes.append("disponibilités : " + ", ".join(TIME_SLOTS[k] for k in p["time_slots"]))
            v.time_slots = slots
    current = {
        vc.competence_id: vc
        for vc in session.scalars(select(VolunteerCompetence).where(VolunteerCompetence.volunteer_id == v.id))
    }
    for code, level in p["competences"].items():
        c = by_code.get(code)
        if c is None:  # taken out of the taxonomy since the form was sent
            continue
        if c.id not in current:
            session.add(VolunteerCompetence(volunteer_id=v.id, competence_id=c.id, level=level))
            changes.append(f"compétence : {c.name} ({LEVEL_LABELS[level]})")
        elif current[c.id].level != level:
            current[c.id].level = level
            changes.append(f"{c.name} : {LEVEL_LABELS[level]}")
    wanted = {ConsentKind.ANNOUNCEMENTS: p["consent_announcements"], ConsentKind.NATIONAL: p["consent_national"]}
    for kind, granted in wanted.items():
        if granted and set_consent(session, v, kind, True, ConsentSource.SIGNUP, wording_version=p["wording_version"]):
            changes.append(f"{CONSENT_LABELS[kind]} : oui")
    if p["consent_announcements"] and v.unsubscribed_at is not None:
        v.unsubscribed_at = None
        changes.append("réinscrit(e) aux mails")
    log_change(
        session,
        v,
        actor=f"{v.full_name} (inscription en ligne)",
        source=ConsentSource.SIGNUP,
        changes=changes or ["inscription confirmée, rien de changé"],
    )
    row.volunteer_id = v.id
    # What was typed is in the volunteer's record now: the submission keeps no copy of who they are.
    row.payload = {k: value for k, value in p.items() if k not in PERSONAL}
    session.flush()
    return v, changes, new


def signed_up(session: Session, row: PublicSubmission) -> list[str]:
    """What the page says once a sign-up is confirmed."""
    v, changes, new = sign_up(session, row)
    return _said(v, changes, new)


def _said(v: Volunteer, changes: list[str], new: bool) -> list[str]:
    if new:
        lines = [f"Bienvenue {v.first_name} : votre inscription de bénévole est enregistrée."]
        lines.append(
            "Vous recevrez par mail les annonces de mission qui vous correspondent ; chacune a un lien pour gérer "
            "vos préférences ou vous désinscrire."
            if v.consent_announcements
            else "Vous n'avez pas demandé à recevoir nos annonces : l'antenne pourra vous proposer une mission."
        )
        return lines
    if not changes:
        return [f"Merci {v.first_name} : vous étiez déjà inscrit(e), votre fiche est inchangée."]
    return [f"Merci {v.first_name} : votre fiche de bénévole est mise à jour — " + " ; ".join(changes) + "."]


def applied(session: Session, row: PublicSubmission) -> tuple[list[str], bool]:
    """Apply a confirmed sign-up with its application: the volunteer signed up (or updated), then the application
    recorded as a one-click apply is, « via » the relay of the link it came by (when they still exist); (what the
    page says, whether an application was recorded). An annonce closed meanwhile keeps the sign-up and says so."""
    p = dict(row.payload)  # the message is dropped from the row by the sign-up
    v, changes, new = sign_up(session, row)
    said = _said(v, changes, new)
    relay = session.get(Volunteer, p["relay_id"]) if p.get("relay_id") else None
    row.mission_id = p["mission_id"]
    try:
        recorded = portal.apply(
            session,
            v.id,
            p["mission_id"],
            p["message"],
            channel=Channel.PUBLIC_PAGE,
            relayed_by=relay if relay is not None and relay.archived_at is None else None,
        )
    except PersonRefused:
        raise
    except StepRefused:
        return [
            *said,
            f"La mission {p['reference']} ne reçoit plus de candidatures : la vôtre n'a pas pu être "
            "enregistrée. Nous vous proposerons d'autres missions.",
        ], False
    if not recorded:
        return [*said, f"Votre candidature à la mission {p['reference']} était déjà enregistrée."], False
    m = session.get(Mission, p["mission_id"])
    assert m is not None
    return [
        *said,
        f"Votre candidature à la mission {m.reference} « {m.title} » est enregistrée : {m.coordinator.full_name}, "
        "la Passerelle qui la suit, l'a reçue et reviendra vers vous.",
    ], True
