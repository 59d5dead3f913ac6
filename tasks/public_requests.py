"""An association asks for a mission on the portal's public page (`/demande`): what the form offers, the checks
of what was typed, and — once the contact confirmed their address — the « nouvelle demande » the branch decides
on in the Prefect UI (flows/new_request.py): accepted, it opens the mission (the association recognised when
known, else registered) and the association is told; declined, the association gets the reason.

Plain functions over a session; the flow's tasks wrap them. Every mail goes through the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from prefect.input import RunInput
from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    Association,
    Branch,
    Coordinator,
    Domain,
    Mission,
    PublicSubmission,
    Role,
    SubmissionKind,
    SubmissionStatus,
    Volunteer,
)
from models.base import utcnow
from models.checks import check_address_to_confirm
from models.public import check_registration
from models.refusals import StepRefused, TextRefused
from models.text import check_text, fold
from tasks.compose import compose
from tasks.lookups import find_coordinator
from tasks.missions import audit, current_brackets, open_mission
from tasks.notices import run_url
from tasks.outbox import enqueue
from tasks.steps.base import entered_by, entered_by_field, label_code

NAME_MAX, TITLE_MAX, DESCRIPTION_MAX = 160, 160, 2000


@dataclass(frozen=True)
class Example:
    """One of the seed's typical needs, offered as a starting point: its domain and the mission's usual title."""

    key: str
    label: str
    domain: str
    title: str


EXAMPLES = [
    Example("plan-communication", "Un plan de communication", "communication", "Plan de communication"),
    Example("site-internet", "Un site internet", "web-numerique", "Refonte du site internet"),
    Example("recrutement", "Recruter des bénévoles ou des salariés", "rh-recrutement", "Recrutement"),
    Example("rapport-financier", "Un rapport financier", "finance-gestion", "Rapport financier"),
]
EXAMPLE_BY_KEY = {e.key: e for e in EXAMPLES}


def bracket_label(low: int, high: int | None) -> str:
    """`de 20 000 à 100 000 €` (French thousands)."""

    def euros(n: int) -> str:
        return f"{n:,}".replace(",", "\u202f")

    if low == 0 and high is not None:
        return f"moins de {euros(high)} €"
    if high is None:
        return f"plus de {euros(low)} €"
    return f"de {euros(low)} à {euros(high)} €"


def choices(session: Session) -> dict[str, Any]:
    """What the request form offers: branches, budget brackets (the fee schedule in force), domains, examples."""
    brackets = sorted(current_brackets(session, utcnow().year), key=lambda b: b.min_budget)
    return {
        "branches": [(b.code, b.name) for b in session.scalars(select(Branch).order_by(Branch.name))],
        "brackets": [(str(b.min_budget), bracket_label(b.min_budget, b.max_budget)) for b in brackets],
        "domains": [(d.code, d.name) for d in session.scalars(select(Domain).order_by(Domain.name))],
        "examples": [(e.key, e.label) for e in EXAMPLES],
    }


def branch_for_city(session: Session, city: str) -> Branch | None:
    """The branch of a city: the branch named so, else the branch most of the associations and volunteers of that
    city belong to (branches are cities; who lives where is what the database knows of the rest)."""
    key = fold(city)
    if not key:
        return None
    for branch in session.scalars(select(Branch)):
        if fold(branch.name) == key:
            return branch
    counts: dict[int, int] = {}
    for model in (Association, Volunteer):
        rows = session.execute(select(model.city, model.branch_id, func.count()).group_by(model.city, model.branch_id))
        for row_city, branch_id, n in rows.tuples():
            if fold(row_city or "") == key:
                counts[branch_id] = counts.get(branch_id, 0) + n
    if not counts:
        return None
    return session.get(Branch, max(counts, key=lambda b: counts[b]))


def check_request(session: Session, fields: dict[str, str]) -> tuple[str, dict[str, Any], int, str]:
    """The typed request, checked: (address to confirm, payload, branch id, contact's name). TextRefused with every
    reason at once (the form is shown again with what was typed); nothing is written."""
    errors: list[str] = []
    payload: dict[str, Any] = {}

    def take(name: str, what: str, check: Any) -> None:
        try:
            payload[name] = check(fields.get(name, ""), what)
        except TextRefused as exc:
            errors.append(str(exc))

    take("association", "Nom de l'association", lambda v, w: check_text(v, w, max_len=NAME_MAX))
    take("registration", "RNA ou SIRET", lambda v, w: check_registration(v))
    take("city", "Ville", lambda v, w: check_text(v, w, max_len=80))
    take("contact_name", "Votre nom", lambda v, w: check_text(v, w, max_len=NAME_MAX))
    take("contact_phone", "Téléphone", lambda v, w: check_text(v, w, max_len=30, required=False))
    take("description", "Votre besoin", lambda v, w: check_text(v, w, max_len=DESCRIPTION_MAX, one_line=False))
    try:
        payload["contact_email"] = check_address_to_confirm(fields.get("contact_email", ""))
    except StepRefused as exc:
        errors.append(str(exc))
    c = choices(session)
    brackets = dict(c["brackets"])
    if fields.get("budget", "") not in brackets:
        errors.append("Choisissez la tranche de budget annuel de l'association.")
    else:
        payload["budget"], payload["budget_label"] = int(fields["budget"]), brackets[fields["budget"]]
    example = EXAMPLE_BY_KEY.get(fields.get("example", ""))
    domain = fields.get("domain", "") or (example.domain if example else "")
    domains = dict(c["domains"])
    if domain not in domains:
        errors.append("Choisissez le domaine de votre besoin (ou l'un des exemples).")
    else:
        payload["domain"], payload["domain_name"] = domain, domains[domain]
    payload["example"] = example.key if example else ""
    branch: Branch | None = None
    code = fields.get("branch", "")
    if code:
        branch = session.scalar(select(Branch).where(Branch.code == code))
        if branch is None:
            errors.append("Choisissez une antenne de la liste.")
    elif "city" in payload:
        branch = branch_for_city(session, payload["city"])
        if branch is None:
            errors.append(
                f"Nous ne savons pas encore à quelle antenne rattacher « {payload['city']} » : choisissez l'antenne "
                "la plus proche."
            )
    if errors:
        raise TextRefused(" ".join(errors))
    assert branch is not None
    payload["branch"] = branch.code
    return payload["contact_email"], payload, branch.id, payload["contact_name"]


def known_association(session: Session, payload: dict[str, Any]) -> Association | None:
    """The association a request comes from, if it is known: same RNA or SIRET, else the same name."""
    if payload.get("registration"):
        same = session.scalar(select(Association).where(Association.registration == payload["registration"]))
        if same is not None:
            return same
    return session.scalar(select(Association).where(Association.name_key == fold(payload["association"])))


def leads(session: Session, branch_id: int | None) -> list[Coordinator]:
    """Who decides on a branch's requests: its active leads, else the active admins."""
    found = list(
        session.scalars(
            select(Coordinator)
            .where(Coordinator.branch_id == branch_id, Coordinator.role == Role.BRANCH_LEAD, Coordinator.active)
            .order_by(Coordinator.id)
        )
    )
    return found or list(session.scalars(select(Coordinator).where(Coordinator.role == Role.ADMIN, Coordinator.active)))


def request_row(session: Session, request_id: int, *, lock: bool = False) -> PublicSubmission:
    """A confirmed request; StepRefused if there is none (an unconfirmed one is nobody's business)."""
    query = select(PublicSubmission).where(
        PublicSubmission.id == request_id, PublicSubmission.kind == SubmissionKind.MISSION_REQUEST
    )
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None or row.confirmed_at is None:
        raise StepRefused(f"Demande D-{request_id:04d} inconnue ou non confirmée.")
    return row


# --- The branch's decision (the form of the `new-request` run) ------------------------------------------------------


class Decision(StrEnum):
    """The branch's answer to a request."""

    ACCEPT = "accepter : ouvrir la mission"
    DECLINE = "décliner la demande"


class RequestDecision(RunInput):
    """The form of a « nouvelle demande »: accept (a Passerelle, the mission's title) or decline (a reason)."""

    decision: Decision = Field(title="Décision")
    passerelle: str = Field(
        default="", title="Passerelle qui suivra la mission", description="Si vous acceptez la demande."
    )
    titre: str = Field(default="", title="Intitulé de la mission", max_length=TITLE_MAX)
    motif: str = Field(
        default="",
        title="Motif du refus",
        description="Obligatoire si vous déclinez : il est envoyé tel quel à l'association.",
        max_length=DESCRIPTION_MAX,
    )
    entered_by: str = entered_by_field()


def _describe(session: Session, row: PublicSubmission, error: str) -> str:
    p = row.payload
    known = known_association(session, p)
    seen = (
        f"**Association déjà connue** : {known.name} (contact enregistré : {known.contact_name}) — la mission lui "
        "sera rattachée, rien n'est créé en double."
        if known
        else "Association nouvelle : elle sera enregistrée si vous acceptez."
    )
    phone = f" · {p['contact_phone']}" if p.get("contact_phone") else ""
    lines = [
        f"**Saisie refusée** : {error}\n" if error else "",
        f"### Nouvelle demande {row.reference} — {p['association']}",
        f"- RNA / SIRET : {p['registration']} · ville : {p['city']} · antenne : {p['branch']}",
        f"- Contact : {p['contact_name']} <{p['contact_email']}>{phone} (adresse confirmée)",
        f"- Budget annuel : {p['budget_label']}",
        f"- Domaine : {p['domain_name']}",
        "",
        f"> {p['description']}".replace("\n", "\n> "),
        "",
        seen,
        "",
        "Acceptez (choisissez la Passerelle : la mission s'ouvre et son suivi démarre, l'association est prévenue) "
        "ou déclinez avec un motif (envoyé à l'association).",
    ]
    return "\n".join(lines)


def passerelle_choices(session: Session, branch_id: int | None) -> list[str]:
    """`C-12 · Claire Muller`: the branch's active Passerelles and leads."""
    rows = session.scalars(
        select(Coordinator)
        .where(
            Coordinator.branch_id == branch_id,
            Coordinator.active,
            Coordinator.role.in_([Role.PASSERELLE, Role.BRANCH_LEAD]),
        )
        .order_by(Coordinator.last_name, Coordinator.first_name)
    )
    return [f"C-{c.id} · {c.full_name}" for c in rows]


def prepare(session: Session, request_id: int, flow_run_id: str, error: str = "") -> dict[str, Any]:
    """The decision form's description, defaults and choices; the branch's leads told once that it waits."""
    row = request_row(session, request_id, lock=True)
    if row.flow_run_id != flow_run_id:
        row.flow_run_id = flow_run_id
    example = EXAMPLE_BY_KEY.get(row.payload.get("example", ""))
    title = example.title if example else f"Mission pour {row.payload['association']}"
    for lead in leads(session, row.branch_id):
        content = compose("new_request", lead=lead, request=row, p=row.payload, run_url=run_url(flow_run_id))
        enqueue(session, mission_id=None, kind="new_request", about=f"s{row.id}:c{lead.id}", to=lead.email,
                content=content)  # fmt: skip
    return {
        "description": _describe(session, row, error),
        "defaults": {"titre": title[:TITLE_MAX]},
        # "" among the choices: a decline names nobody (an accept without one is asked again, with the reason)
        "choices": {"passerelle": ["", *passerelle_choices(session, row.branch_id)]},
    }


def decided(row: PublicSubmission) -> dict[str, str] | None:
    """What a request's decision was, once made (a replay or a retry finds it)."""
    if row.status is SubmissionStatus.ACCEPTED:
        return {"outcome": "accepted", "mission_id": str(row.mission_id or ""), "error": ""}
    if row.status is SubmissionStatus.DECLINED:
        return {"outcome": "declined", "mission_id": "", "error": ""}
    return None


def decide(session: Session, request_id: int, answer: dict[str, Any]) -> dict[str, str]:
    """Apply the branch's decision once: accepted, the mission is opened for the association (recognised, else
    registered) and the association told; declined, the reason is mailed. A refused answer (no reason, no
    Passerelle) gives its French reason under `error` and writes nothing."""
    row = request_row(session, request_id, lock=True)
    done = decided(row)
    if done is not None:
        return done
    who = entered_by(answer.get("entered_by")) or "équipe"
    p = row.payload
    if answer.get("decision") == Decision.DECLINE.value:
        reason = " ".join(str(answer.get("motif", "")).split())
        if not reason:
            return {
                "outcome": "retry",
                "mission_id": "",
                "error": "Indiquez le motif du refus : il est envoyé à l'association.",
            }
        row.status, row.reason, row.decided_at, row.decided_by = SubmissionStatus.DECLINED, reason, utcnow(), who
        content = compose("request_declined", request=row, p=p, reason=reason)
        enqueue(session, mission_id=None, kind="request_declined", about=f"s{row.id}", to=row.email, content=content)
        return {"outcome": "declined", "mission_id": "", "error": ""}
    errors = []
    title = " ".join(str(answer.get("titre", "")).split())
    if not title:
        errors.append("L'intitulé de la mission est vide.")
    ref = label_code(str(answer.get("passerelle", "")))
    coordinator = None
    if not ref:
        errors.append("Choisissez la Passerelle qui suivra la mission.")
    else:
        try:
            coordinator = find_coordinator(session, ref)
        except StepRefused as exc:
            errors.append(str(exc))
    if errors or coordinator is None:
        return {"outcome": "retry", "mission_id": "", "error": " ".join(errors)}
    association = known_association(session, p)
    known = association is not None
    if association is None:
        association = Association(
            branch_id=row.branch_id or coordinator.branch_id,
            name=p["association"],
            registration=p["registration"],
            city=p["city"],
            contact_name=p["contact_name"],
            contact_email=p["contact_email"],
            contact_phone=p.get("contact_phone", ""),
            annual_budget=int(p["budget"]),
        )
        session.add(association)
        session.flush()
    elif not association.registration:
        association.registration = p["registration"]
    mission = open_mission(session, association=association, coordinator=coordinator, title=title,
                           request=p["description"])  # fmt: skip
    mission.domain_id = session.scalar(select(Domain.id).where(Domain.code == p["domain"]))
    audit(session, mission, actor=who, action="public-request", step_key=f"request:{row.id}",
          details={"request": row.reference, "known": known})  # fmt: skip
    row.status, row.decided_at, row.decided_by = SubmissionStatus.ACCEPTED, utcnow(), who
    row.association_id, row.mission_id = association.id, mission.id
    content = compose("request_accepted", request=row, p=p, mission=mission, coordinator=coordinator)
    enqueue(session, mission_id=mission.id, kind="request_accepted", about="association", to=row.email,
            content=content, reply_to=coordinator.email)  # fmt: skip
    return {"outcome": "accepted", "mission_id": str(mission.id), "error": ""}


def mission_of(session: Session, request_id: int) -> Mission | None:
    """The mission an accepted request opened."""
    row = request_row(session, request_id)
    return session.get(Mission, row.mission_id) if row.mission_id else None
