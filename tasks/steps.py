"""Each human step of a mission: what its form shows (spec) and what its answer does (apply).

`handle` is the one entry point for an answer: it checks the mission is where the step expects it, runs the
step's checks before writing anything, then writes the step's rows, the status change and one audit event keyed
by the suspend key, in the caller's transaction. A refused answer is audited with its French reason. Replaying
the same key returns the recorded verdict: the flow takes the same path and nothing is written twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Announcement,
    AnnouncementStatus,
    Application,
    ApplicationStatus,
    Channel,
    CheckIn,
    CheckInStatus,
    Competence,
    Domain,
    Mission,
    MissionCompetence,
    MissionStatus,
    ObjectivesMet,
    PriorityFlag,
    Review,
    Roadmap,
    RoadmapObjective,
    Scope,
    Volunteer,
)
from models.base import utcnow
from tasks import notices
from tasks.matching import rank_applicants
from tasks.missions import (
    StepRefused,
    advance,
    audit,
    cancel,
    find_volunteer,
    get_mission,
    record_application,
    step_done,
)

CANCEL = "annuler la mission"

EXPECTED_STATUS = {
    "needs-analysis": MissionStatus.REQUESTED,
    "annonce": MissionStatus.ANALYSED,
    "applications": MissionStatus.PUBLISHED,
    "selection": MissionStatus.PUBLISHED,
    "roadmap": MissionStatus.SELECTED,
    "check-in": MissionStatus.IN_PROGRESS,
    "review": MissionStatus.IN_PROGRESS,
}


@dataclass(frozen=True)
class Ctx:
    """Where an answer comes from: the step's round, its suspend key, who answered."""

    n: int
    key: str
    actor: str


@dataclass(frozen=True)
class Verdict:
    """What became of an answer: `outcome` drives the flow; `error` is shown when the form is asked again."""

    outcome: str
    error: str = ""
    replayed: bool = False  # the answer had been handled before: nothing was done now


def handle(
    session: Session, mission_id: int, step: str, step_key: str, answer: dict[str, Any], *, n: int = 1
) -> Verdict:
    """Apply the answer to a step's form once; `n` is the step's round (annonce version, check-in number)."""
    done = step_done(session, mission_id, step_key)
    if done is not None:
        return Verdict(done.details.get("outcome", "retry"), done.details.get("error", ""), replayed=True)
    mission = get_mission(session, mission_id, lock=True)
    actor = mission.coordinator.full_name
    if mission.status is MissionStatus.CANCELLED:
        return Verdict("cancelled")
    try:
        if mission.status is not EXPECTED_STATUS[step]:
            raise StepRefused(
                f"La mission {mission.reference} est « {mission.status.label} » : "
                "cette étape ne la concerne plus ou pas encore."
            )
        if answer.get("decision") == CANCEL:
            applicants = _people_to_tell_of_cancel(session, mission)
            cancel(session, mission, reason=answer.get("cancel_reason", ""), actor=actor, step_key=step_key)
            notices.cancelled(session, mission, applicants)
            outcome = "cancelled"
        else:
            outcome = APPLY[step](session, mission, answer, Ctx(n=n, key=step_key, actor=actor))
    except StepRefused as exc:
        audit(
            session,
            mission,
            actor=actor,
            action=f"{step}:refused",
            step_key=step_key,
            details={"outcome": "retry", "error": str(exc), "answer": _redact(answer)},
        )
        return Verdict("retry", str(exc))
    event = step_done(session, mission_id, step_key) or audit(
        session, mission, actor=actor, action=step, step_key=step_key
    )
    event.details = {**event.details, "outcome": outcome}
    return Verdict(outcome)


def _redact(answer: dict[str, Any]) -> dict[str, Any]:
    """Keep the refused answer for the audit, without long texts."""
    return {k: (v[:200] if isinstance(v, str) else v) for k, v in answer.items()}


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# --- Step 1: needs analysis -----------------------------------------------------------------------


def competence_label(c: Competence, domain: Domain) -> str:
    """`site-web · Conception de site internet (Web et numérique)`: the code first, so it parses back."""
    return f"{c.code} · {c.name} ({domain.name})"


def domain_label(d: Domain) -> str:
    """`web-numerique · Web et numérique`."""
    return f"{d.code} · {d.name}"


def _code(label: str) -> str:
    return label.split(" · ", 1)[0].strip()


def apply_needs_analysis(session: Session, mission: Mission, a: dict[str, Any], ctx: Ctx) -> str:
    """Record the analysed need; refuse without the values' approval, with no competence, or with bad dates."""
    errors = []
    if not a.get("values_accepted"):
        errors.append(
            "L'adhésion de l'association aux valeurs et au fonctionnement de P&C n'est pas validée : "
            "validez-la ou annulez la mission avec un motif."
        )
    start, end = _date(a["expected_start"]), _date(a["expected_end"])
    if end < start:
        errors.append(f"La fin souhaitée ({end:%d/%m/%Y}) précède le début ({start:%d/%m/%Y}).")
    for field, label in (
        ("title", "L'intitulé"),
        ("need", "L'expression du besoin"),
        ("deliverables", "Les livrables"),
    ):
        if not str(a.get(field, "")).strip():
            errors.append(f"{label} est vide.")
    domain = session.scalar(select(Domain).where(Domain.code == _code(a.get("domain", ""))))
    if domain is None:
        errors.append(f"Domaine inconnu : « {a.get('domain', '')} ».")
    codes = [_code(x) for x in a.get("competences", [])]
    found = {c.code: c for c in session.scalars(select(Competence).where(Competence.code.in_(codes)))}
    unknown = [c for c in codes if c not in found]
    if not codes:
        errors.append("Choisissez au moins une compétence recherchée.")
    if unknown:
        errors.append("Compétence(s) inconnue(s) : " + ", ".join(f"« {u} »" for u in unknown) + ".")
    if errors:
        raise StepRefused(" ".join(errors))
    assert domain is not None
    mission.title = a["title"].strip()
    mission.need = a["need"].strip()
    mission.deliverables = a["deliverables"].strip()
    mission.domain_id = domain.id
    mission.effort = a.get("effort", "").strip()
    mission.expected_start, mission.expected_end = start, end
    mission.needs_meeting_on = _date(a["meeting_date"])
    mission.scope = Scope.NATIONAL if a.get("remote_ok") else Scope.REGIONAL
    mission.volunteers_needed = int(a.get("volunteers_needed", 1))
    mission.association.values_validated_on = mission.needs_meeting_on
    for mc in session.scalars(select(MissionCompetence).where(MissionCompetence.mission_id == mission.id)):
        session.delete(mc)
    session.flush()
    session.add_all(MissionCompetence(mission_id=mission.id, competence_id=found[c].id) for c in dict.fromkeys(codes))
    advance(session, mission, MissionStatus.ANALYSED, actor=ctx.actor, step_key=ctx.key, action="needs-analysis")
    return "continue"


# --- Step 2: annonce ------------------------------------------------------------------------------

_DECISIONS_ANNONCE = {
    "approuvée par l'association": AnnouncementStatus.APPROVED,
    "à réviser": AnnouncementStatus.REVISE,
}


def apply_annonce(session: Session, mission: Mission, a: dict[str, Any], ctx: Ctx) -> str:
    """Store version `ctx.n` of the annonce; approval needs a text and moves the mission on."""
    text = str(a.get("text", "")).strip()
    status = _DECISIONS_ANNONCE[a["decision"]]
    if not text:
        raise StepRefused("Le texte de l'annonce est vide : impossible de le faire valider.")
    existing = session.scalar(
        select(Announcement).where(Announcement.mission_id == mission.id, Announcement.round == ctx.n)
    )
    ann = existing or Announcement(mission_id=mission.id, round=ctx.n, text=text)
    ann.text, ann.status, ann.remarks, ann.decided_at = text, status, a.get("remarks", "").strip(), utcnow()
    session.add(ann)
    if status is AnnouncementStatus.REVISE:
        return "revise"
    ann.social_text = notices.social_text(session, mission)
    advance(
        session,
        mission,
        MissionStatus.APPROVED,
        actor=ctx.actor,
        step_key=ctx.key,
        action="annonce",
        details={"round": ctx.n},
    )
    return "approved"


# --- Step 4: applications -------------------------------------------------------------------------


def apply_applications(session: Session, mission: Mission, a: dict[str, Any], ctx: Ctx) -> str:
    """Record the applications typed in the form (all or none), then follow the decision."""
    lines = [line.strip() for line in str(a.get("applications", "")).splitlines() if line.strip()]
    parsed: list[tuple[Volunteer, str]] = []
    errors = []
    for line in lines:
        ref, _, message = line.partition(":")  # e-mail addresses hold no colon
        try:
            volunteer = find_volunteer(session, ref)
            if volunteer.archived_at is not None:
                raise StepRefused(f"{volunteer.label} est archivé(e).")
            parsed.append((volunteer, message.strip()))
        except StepRefused as exc:
            errors.append(str(exc))
    decision = a["decision"]
    if decision == "élargir la diffusion au national" and mission.scope is Scope.NATIONAL:
        errors.append("L'annonce est déjà diffusée au niveau national.")
    if errors:
        raise StepRefused(" ".join(errors) + " Aucune candidature de ce formulaire n'a été enregistrée.")
    if (
        decision == "passer à la sélection"
        and not parsed
        and not session.scalar(select(Application.id).where(Application.mission_id == mission.id).limit(1))
    ):
        raise StepRefused("Aucune candidature n'est enregistrée : impossible de passer à la sélection.")
    for volunteer, message in parsed:
        record_application(session, mission, volunteer, channel=Channel.FORM, message=message)
    rank_applicants(session, mission)
    if decision == "passer à la sélection":
        return "select"
    if decision == "élargir la diffusion au national":
        mission.scope = Scope.NATIONAL
        return "widen"
    return "wait"


# --- Step 5: selection ----------------------------------------------------------------------------

_LABEL_ID = re.compile(r"^\s*V-?(\d+)\b")


def _ids(labels: list[str]) -> list[int]:
    ids = []
    for label in labels:
        m = _LABEL_ID.match(label)
        if not m:
            raise StepRefused(f"« {label} » ne désigne pas un bénévole (attendu : V-0042 Prénom Nom).")
        ids.append(int(m.group(1)))
    return ids


def apply_selection(session: Session, mission: Mission, a: dict[str, Any], ctx: Ctx) -> str:
    """Retain applicants, thank the others, flag those who want another mission as priority in the domain."""
    selected, wants_other = _ids(a.get("selected", [])), _ids(a.get("wants_other", []))
    apps = {x.volunteer_id: x for x in session.scalars(select(Application).where(Application.mission_id == mission.id))}
    errors = []
    if not selected:
        errors.append("Retenez au moins un bénévole.")
    for vid in dict.fromkeys(selected + wants_other):
        if vid not in apps:
            errors.append(f"V-{vid:04d} n'a pas candidaté à cette mission.")
    both = set(selected) & set(wants_other)
    if both:
        errors.append(
            "Un bénévole retenu ne peut pas être aussi « non retenu » : "
            + ", ".join(f"V-{v:04d}" for v in sorted(both))
            + "."
        )
    if errors:
        raise StepRefused(" ".join(errors))
    now = utcnow()
    for vid, app in apps.items():
        if app.status is not ApplicationStatus.RECEIVED:
            continue
        app.status = ApplicationStatus.SELECTED if vid in selected else ApplicationStatus.NOT_SELECTED
        app.wants_other_mission = vid in wants_other
        app.decided_at = now
    for vid in selected:
        for flag in session.scalars(
            select(PriorityFlag).where(
                PriorityFlag.volunteer_id == vid,
                PriorityFlag.domain_id == mission.domain_id,
                PriorityFlag.cleared_at.is_(None),
            )
        ):
            flag.cleared_at, flag.cleared_by_mission_id = now, mission.id
    for vid in wants_other:
        flag = session.scalar(
            select(PriorityFlag).where(PriorityFlag.volunteer_id == vid, PriorityFlag.domain_id == mission.domain_id)
        )
        if flag is None:
            session.add(
                PriorityFlag(volunteer_id=vid, domain_id=mission.domain_id, since=now, source_mission_id=mission.id)
            )
        else:
            flag.since, flag.source_mission_id, flag.cleared_at, flag.cleared_by_mission_id = (
                now,
                mission.id,
                None,
                None,
            )
    advance(
        session,
        mission,
        MissionStatus.SELECTED,
        actor=ctx.actor,
        step_key=ctx.key,
        action="selection",
        details={"selected": selected, "priority": wants_other},
    )
    session.flush()
    notices.selection(session, mission)
    return "continue"


# --- Step 6: roadmap ------------------------------------------------------------------------------


def apply_roadmap(session: Session, mission: Mission, a: dict[str, Any], ctx: Ctx) -> str:
    """Store the validated roadmap; this closes the search and tells the remaining applicants."""
    start, end = _date(a["start_on"]), _date(a["end_on"])
    objectives = [o for o in a.get("objectives", []) if str(o.get("objectif", "")).strip()]
    errors = []
    if end < start:
        errors.append(f"La fin de la mission ({end:%d/%m/%Y}) précède son début ({start:%d/%m/%Y}).")
    if not objectives:
        errors.append("La feuille de route doit compter au moins un objectif.")
    for i, o in enumerate(objectives, 1):
        due = _date(o["echeance"])
        if not start <= due <= end:
            errors.append(f"L'échéance de l'objectif {i} ({due:%d/%m/%Y}) est hors de la mission.")
    if not a.get("validated_by_association"):
        errors.append("La feuille de route doit être validée par l'association pour clore la recherche.")
    if errors:
        raise StepRefused(" ".join(errors))
    roadmap = Roadmap(
        mission_id=mission.id,
        start_on=start,
        end_on=end,
        notes=a.get("notes", "").strip(),
        checkin_every_days=int(a["checkin_every_days"]),
        validated_on=_date(a["validated_on"]),
    )
    session.add(roadmap)
    session.flush()
    session.add_all(
        RoadmapObjective(
            roadmap_id=roadmap.id,
            position=i,
            objective=o["objectif"].strip(),
            deliverable=o.get("livrable", "").strip(),
            due_on=_date(o["echeance"]),
        )
        for i, o in enumerate(objectives, 1)
    )
    closed = list(
        session.scalars(
            select(Application).where(
                Application.mission_id == mission.id, Application.status == ApplicationStatus.RECEIVED
            )
        )
    )
    for app in closed:
        app.status, app.decided_at = ApplicationStatus.CLOSED, utcnow()
    advance(
        session,
        mission,
        MissionStatus.IN_PROGRESS,
        actor=ctx.actor,
        step_key=ctx.key,
        action="roadmap",
        details={"closed_applications": len(closed)},
    )
    session.flush()
    notices.search_closed(session, mission, [x.volunteer_id for x in closed])
    return "continue"


# --- Step 7: check-ins ----------------------------------------------------------------------------

_CHECKIN = {
    "dans les temps": CheckInStatus.ON_TRACK,
    "à risque": CheckInStatus.AT_RISK,
    "bloquée": CheckInStatus.BLOCKED,
}


def apply_check_in(session: Session, mission: Mission, a: dict[str, Any], ctx: Ctx) -> str:
    """Store check-in `ctx.n`; « mission terminée » leads to the bilan."""
    held = _date(a["held_on"])
    if held > utcnow().date() + timedelta(days=1):
        raise StepRefused(f"La date du point ({held:%d/%m/%Y}) est dans le futur.")
    session.add(
        CheckIn(
            mission_id=mission.id,
            number=ctx.n,
            held_on=held,
            status=_CHECKIN[a["status"]],
            notes=a.get("notes", "").strip(),
        )
    )
    return "finished" if a["decision"].startswith("mission terminée") else "continue"


# --- Step 8: bilan --------------------------------------------------------------------------------

_MET = {"oui": ObjectivesMet.YES, "en partie": ObjectivesMet.PARTLY, "non": ObjectivesMet.NO}


def apply_review(session: Session, mission: Mission, a: dict[str, Any], ctx: Ctx) -> str:
    """Store the bilan and complete the mission."""
    ratings = [int(a["association_rating"]), int(a["volunteer_rating"])]
    if not all(1 <= r <= 5 for r in ratings):
        raise StepRefused("Les notes de satisfaction vont de 1 à 5.")
    session.add(
        Review(
            mission_id=mission.id,
            held_on=_date(a["held_on"]),
            association_rating=ratings[0],
            volunteer_rating=ratings[1],
            objectives_met=_MET[a["objectives_met"]],
            testimony=a.get("testimony", "").strip(),
            association_would_redo=bool(a.get("association_would_redo")),
            volunteer_would_redo=bool(a.get("volunteer_would_redo")),
        )
    )
    advance(session, mission, MissionStatus.COMPLETED, actor=ctx.actor, step_key=ctx.key, action="review")
    session.flush()
    notices.completed(session, mission)
    return "completed"


def _people_to_tell_of_cancel(session: Session, mission: Mission) -> list[int]:
    return list(
        session.scalars(
            select(Application.volunteer_id).where(
                Application.mission_id == mission.id,
                Application.status.in_([ApplicationStatus.RECEIVED, ApplicationStatus.SELECTED]),
            )
        )
    )


APPLY = {
    "needs-analysis": apply_needs_analysis,
    "annonce": apply_annonce,
    "applications": apply_applications,
    "selection": apply_selection,
    "roadmap": apply_roadmap,
    "check-in": apply_check_in,
    "review": apply_review,
}
