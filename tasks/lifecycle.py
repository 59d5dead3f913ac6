"""The Prefect tasks of the mission lifecycle: thin wrappers that open a transaction, call the plain functions
(tasks/steps), publish the run's dashboard once the transaction is committed, then say that mails wait (the
`send-mails` flow sends them: a mission run never waits for, nor fails on, the SMTP server).

They take and return ids and small values only: no session, ORM object or personal data crosses into Prefect.
Each is idempotent by a database key, so the replay of a resumed run re-executes them harmlessly.
"""

from __future__ import annotations

from typing import Any

from prefect import task
from sqlalchemy import select

from models import AuditEvent
from models.db import unit_of_work
from models.refusals import StepRefused
from tasks import notices
from tasks.delivery import deliver_soon
from tasks.lookups import find_association, find_coordinator, get_mission
from tasks.missions import audit, open_mission, step_done
from tasks.steps import ANNOUNCEMENT, CHECK_IN, REGISTRY
from tasks.steps.answers import describe, first_round, handle, recorded_verdict, returns
from tasks.views import dashboard


def not_refused(task: Any, task_run: Any, state: Any) -> bool:
    """Retry on infrastructure errors, never on a business refusal: it would be refused again."""
    return not isinstance(state.result(raise_on_failure=False), StepRefused)


def _start_point(start: dict[str, Any]) -> dict[str, Any]:
    """A start point as recorded, including the format of runs attached before the step registry."""
    if "rounds" not in start:
        start = {
            "status": start["status"],
            "rounds": {ANNOUNCEMENT.key: start["annonce_round"], CHECK_IN.key: start["check_in"]},
        }
    return start


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=not_refused)
def attach_run(mission_id: int, flow_run_id: str) -> dict[str, Any]:
    """Record the run that follows the mission and where the mission stood when the run started.

    A run may start on a mission already under way (demo data, a run rebuilt after an incident): the flow skips
    the steps the database says are done, and starts the steps taken in rounds at their next round. The starting
    point is audited once, so every replay sees the same.
    """
    key = f"run:{flow_run_id}"
    with unit_of_work() as session:
        done = step_done(session, mission_id, key)
        if done is not None:
            return _start_point(dict(done.details["start"]))
        mission = get_mission(session, mission_id, lock=True)
        if mission.flow_run_id and mission.flow_run_id != flow_run_id:
            raise StepRefused(f"La mission {mission.reference} est déjà suivie par le run {mission.flow_run_id}.")
        mission.flow_run_id = flow_run_id
        rounds = {s.key: first_round(session, mission_id, s) for s in REGISTRY.steps if s.round_key}
        start = {"status": mission.status.value, "rounds": rounds, "returns": returns(session, mission_id)}
        audit(session, mission, actor="prefect", action="run-attached", step_key=key, details={"start": start})
        return start


@task(retries=2, retry_delay_seconds=2, persist_result=False)
def recorded_verdicts(mission_id: int) -> dict[str, dict[str, str]]:
    """What the database already holds for the mission's step keys (key → outcome and, when refused, the reason):
    a replay takes its answered forms and done automatic rounds from this one read instead of one task each (the
    very verdicts `handle` returns on a replay); only what is new this time goes through `submit` or `run_step`."""
    with unit_of_work() as session:
        rows = session.execute(
            select(AuditEvent.step_key, AuditEvent.details).where(AuditEvent.mission_id == mission_id)
        ).tuples()
        verdicts = {key: recorded_verdict(details) for key, details in rows}
    return {key: {"outcome": v.outcome.value, "error": v.error} for key, v in verdicts.items()}


# Task results are not persisted: some carry names (form descriptions, a cancellation reason), and the database,
# not Prefect's result storage, is what makes a replay safe.
@task(retries=2, retry_delay_seconds=2, persist_result=False)
def prepare_form(
    mission_id: int,
    step: str,
    key: str,
    n: int,
    error: str,
    previous: dict[str, Any] | None,
    returns: int = 0,
    awaiting: bool = False,
) -> dict[str, Any]:
    """Everything the form of a step needs; tells the Passerelle it waits for them and refreshes the dashboard."""
    info = REGISTRY[step]
    with unit_of_work() as session:
        mission = get_mission(session, mission_id)
        spec = describe(session, mission, info, n=n, error=error, previous=previous, awaiting=awaiting)
        if info.ask_outside is not None:  # the association may answer this form by link
            # the previous answer only when it waits for them: a refused « envoyer » sends nothing
            info.ask_outside(session, mission, key, spec["defaults"], previous if awaiting else None)
        if info.plan is not None:  # the dates this wait announces (calendar invitations)
            info.plan(session, mission, n, previous if awaiting else None)
        notices.waiting(
            session,
            mission,
            step_key=info.waiting_period(n, returns),
            step_title=info.label,
            instructions=f"Saisie refusée : {error}" if error and not awaiting else info.instructions,
        )
        board = dashboard(session, mission)
    board.publish()
    deliver_soon(mission_id)
    return spec


@task(retries=2, retry_delay_seconds=2)
def submit(mission_id: int, step: str, key: str, answer: dict[str, Any], n: int) -> dict[str, str]:
    """Apply a form's answer once; returns the outcome and, when refused, the reason in French."""
    with unit_of_work() as session:
        verdict = handle(session, mission_id, REGISTRY[step], key, answer, n=n)
        board = None if verdict.replayed else dashboard(session, get_mission(session, mission_id))
    if board:
        board.publish()
    deliver_soon(mission_id)
    return {"outcome": verdict.outcome.value, "error": verdict.error}


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=not_refused)
def run_step(mission_id: int, step: str, n: int) -> dict[str, int]:
    """Run round `n` of an automatic step (the diffusion) once."""
    info = REGISTRY[step]
    assert info.run is not None, f"{step} is not automatic"
    with unit_of_work() as session:
        if step_done(session, mission_id, info.step_key(n)) is not None:
            return {}
        mission = get_mission(session, mission_id, lock=True)
        counts = info.run(session, mission, n)
        board = dashboard(session, mission)
    board.publish()
    deliver_soon(mission_id)
    return counts


@task(persist_result=False)
def closing_state(mission_id: int) -> dict[str, str]:
    """How the mission ended: its status and, when cancelled, the reason."""
    with unit_of_work() as session:
        mission = get_mission(session, mission_id)
        board = dashboard(session, mission)
        end = {"status": mission.status.value, "reason": mission.cancel_reason, "reference": mission.reference}
    board.publish()
    return end


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=not_refused)
def open_request(association: str, passerelle: str, title: str, request: str) -> dict[str, Any]:
    """Open a mission for an association, run by a Passerelle; its id and reference."""
    with unit_of_work() as session:
        mission = open_mission(
            session,
            association=find_association(session, association),
            coordinator=find_coordinator(session, passerelle),
            title=title,
            request=request,
        )
        return {"mission_id": mission.id, "reference": mission.reference}
