"""Step 6, the feuille de route agreed by volunteer and association; its validation closes the search."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from prefect.input import RunInput
from pydantic import AliasChoices, BaseModel, Field
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import Application, ApplicationStatus, Mission, MissionStatus, Roadmap, RoadmapObjective, Volunteer
from models.base import utcnow
from models.refusals import StepRefused
from tasks import notices, parties
from tasks.missions import advance
from tasks.steps import withdrawal
from tasks.steps.base import (
    CANCEL,
    Ctx,
    Outcome,
    Prefill,
    Step,
    StepWaits,
    entered_by,
    entered_by_field,
    reason_field,
    refuse_if,
)
from tasks.steps.selection import volunteer_ids


class Decision(StrEnum):
    """Validate the roadmap, record that a retained volunteer withdrew, or cancel the mission."""

    VALIDATE = "valider la feuille de route"
    SEND = "la faire valider par l'association (lien par mail)"
    CHANGES = "l'association demande des modifications"
    WAIT = "attendre la validation de l'association"
    WITHDRAW = withdrawal.DECISION
    CANCEL = CANCEL


class Objective(BaseModel):
    """One line of the roadmap. (Answers stored before 2026-12 name the fields objectif/livrable/echeance.)"""

    objective: str = Field(
        title="Objectif",
        description="Ce qui doit être atteint.",
        validation_alias=AliasChoices("objective", "objectif"),
    )
    deliverable: str = Field(
        default="",
        title="Livrable",
        description="Ce qui est remis.",
        validation_alias=AliasChoices("deliverable", "livrable"),
    )
    due_on: date = Field(
        title="Échéance", description="Date prévue.", validation_alias=AliasChoices("due_on", "echeance")
    )


class RoadmapForm(RunInput):
    """The feuille de route agreed by volunteer and association."""

    objectives: list[Objective] = Field(title="Objectifs", description="Un ou plusieurs objectifs avec échéance.")
    start_on: date = Field(title="Début de la mission", description="Date de début convenue.")
    end_on: date = Field(title="Fin de la mission", description="Date de fin convenue.")
    checkin_every_days: int = Field(
        default=30,
        ge=7,
        le=90,
        title="Rythme du suivi (jours)",
        description="Tous les combien de jours faire le point.",
    )
    validated_by_association: bool = Field(
        default=False,
        title="Validée par l'association",
        description="La validation par l'association clôt la recherche.",
    )
    validated_on: date = Field(title="Date de validation", description="Quand l'association l'a validée.")
    notes: str = Field(default="", title="Remarques", description="Tout ce qui aide au suivi.")
    decision: Decision = Field(
        default=Decision.SEND,  # the form as shown sends it: the association's validation by link closes the search
        title="Décision",
        description="Valider ; l'envoyer à l'association, qui la valide par un lien ; enregistrer le désistement "
        "d'un bénévole retenu ; ou annuler la mission.",
    )
    association_remarks: str = Field(
        default="", title="Remarques de l'association", description="Ce qu'elle demande de changer."
    )
    agreed_by_phone: list[str] = Field(
        default_factory=list,
        title="Accord des bénévoles reçu hors lien",
        description="Les bénévoles retenus qui vous ont donné leur accord par téléphone ou par mail (chacun peut "
        "aussi le donner par le lien de son mail) : la recherche n'est close qu'avec l'accord de chacun.",
    )
    withdrawn: list[str] = withdrawal.withdrawn_field()
    cancel_reason: str = reason_field()
    entered_by: str = entered_by_field()

    def kept_objectives(self) -> list[Objective]:
        """The objectives with a text (an empty line of the form is ignored)."""
        return [o for o in self.objectives if o.objective.strip()]


def check(a: RoadmapForm) -> list[str]:
    """Reasons to refuse the roadmap (pure): dates, no objective, a due date outside the mission, no validation,
    a volunteer named as withdrawing without the decision."""
    errors = withdrawal.check(withdrawing=False, named=a.withdrawn, selected=())
    if a.end_on < a.start_on:
        errors.append(f"La fin de la mission ({a.end_on:%d/%m/%Y}) précède son début ({a.start_on:%d/%m/%Y}).")
    objectives = a.kept_objectives()
    if not objectives:
        errors.append("La feuille de route doit compter au moins un objectif.")
    errors += [
        f"L'échéance de l'objectif {i} ({o.due_on:%d/%m/%Y}) est hors de la mission."
        for i, o in enumerate(objectives, 1)
        if not a.start_on <= o.due_on <= a.end_on
    ]
    if a.decision is Decision.VALIDATE and not a.validated_by_association:
        errors.append(
            "La feuille de route doit être validée par l'association pour clore la recherche (ou "
            "envoyez-la-lui : « la faire valider par l'association »)."
        )
    return errors


BY_LINKS = "Les parties, par leurs liens (automatique)"  # « Saisi par » when the last agreement closes the search
AGREE, CHANGES = "agree", "changes"  # a volunteer's answer to a sending of the roadmap (PartyAnswer.answer)


def agreements(session: Session, mission: Mission) -> tuple[str, dict[int, str], dict[str, parties.Answer]]:
    """The last sending of the roadmap, the retained volunteers (id → label) and their answers to it."""
    sent = parties.latest_sending(session, mission.id)
    return sent, withdrawal.retained(session, mission), parties.answers(session, mission.id, sent) if sent else {}


def pending(session: Session, mission: Mission, *, by_phone: Sequence[str] = ()) -> list[str]:
    """The retained volunteers (labels) whose agreement to the roadmap as last sent is still missing, beyond those
    the Passerelle says agreed by phone; StepRefused if she names someone not retained."""
    _, retained, got = agreements(session, mission)
    named, bad = volunteer_ids(list(by_phone))
    bad += [f"V-{vid:04d} n'est pas retenu(e) pour cette mission." for vid in named if vid not in retained]
    refuse_if(bad)
    waiting = parties.missing([parties.party_of(v) for v in retained if v not in named], got, wanted=AGREE)
    return [retained[int(p[1:])] for p in waiting]


def agreements_section(session: Session, mission: Mission) -> str:
    """The « Réponses des parties » section of the form: each retained volunteer's answer to the last sending."""
    sent, retained, got = agreements(session, mission)
    if not retained:
        return ""
    lines = []
    for vid, label in retained.items():
        a = got.get(parties.party_of(vid))
        if not sent:
            said = "feuille de route pas encore envoyée"
        elif a is None:
            said = "pas encore répondu"
        elif a.answer == AGREE:
            said = f"✅ d'accord le {a.at:%d/%m/%Y}" + ("" if a.by_link else f" (saisi par {a.actor})")
        else:
            said = f"✏️ demande des modifications le {a.at:%d/%m/%Y} : « {parties.as_text(a.comment)} »"
        lines.append(f"- {label} : {said}")
    return parties.section("\n".join(lines))


def prefill(session: Session, mission: Mission, n: int) -> Prefill:
    """The analysed dates and deliverables as a first objective; each retained volunteer's agreement."""
    today = utcnow().date()
    start = mission.expected_start or today
    end = mission.expected_end or start + timedelta(days=90)
    objective = {"objective": mission.deliverables or mission.title, "deliverable": "", "due_on": end}
    choices = withdrawal.choices(session, mission)
    return Prefill(
        defaults={"start_on": start, "end_on": end, "validated_on": today, "objectives": [objective]},
        choices={**choices, "agreed_by_phone": choices["withdrawn"]},
        section=agreements_section(session, mission),
    )


def apply(session: Session, mission: Mission, a: RoadmapForm, ctx: Ctx) -> Outcome:
    """Store the validated roadmap; this closes the search and tells the remaining applicants. Or a retained
    volunteer withdrew: the search reopens."""
    if entered_by(a.entered_by) == BY_LINKS and a.decision is not Decision.VALIDATE:
        raise StepRefused(f"« {BY_LINKS} » ne fait que clore la recherche : choisissez votre nom dans « Saisi par ».")
    if a.decision is Decision.WITHDRAW:
        return withdrawal.reopen(session, mission, a.withdrawn, a.notes, ctx, action=STEP.key)
    refuse_if(check(a))
    if a.decision is Decision.SEND:
        raise StepWaits(
            f"feuille de route envoyée à {mission.association.contact_name} ({mission.association.name}) "
            f"le {utcnow():%d/%m/%Y} : sa validation par le lien du mail clôt la recherche."
        )
    if a.decision is Decision.WAIT:
        raise StepWaits(
            f"en attente de la validation de la feuille de route par {mission.association.contact_name} "
            f"({mission.association.name}), par le lien de son mail."
        )
    if a.decision is Decision.CHANGES:
        said = parties.as_text(a.association_remarks) or "sans précision"
        raise StepWaits(
            f"l'association demande des modifications : « {said} ». Corrigez la feuille de route, puis "
            "renvoyez-la (« la faire valider par l'association ») ou validez-la."
        )
    missing = pending(session, mission, by_phone=a.agreed_by_phone)
    if missing:
        raise StepWaits(
            f"feuille de route validée par l'association ; en attente de l'accord de {', '.join(missing)} (par le "
            "lien de son mail, ou cochez-le dans « Accord des bénévoles reçu hors lien »)."
        )
    sent = parties.latest_sending(session, mission.id) or ctx.asked
    for vid in volunteer_ids(a.agreed_by_phone)[0]:
        parties.record(
            session,
            mission,
            step=STEP.key,
            asked=sent,
            volunteer=session.get(Volunteer, vid),
            answer=AGREE,
            actor=ctx.actor,
            by_link=False,
        )
    roadmap = session.scalar(select(Roadmap).where(Roadmap.mission_id == mission.id))
    if roadmap is None:
        roadmap = Roadmap(mission_id=mission.id)
        session.add(roadmap)
    else:  # agreed again after a withdrawal: the kept roadmap, as validated now
        session.execute(delete(RoadmapObjective).where(RoadmapObjective.roadmap_id == roadmap.id))
    roadmap.start_on, roadmap.end_on, roadmap.notes = a.start_on, a.end_on, a.notes.strip()
    roadmap.checkin_every_days, roadmap.validated_on = a.checkin_every_days, a.validated_on
    session.flush()
    session.add_all(
        RoadmapObjective(
            roadmap_id=roadmap.id,
            position=i,
            objective=o.objective.strip(),
            deliverable=o.deliverable.strip(),
            due_on=o.due_on,
        )
        for i, o in enumerate(a.kept_objectives(), 1)
    )
    closed = list(
        session.scalars(
            select(Application).where(
                Application.mission_id == mission.id,
                Application.status.in_([ApplicationStatus.RECEIVED, ApplicationStatus.RESERVE]),
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
        action=STEP.key,
        details={"closed_applications": len(closed)},
    )
    session.flush()
    notices.search_closed(session, mission, [x.volunteer_id for x in closed])
    return Outcome.CONTINUE


def ask_parties(
    session: Session, mission: Mission, key: str, defaults: dict[str, Any], previous: dict[str, Any] | None
) -> None:
    """When the Passerelle sent it (« la faire valider par l'association »), mail this roadmap to the association,
    to validate it, and to each retained volunteer, to agree to it, each with their link (one mail per sending:
    each has its own key, which the answers name; an answer to an earlier sending no longer counts)."""
    if previous is None or previous.get("decision") != Decision.SEND.value:
        return
    retained = sorted(withdrawal.retained(session, mission))
    parties.record_sending(session, mission, key, retained, defaults)
    notices.roadmap_to_approve(session, mission, key=key, roadmap=defaults)
    for vid in retained:
        notices.roadmap_to_agree(session, mission, session.get(Volunteer, vid), key=key, roadmap=defaults)


STEP = Step(
    key="roadmap",
    label="Feuille de route",
    instructions="Saisissez la feuille de route convenue entre le bénévole et l'association ; sa validation par "
    "l'association clôt la recherche.",
    next_action="faire valider la feuille de route",
    service_level=14,
    status=MissionStatus.SELECTED,
    form=RoadmapForm,
    back={Outcome.WITHDRAWN: "selection"},
    prefill=prefill,
    apply=apply,
    ask_outside=ask_parties,
    answered_by=(BY_LINKS,),
    waiting_decision=Decision.WAIT.value,
)
