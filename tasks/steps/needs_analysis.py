"""Step 1, needs analysis: the Passerelle meets the association, checks its values, and makes the need precise."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from prefect.input import RunInput
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Competence, Domain, Mission, MissionCompetence, MissionStatus, Scope
from models.base import utcnow
from models.calendar import NEEDS_MEETING
from models.refusals import StepRefused
from models.rules import values_still_valid, values_valid_until
from tasks import calendar
from tasks.fees import bill_membership
from tasks.missions import advance
from tasks.steps.base import (
    CANCEL,
    Ctx,
    Outcome,
    Prefill,
    Step,
    StepWaits,
    entered_by_field,
    label_code,
    reason_field,
    refuse_if,
)


class Decision(StrEnum):
    """The choices of the form."""

    VALIDATE = "valider l'analyse"
    DRAFT = "garder l'analyse en cours (à compléter)"
    CANCEL = CANCEL


class NeedsAnalysisForm(RunInput):
    """The need, made precise with the association."""

    meeting_date: date = Field(
        title="Date de la rencontre",
        description="Quand vous avez rencontré l'association ; une date à venir, avec l'analyse gardée en cours, "
        "lui est envoyée en invitation d'agenda (et à nouveau si vous la changez).",
    )
    meeting_time: str = Field(
        default="",
        title="Heure de la rencontre",
        description="Par exemple 14:30, heure de Paris (facultatif : sans heure, l'invitation vaut pour la journée).",
    )
    values_accepted: bool = Field(
        default=False,
        title="Adhésion aux valeurs validée",
        description="L'association adhère aux valeurs et au fonctionnement de Passerelles & Compétences "
        "(vérifiée une fois par an : sans effet quand elle est encore valable, voir plus haut).",
    )
    title: str = Field(title="Intitulé de la mission", description="Court et parlant, il sert de titre à l'annonce.")
    need: str = Field(title="Expression du besoin", description="Le besoin, aussi précis que possible.")
    deliverables: str = Field(default="", title="Livrables attendus", description="Ce que l'association aura à la fin.")
    domain: str = Field(default="", title="Domaine de compétences", description="Le domaine principal de la mission.")
    competences: list[str] = Field(
        default_factory=list,
        title="Compétences recherchées",
        description="Une ou plusieurs compétences de la taxonomie.",
    )
    effort: str = Field(
        default="", title="Charge estimée", description="Par exemple : deux demi-journées par mois pendant 3 mois."
    )
    expected_start: date = Field(title="Début souhaité", description="Date de début prévue de la mission.")
    expected_end: date = Field(title="Fin souhaitée", description="Date de fin prévue de la mission.")
    remote_ok: bool = Field(
        default=False,
        title="Réalisable à distance",
        description="Si oui, l'annonce est aussi diffusée aux bénévoles de toute la France qui l'acceptent.",
    )
    volunteers_needed: int = Field(
        default=1, ge=1, le=10, title="Nombre de bénévoles", description="Combien de bénévoles retenir (1 à 10)."
    )
    decision: Decision = Field(
        default=Decision.DRAFT,  # the form as shown keeps what was typed and waits for the rest
        title="Décision",
        description="Valider l'analyse (l'annonce est alors rédigée), la garder en cours pour la compléter, ou "
        "annuler la mission.",
    )
    cancel_reason: str = reason_field()
    entered_by: str = entered_by_field()


def competence_label(c: Competence, domain: Domain) -> str:
    """`site-web · Conception de site internet (Web et numérique)`: the code first, so it parses back."""
    return f"{c.code} · {c.name} ({domain.name})"


def domain_label(d: Domain) -> str:
    """`web-numerique · Web et numérique`."""
    return f"{d.code} · {d.name}"


def check(
    a: NeedsAnalysisForm, *, domains: Collection[str], competences: Collection[str], values_valid: bool = False
) -> list[str]:
    """Reasons to refuse the analysis (pure): values not accepted (unless still valid from a check of the past
    year), bad dates, empty texts, unknown choices."""
    errors = []
    if not a.values_accepted and not values_valid:
        errors.append(
            "L'adhésion de l'association aux valeurs et au fonctionnement de P&C n'est pas validée : "
            "validez-la ou annulez la mission avec un motif."
        )
    if a.expected_end < a.expected_start:
        errors.append(f"La fin souhaitée ({a.expected_end:%d/%m/%Y}) précède le début ({a.expected_start:%d/%m/%Y}).")
    for text, label in ((a.title, "L'intitulé"), (a.need, "L'expression du besoin"), (a.deliverables, "Les livrables")):
        if not text.strip():
            errors.append(f"{label} est vide.")
    if not a.domain.strip():
        errors.append("Choisissez le domaine de compétences de la mission.")
    elif label_code(a.domain) not in domains:
        errors.append(f"Domaine inconnu : « {a.domain} ».")
    codes = [label_code(x) for x in a.competences]
    unknown = [c for c in codes if c not in competences]
    if not codes:
        errors.append("Choisissez au moins une compétence recherchée.")
    if unknown:
        errors.append("Compétence(s) inconnue(s) : " + ", ".join(f"« {u} »" for u in unknown) + ".")
    return errors


def prefill(session: Session, mission: Mission, n: int) -> Prefill:
    """Domains and competences of the taxonomy as choices; the request's title and words, dates ahead."""
    today = utcnow().date()
    domains = list(session.scalars(select(Domain).order_by(Domain.name)))
    by_id = {d.id: d for d in domains}
    competences = session.scalars(select(Competence).order_by(Competence.name))
    validated = mission.association.values_validated_on
    if values_still_valid(validated, today):
        assert validated is not None
        section = (
            f"\n**Adhésion aux valeurs** : validée le {validated:%d/%m/%Y}, valable jusqu'au "
            f"{values_valid_until(validated):%d/%m/%Y}. Inutile de la revoir à cette rencontre."
        )
    else:
        last = f"dernière validation le {validated:%d/%m/%Y}, expirée" if validated else "jamais validée"
        section = f"\n**Adhésion aux valeurs** : à vérifier à cette rencontre ({last})."
    defaults: dict[str, Any] = {
        "values_accepted": values_still_valid(validated, today),
        "title": mission.title,
        "need": mission.need or mission.request,
        "meeting_date": today,
        "expected_start": today + timedelta(days=30),
        "expected_end": today + timedelta(days=120),
    }
    asked = list(session.scalars(select(MissionCompetence).where(MissionCompetence.mission_id == mission.id)))
    if mission.domain_id is not None and asked:  # what the association's request named
        chosen = {
            c.id: c
            for c in session.scalars(select(Competence).where(Competence.id.in_([a.competence_id for a in asked])))
        }
        defaults |= {
            "domain": domain_label(by_id[mission.domain_id]),
            "competences": [competence_label(c, by_id[c.domain_id]) for c in chosen.values()],
            "deliverables": mission.deliverables,
            "effort": mission.effort,
        }
        shown = NeedsAnalysisForm.model_validate({**defaults, "decision": Decision.VALIDATE})
        codes = {label_code(x) for x in defaults["competences"]}
        if not check(
            shown,
            domains=[by_id[mission.domain_id].code],
            competences=codes,
            values_valid=bool(defaults["values_accepted"]),
        ):
            defaults["decision"] = Decision.VALIDATE.value  # all there: the form as shown validates the analysis
    return Prefill(
        section=section,
        defaults=defaults,
        choices={
            "domain": ["", *(domain_label(d) for d in domains)],  # "": not chosen yet (the form as shown)
            "competences": [competence_label(c, by_id[c.domain_id]) for c in competences],
        },
    )


def apply(session: Session, mission: Mission, a: NeedsAnalysisForm, ctx: Ctx) -> Outcome:
    """Record the analysed need and its competences; the mission is `analysed`. Kept in progress (the form as
    shown), nothing is written: the form is asked again with what was typed."""
    domain = session.scalar(select(Domain).where(Domain.code == label_code(a.domain)))
    codes = [label_code(x) for x in a.competences]
    found = {c.code: c for c in session.scalars(select(Competence).where(Competence.code.in_(codes)))}
    association = mission.association
    valid = values_still_valid(association.values_validated_on, a.meeting_date)
    errors = check(a, domains=[domain.code] if domain else [], competences=found, values_valid=valid)
    try:  # a time the invitation could not carry is refused even in a draft
        calendar.parse_time(a.meeting_time)
    except ValueError as exc:
        raise StepRefused(str(exc)) from exc
    if a.decision is Decision.DRAFT:
        # Say what validating still needs (the values check to do at this meeting, a domain to choose...), so
        # that the Passerelle who submitted the form as shown knows what to complete.
        missing = f" Pour la valider : {' '.join(errors)}" if errors else ""
        raise StepWaits(
            f"analyse en cours, gardée le {utcnow():%d/%m/%Y} : complétez-la, puis choisissez « "
            f"{Decision.VALIDATE.value} » (l'annonce est alors rédigée).{missing}"
        )
    refuse_if(errors)
    assert domain is not None
    mission.title = a.title.strip()
    mission.need = a.need.strip()
    mission.deliverables = a.deliverables.strip()
    mission.domain_id = domain.id
    mission.effort = a.effort.strip()
    mission.expected_start, mission.expected_end = a.expected_start, a.expected_end
    mission.needs_meeting_on = a.meeting_date
    mission.scope = Scope.NATIONAL if a.remote_ok else Scope.REGIONAL
    mission.volunteers_needed = a.volunteers_needed
    if not valid:  # checked at this meeting: valid one year from it
        association.values_validated_on = a.meeting_date
    bill_membership(session, mission)  # a member for the year, once its values are validated
    for mc in session.scalars(select(MissionCompetence).where(MissionCompetence.mission_id == mission.id)):
        session.delete(mc)
    session.flush()
    session.add_all(MissionCompetence(mission_id=mission.id, competence_id=found[c].id) for c in dict.fromkeys(codes))
    advance(session, mission, MissionStatus.ANALYSED, actor=ctx.actor, step_key=ctx.key, action=STEP.key)
    return Outcome.CONTINUE


def plan_meeting(session: Session, mission: Mission, n: int, previous: dict[str, Any] | None) -> None:
    """The analysis kept in progress with a meeting ahead: the association gets it as a calendar invitation (again,
    same event, when the date or time changes)."""
    if previous is None or not previous.get("meeting_date"):
        return
    on = date.fromisoformat(str(previous["meeting_date"]))
    try:
        at = calendar.parse_time(str(previous.get("meeting_time") or ""))
    except ValueError:
        return  # refused with the answer
    today = calendar.today_in_paris()
    if on > today or (on == today and at is not None):
        calendar.schedule(session, mission, key=NEEDS_MEETING, what=calendar.describe(NEEDS_MEETING), on=on, at=at,
                          parties=[None])  # fmt: skip


STEP = Step(
    key="needs-analysis",
    label="Analyse du besoin",
    instructions="Rencontrez l'association, vérifiez son adhésion aux valeurs et au fonctionnement de P&C, puis "
    "précisez le besoin, les livrables et les compétences.",
    next_action="rencontrer l'association et saisir l'analyse du besoin",
    service_level=14,  # from the request
    status=MissionStatus.REQUESTED,
    form=NeedsAnalysisForm,
    prefill=prefill,
    apply=apply,
    plan=plan_meeting,
    waiting_decision=Decision.DRAFT.value,
)
