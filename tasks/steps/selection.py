"""Step 5, selection: the Passerelle retains one or more applicants; the others are thanked, and those who still
want a mission become priority in the mission's domain."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date
from enum import StrEnum

from prefect.input import RunInput
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Application, ApplicationStatus, Mission, MissionStatus, PriorityFlag, Volunteer
from models.base import utcnow
from models.rules import MissionSnapshot
from tasks import notices
from tasks.missions import advance
from tasks.steps.applications import applicants_table
from tasks.steps.base import CANCEL, Ctx, Outcome, Prefill, Step, entered_by_field, reason_field, refuse_if


class Decision(StrEnum):
    """Validate the selection or cancel the mission."""

    VALIDATE = "valider la sélection"
    CANCEL = CANCEL


class SelectionForm(RunInput):
    """Who is retained, and who, not retained, still wants a mission."""

    selected: list[str] = Field(title="Bénévoles retenus", description="Parmi les candidats classés ci-dessus.")
    wants_other: list[str] = Field(
        default_factory=list,
        title="Non retenus souhaitant une autre mission",
        description="Ils deviennent prioritaires dans le domaine de la mission.",
    )
    decision: Decision = Field(
        default=Decision.VALIDATE, title="Décision", description="Valider la sélection ou annuler la mission."
    )
    cancel_reason: str = reason_field()
    entered_by: str = entered_by_field()


_LABEL_ID = re.compile(r"^\s*V-?(\d+)\b")


def volunteer_ids(labels: list[str]) -> tuple[list[int], list[str]]:
    """The volunteer numbers of form labels (`V-0042 Alice Martin`), and the labels that name none."""
    ids, bad = [], []
    for label in labels:
        m = _LABEL_ID.match(label)
        if m:
            ids.append(int(m.group(1)))
        else:
            bad.append(f"« {label} » ne désigne pas un bénévole (attendu : V-0042 Prénom Nom).")
    return ids, bad


def check(a: SelectionForm, *, applicants: Collection[int]) -> list[str]:
    """Reasons to refuse the selection (pure): nobody retained, a non-applicant named, someone both retained and
    not retained."""
    selected, bad = volunteer_ids(a.selected)
    wants_other, bad_other = volunteer_ids(a.wants_other)
    errors = bad + bad_other
    if not selected and not bad:
        errors.append("Retenez au moins un bénévole.")
    errors += [f"V-{vid:04d} n'a pas candidaté à cette mission." for vid in dict.fromkeys(selected + wants_other)
               if vid not in applicants]  # fmt: skip
    both = sorted(set(selected) & set(wants_other))
    if both:
        errors.append(
            "Un bénévole retenu ne peut pas être aussi « non retenu » : " + ", ".join(f"V-{v:04d}" for v in both) + "."
        )
    return errors


def prefill(session: Session, mission: Mission, n: int) -> Prefill:
    """The ranked applicants as choices, the best ones retained by default."""
    ranked = session.scalars(
        select(Volunteer)
        .join(Application, Application.volunteer_id == Volunteer.id)
        .where(Application.mission_id == mission.id, Application.status == ApplicationStatus.RECEIVED)
        .order_by(Application.score.desc().nulls_last(), Volunteer.id)
    )
    labels = [v.label for v in ranked]
    return Prefill(
        defaults={"selected": labels[: mission.volunteers_needed]},
        choices={"selected": labels, "wants_other": labels},
        section=applicants_table(session, mission),
    )


def apply(session: Session, mission: Mission, a: SelectionForm, ctx: Ctx) -> Outcome:
    """Retain applicants, thank the others, flag those who want another mission as priority in the domain."""
    apps = {x.volunteer_id: x for x in session.scalars(select(Application).where(Application.mission_id == mission.id))}
    refuse_if(check(a, applicants=apps))
    selected, _ = volunteer_ids(a.selected)
    wants_other, _ = volunteer_ids(a.wants_other)
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
        existing = session.scalar(
            select(PriorityFlag).where(PriorityFlag.volunteer_id == vid, PriorityFlag.domain_id == mission.domain_id)
        )
        if existing is None:
            assert mission.domain_id is not None  # set at the needs analysis
            session.add(
                PriorityFlag(volunteer_id=vid, domain_id=mission.domain_id, since=now, source_mission_id=mission.id)
            )
        else:
            existing.since, existing.source_mission_id = now, mission.id
            existing.cleared_at, existing.cleared_by_mission_id = None, None
    advance(
        session, mission, MissionStatus.SELECTED, actor=ctx.actor, step_key=ctx.key, action=STEP.key,
        details={"selected": selected, "priority": wants_other},
    )  # fmt: skip
    session.flush()
    notices.selection(session, mission, occasion="" if ctx.asked == STEP.key else ctx.asked)
    return Outcome.CONTINUE


def asked_since(snapshot: MissionSnapshot) -> date | None:
    """The mission waits for its selection from the moment the Passerelle asked for it."""
    return snapshot.selection_asked_on


STEP = Step(
    key="selection",
    label="Sélection",
    instructions="Retenez un ou plusieurs candidats ; indiquez les non-retenus qui souhaitent une autre mission "
    "(ils deviennent prioritaires dans le domaine).",
    next_action="retenir un ou plusieurs candidats",
    service_level=7,
    status=MissionStatus.PUBLISHED,
    form=SelectionForm,
    prefill=prefill,
    apply=apply,
    since=asked_since,
)
