"""Answering a step: what its form shows (describe) and what its answer does (handle).

`handle` is the one entry point for an answer: it checks the mission is where the step expects it, runs the
step's checks before writing anything, then writes the step's rows, the status change and one audit event keyed
by the suspend key, in the caller's transaction. A refused answer is audited with its French reason. Replaying
the same key returns the recorded verdict: the flow takes the same path and nothing is written twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditEvent, Mission, MissionStatus
from models.permissions import NO_IDENTITY
from models.refusals import StepRefused
from tasks import notices
from tasks.lookups import get_mission
from tasks.missions import audit, cancel, step_done
from tasks.steps.base import BACK, CANCEL, Ctx, Outcome, Step, StepWaits, entered_by
from tasks.views import card


@dataclass(frozen=True)
class Verdict:
    """What became of an answer: `outcome` drives the flow; `error` is shown when the form is asked again."""

    outcome: Outcome
    error: str = ""
    replayed: bool = False  # the answer had been handled before: nothing was done now


def recorded_verdict(details: dict[str, Any]) -> Verdict:
    """The verdict an answer got, from its audit event's details: what a replay returns, whichever way it reads it
    (`handle` for one key, tasks/lifecycle.recorded_verdicts for every key at once)."""
    return Verdict(Outcome(details.get("outcome", Outcome.RETRY)), details.get("error", ""), replayed=True)


def handle(
    session: Session, mission_id: int, step: Step, step_key: str, data: dict[str, Any], *, n: int = 1
) -> Verdict:
    """Apply the answer to a step's form once; `n` is the step's round (annonce version, check-in number)."""
    done = step_done(session, mission_id, step_key)
    if done is not None:
        return recorded_verdict(done.details)
    mission = get_mission(session, mission_id, lock=True)
    label = str(data.get("entered_by") or "")
    actor = entered_by(label) or NO_IDENTITY
    if mission.status is MissionStatus.CANCELLED:
        return Verdict(Outcome.CANCELLED)
    assert step.form is not None and step.apply is not None, f"{step.key} has no form"
    try:
        if label == association_label(mission) and not step.ask_outside:
            raise StepRefused("Cette étape ne se remplit pas par l'association : elle revient à la Passerelle.")
        if mission.status is not step.status:
            raise StepRefused(
                f"La mission {mission.reference} est « {mission.status.label} » : "
                "cette étape ne la concerne plus ou pas encore."
            )
        try:
            answer = step.form.model_validate(data)
        except ValidationError as exc:
            raise StepRefused(f"Réponse illisible : {_french(exc)}") from exc
        if getattr(answer, "decision", None) == CANCEL:
            applicants = notices.people_to_tell_of_cancel(session, mission)
            cancel(session, mission, reason=getattr(answer, "cancel_reason", ""), actor=actor, step_key=step_key)
            notices.cancelled(session, mission, applicants)
            outcome = Outcome.CANCELLED
        else:
            outcome = step.apply(session, mission, answer, Ctx(n=n, key=step_key, actor=actor))
    except (StepRefused, StepWaits) as exc:
        waits = isinstance(exc, StepWaits)
        outcome = Outcome.AWAIT if waits else Outcome.RETRY
        audit(
            session,
            mission,
            actor=actor,
            action=f"{step.key}:{'awaiting' if waits else 'refused'}",
            step_key=step_key,
            details={"outcome": outcome.value, "error": str(exc), "answer": _redact(data)},
        )
        return Verdict(outcome, str(exc))
    event = step_done(session, mission_id, step_key) or audit(
        session, mission, actor=actor, action=step.key, step_key=step_key
    )
    event.details = {**event.details, "outcome": outcome.value}
    return Verdict(outcome)


def first_round(session: Session, mission_id: int, step: Step) -> int:
    """The round of a step taken in rounds that a run started mid-way asks (or runs) first: the step's own rule,
    else the one after the highest round audited."""
    if step.next_round is not None:
        return step.next_round(session, mission_id)
    keys = session.scalars(
        select(AuditEvent.step_key).where(AuditEvent.mission_id == mission_id, AuditEvent.action == step.key)
    )
    pattern = re.compile(rf"^{re.escape(step.round_key)}-(\d+)")
    return max((int(m.group(1)) for k in keys if (m := pattern.match(k))), default=0) + 1


def returns(session: Session, mission_id: int) -> int:
    """How many times the mission went back to an earlier step (a retained volunteer withdrew, the selection asked
    for new applications)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.mission_id == mission_id,
                AuditEvent.details["outcome"].as_string().in_([o.value for o in BACK]),
            )
        )
        or 0
    )


def association_label(mission: Mission) -> str:
    """How the association appears in « Saisi par » of the forms it may answer by link; the audit names it."""
    a = mission.association
    return f"{a.name} (association) <{a.contact_email}>"


def _french(exc: ValidationError) -> str:
    """Which fields are wrong, by their French titles where the form has them."""
    return "; ".join(f"champ « {'.'.join(str(p) for p in e['loc'])} » : {e['msg']}" for e in exc.errors()[:5])


def _redact(answer: dict[str, Any]) -> dict[str, Any]:
    """Keep the refused answer for the audit, without long texts."""
    return {k: (v[:200] if isinstance(v, str) else v) for k, v in answer.items()}


def describe(
    session: Session,
    mission: Mission,
    step: Step,
    *,
    n: int,
    error: str,
    previous: dict[str, Any] | None,
    awaiting: bool = False,
) -> dict[str, Any]:
    """Description, prefill and database choices of a step's form; a refused (or awaiting) answer is prefilled
    again, its decision too unless the form waits for someone outside."""
    assert step.prefill is not None, f"{step.key} has no form"
    spec = step.prefill(session, mission, n)
    defaults = dict(spec.defaults)
    if previous:  # what was typed, except an empty decision and who typed it (the next answer says its own)
        kept = {k: v for k, v in previous.items() if k != "entered_by" and (k != "decision" or (v and not awaiting))}
        defaults.update(kept)
    defaults.update(spec.answered)
    if awaiting and step.waiting_decision and "decision" not in spec.answered:
        defaults["decision"] = step.waiting_decision
    if awaiting:
        banner = f"> ⏳ **En attente** : {error}\n>\n> Vous pouvez aussi compléter et valider ce formulaire.\n\n"
    elif error:
        banner = f"> ⚠️ **Saisie refusée** : {error}\n>\n> Corrigez puis validez à nouveau ; rien n'a été perdu.\n\n"
    else:
        banner = ""
    description = (
        f"{banner}## {step.label} — {mission.reference}\n\n{step.instructions}\n{spec.section}\n---\n\n"
        + card(session, mission)
    )
    return {"description": description, "defaults": defaults, "choices": spec.choices}
