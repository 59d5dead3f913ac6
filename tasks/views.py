"""What the Passerelle sees: the mission card, each form's description and prefill, the run's artifacts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_progress_artifact
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    Announcement,
    Application,
    ApplicationStatus,
    CheckIn,
    Competence,
    Domain,
    Mission,
    MissionStatus,
    Roadmap,
    RoadmapObjective,
    Volunteer,
)
from models.base import utcnow
from tasks import notices
from tasks.matching import rank_applicants, suggest
from tasks.rendering import render
from tasks.steps import competence_label, domain_label


@dataclass(frozen=True)
class StepInfo:
    """A human step: its number out of 8, its title, what the Passerelle has to do."""

    number: int
    title: str
    instructions: str


STEPS = {
    "needs-analysis": StepInfo(
        1,
        "Analyse du besoin",
        "Rencontrez l'association, vérifiez son adhésion aux valeurs et "
        "au fonctionnement de P&C, puis précisez le besoin, les livrables et les compétences.",
    ),
    "annonce": StepInfo(
        2,
        "Validation de l'annonce",
        "Relisez l'annonce pré-rédigée, faites-la valider par "
        "l'association, puis indiquez sa réponse (approuvée, à réviser).",
    ),
    "applications": StepInfo(
        4,
        "Candidatures",
        "Saisissez les candidatures reçues par mail ou par téléphone, puis "
        "attendez, élargissez la diffusion au national, ou passez à la sélection.",
    ),
    "selection": StepInfo(
        5,
        "Sélection",
        "Retenez un ou plusieurs candidats ; indiquez les non-retenus qui "
        "souhaitent une autre mission (ils deviennent prioritaires dans le domaine).",
    ),
    "roadmap": StepInfo(
        6,
        "Feuille de route",
        "Saisissez la feuille de route convenue entre le bénévole et "
        "l'association ; sa validation par l'association clôt la recherche.",
    ),
    "check-in": StepInfo(
        7,
        "Suivi de la mission",
        "Faites le point avec le bénévole et l'association, ou indiquez que la mission est terminée.",
    ),
    "review": StepInfo(8, "Bilan", "Faites le bilan de fin de mission avec le bénévole et l'association."),
}

_PROGRESS = {
    MissionStatus.REQUESTED: 0,
    MissionStatus.ANALYSED: 1,
    MissionStatus.APPROVED: 2,
    MissionStatus.PUBLISHED: 3,
    MissionStatus.SELECTED: 5,
    MissionStatus.IN_PROGRESS: 6,
    MissionStatus.COMPLETED: 8,
}

_NEXT = {
    MissionStatus.REQUESTED: "analyser le besoin avec l'association",
    MissionStatus.ANALYSED: "faire valider l'annonce par l'association",
    MissionStatus.APPROVED: "diffuser l'annonce",
    MissionStatus.PUBLISHED: "recueillir les candidatures, puis sélectionner",
    MissionStatus.SELECTED: "mise en contact, puis feuille de route",
    MissionStatus.IN_PROGRESS: "suivre la mission, puis faire le bilan",
    MissionStatus.COMPLETED: "aucune : mission terminée",
    MissionStatus.CANCELLED: "aucune : mission annulée",
}


def progress_step(mission: Mission) -> int:
    """Step reached, 0 to 8 (a cancelled mission keeps the step it was cancelled at)."""
    status = mission.cancelled_from if mission.status is MissionStatus.CANCELLED else mission.status
    return _PROGRESS.get(status or MissionStatus.REQUESTED, 0)


def card(session: Session, mission: Mission) -> str:
    """The mission card (markdown): who, what, where it stands, what is next."""
    apps = list(session.scalars(select(Application).where(Application.mission_id == mission.id)))
    selected = [
        v.label
        for v in session.scalars(
            select(Volunteer).where(
                Volunteer.id.in_([a.volunteer_id for a in apps if a.status is ApplicationStatus.SELECTED])
            )
        )
    ]
    last = session.scalar(select(CheckIn).where(CheckIn.mission_id == mission.id).order_by(CheckIn.number.desc()))
    labels = {"on_track": "dans les temps", "at_risk": "⚠️ à risque", "blocked": "⛔ bloquée"}
    domain = session.get(Domain, mission.domain_id) if mission.domain_id else None
    social = session.scalar(
        select(Announcement.social_text)
        .where(Announcement.mission_id == mission.id, Announcement.social_text != "")
        .order_by(Announcement.round.desc())
    )
    return render(
        "mission_card.md.j2",
        m=mission,
        progress={"step": progress_step(mission)},
        next_action=_NEXT[mission.status],
        domain=domain.name if domain else "",
        competences=notices.competence_names(session, mission),
        applications=len(apps),
        social=social or "",
        selected=selected,
        last_check_in=f"n° {last.number} du {last.held_on:%d/%m/%Y} : {labels[last.status.value]}" if last else "",
    )


def _applicants_table(session: Session, mission: Mission) -> str:
    scores = rank_applicants(session, mission)
    if not scores:
        return "_Aucune candidature enregistrée pour l'instant._\n"
    people = {
        v.id: v for v in session.scalars(select(Volunteer).where(Volunteer.id.in_([s.volunteer_id for s in scores])))
    }
    apps = {a.volunteer_id: a for a in session.scalars(select(Application).where(Application.mission_id == mission.id))}
    keys = list(scores[0].breakdown)
    lines = [
        "| Rang | Candidat | Score | " + " | ".join(k.capitalize() for k in keys) + " | Canal | Message |",
        "|---|---|---|" + "---|" * len(keys) + "---|---|",
    ]
    for i, s in enumerate(scores, 1):
        a = apps[s.volunteer_id]
        lines.append(
            f"| {i} | {people[s.volunteer_id].label} | **{s.total:g}** | "
            + " | ".join(f"{s.breakdown[k]:g}" for k in keys)
            + f" | {a.channel.value} | {a.message[:80].replace('|', '/')} |"
        )
    return "\n".join(lines) + "\n"


def _suggestions(session: Session, mission: Mission) -> str:
    scores = suggest(session, mission)
    if not scores:
        return ""
    people = {
        v.id: v for v in session.scalars(select(Volunteer).where(Volunteer.id.in_([s.volunteer_id for s in scores])))
    }
    rows = [f"| {people[s.volunteer_id].label} | {s.total:g} | {people[s.volunteer_id].email} |" for s in scores]
    return (
        "\n### Bénévoles à solliciter (n'ont pas encore candidaté)\n\n| Bénévole | Score | E-mail |\n|---|---|---|\n"
        + "\n".join(rows)
        + "\n"
    )


def form_spec(
    session: Session, mission: Mission, step: str, *, n: int, error: str, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """Description, prefill and database choices of a step's form; a refused answer is prefilled again."""
    info = STEPS[step]
    today = utcnow().date()
    defaults: dict[str, Any] = {}
    choices: dict[str, list[str]] = {}
    extra = ""
    if step == "needs-analysis":
        domains = list(session.scalars(select(Domain).order_by(Domain.name)))
        choices["domain"] = [domain_label(d) for d in domains]
        names = {d.id: d for d in domains}
        choices["competences"] = [
            competence_label(c, names[c.domain_id])
            for c in session.scalars(select(Competence).order_by(Competence.name))
        ]
        defaults = {
            "title": mission.title,
            "need": mission.request,
            "meeting_date": today,
            "expected_start": today + timedelta(days=30),
            "expected_end": today + timedelta(days=120),
        }
    elif step == "annonce":
        before = session.scalar(
            select(Announcement).where(Announcement.mission_id == mission.id, Announcement.round == n - 1)
        )
        defaults["text"] = before.text if before else notices.draft_annonce(session, mission)
        if before and before.remarks:
            extra = f"\n### Remarques de l'association sur la version {n - 1}\n\n> {before.remarks}\n"
        extra = f"\n_Version {n} de l'annonce._\n" + extra
    elif step in ("applications", "selection"):
        extra = "\n### Candidats classés\n\n" + _applicants_table(session, mission)
        if step == "applications":
            extra += _suggestions(session, mission)
        else:
            ranked = list(
                session.execute(
                    select(Volunteer, Application.score)
                    .join(Application, Application.volunteer_id == Volunteer.id)
                    .where(Application.mission_id == mission.id, Application.status == ApplicationStatus.RECEIVED)
                    .order_by(Application.score.desc().nulls_last(), Volunteer.id)
                ).tuples()
            )
            labels = [v.label for v, _ in ranked]
            choices = {"selected": labels, "wants_other": labels}
            defaults["selected"] = labels[: mission.volunteers_needed]
    elif step == "roadmap":
        start = mission.expected_start or today
        end = mission.expected_end or start + timedelta(days=90)
        defaults = {
            "start_on": start,
            "end_on": end,
            "validated_on": today,
            "objectives": [{"objectif": mission.deliverables or mission.title, "livrable": "", "echeance": end}],
        }
    elif step in {"check-in", "review"}:
        defaults["held_on"] = today
        extra = _roadmap_summary(session, mission)
    if previous:
        defaults.update({k: v for k, v in previous.items() if k != "decision" or v})
    banner = (
        f"> ⚠️ **Saisie refusée** : {error}\n>\n> Corrigez puis validez à nouveau ; rien n'a été perdu.\n\n"
        if error
        else ""
    )
    description = f"{banner}## {info.title} — {mission.reference}\n\n{info.instructions}\n{extra}\n---\n\n" + card(
        session, mission
    )
    return {"description": description, "defaults": defaults, "choices": choices}


def _roadmap_summary(session: Session, mission: Mission) -> str:
    roadmap = session.scalar(select(Roadmap).where(Roadmap.mission_id == mission.id))
    if roadmap is None:
        return ""
    objectives = session.scalars(
        select(RoadmapObjective).where(RoadmapObjective.roadmap_id == roadmap.id).order_by(RoadmapObjective.position)
    )
    rows = "\n".join(f"| {o.objective} | {o.deliverable} | {o.due_on:%d/%m/%Y} |" for o in objectives if o.due_on)
    count = session.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.mission_id == mission.id))
    return (
        f"\n### Feuille de route (du {roadmap.start_on:%d/%m/%Y} au {roadmap.end_on:%d/%m/%Y}, point tous les "
        f"{roadmap.checkin_every_days} jours ; {count} point(s) déjà fait(s))\n\n| Objectif | Livrable | Échéance |\n"
        f"|---|---|---|\n{rows}\n"
    )


def artifact_key(mission: Mission, suffix: str = "") -> str:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    return f"mission-{mission.reference.lower()}" + (f"-{suffix}" if suffix else "")


def publish_dashboard(session: Session, mission: Mission) -> None:
    """The run's dashboard: the mission card (keyed markdown) and its progress (step k of 8)."""
    step = progress_step(mission)
    create_markdown_artifact(
        markdown=card(session, mission), key=artifact_key(mission), description=f"Fiche mission {mission.reference}"
    )
    create_progress_artifact(
        progress=round(step / 8 * 100, 1),
        key=artifact_key(mission, "avancement"),
        description=f"{mission.reference} : étape {step} sur 8 — {mission.status.label}",
    )
