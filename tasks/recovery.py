"""What happens to a mission when its run ends badly outside its forms: crashed or failed (rescheduled, a bounded
number of times: the run replays safely), or cancelled from the Prefect UI (the mission is cancelled with it, the
parties told). Automations created at installation run these on the run's events (deployments/register.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from prefect import get_client, task
from prefect.client.schemas.objects import StateType
from prefect.states import Scheduled, State
from sqlalchemy import func, select

from models import AuditEvent, Mission
from models.base import utcnow
from models.db import unit_of_work
from tasks import notices
from tasks.delivery import deliver_soon
from tasks.missions import audit, cancel
from tasks.runs import LIFECYCLE, end_state
from tasks.views import dashboard

MAX_RECOVERIES = 5  # then the run stays failed, and the branch dashboard says the mission needs a hand
RECOVERED, ABANDONED, UI_CANCELLED = "run-recovered", "run-abandoned", "run-cancelled"
UI_CANCEL_REASON = "Run de la mission annulé depuis l'interface Prefect."
ACTOR = "prefect"


def run_id_of(reference: str) -> UUID:
    """A flow run id, from itself or from an event's resource id (`prefect.flow-run.<id>`)."""
    return UUID(reference.rsplit(".", 1)[-1])


def _read_state(run_id: UUID) -> tuple[StateType | None, str]:
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id).state
    return (state.type, state.message or "") if state else (None, "")


def _mission_of(session: Any, run_id: UUID) -> Mission | None:
    """The mission a run follows: attached to it, or (a run that never started) named by its parameters."""
    mission = session.scalar(select(Mission).where(Mission.flow_run_id == str(run_id)).with_for_update())
    if mission is not None:
        return mission
    with get_client(sync_client=True) as client:
        mission_id = client.read_flow_run(run_id).parameters.get("mission_id")
    candidate = session.get(Mission, mission_id, with_for_update=True) if isinstance(mission_id, int) else None
    return candidate if candidate is not None and candidate.flow_run_id is None else None


def _end_of_closed(mission: Mission | None, run_id: UUID) -> State | None:
    """The end state of the run of a closed mission (None when the mission is open or the run is not its own)."""
    if mission is None or mission.status.is_open or mission.flow_run_id != str(run_id):
        return None
    return end_state(mission.status.value, mission.reference, mission.cancel_reason)


def _put_end_back(run_id: UUID, end: State) -> str:
    """A closed mission's run shows how the mission ended, whatever overwrote it (the silence automation of
    versions before issue 19 turned every finished run Crashed; a run may also die as it closes). Forced: the run
    is Crashed or Failed, and the database is the record."""
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run_id, end, force=True)
    return f"run remis à « {end.name} » (mission close)"


def restore_ended_runs() -> list[str]:
    """Every Crashed or Failed mission run whose mission is closed gets its end state back (`passerelles init`,
    and `watch-mission-runs` every minute)."""
    with get_client(sync_client=True) as client:
        runs = _mission_runs(client, [StateType.CRASHED, StateType.FAILED])
    done = []
    for run in runs:
        with unit_of_work() as session:
            mission = session.scalar(select(Mission).where(Mission.flow_run_id == str(run.id)))
            end = _end_of_closed(mission, run.id)
        if end is not None:
            done.append(f"{run.name} : {_put_end_back(run.id, end)}")
    return done


def _reschedule(run_id: UUID, state: StateType | None, message: str) -> str:
    """Reschedule a mission run that ended badly, unless its mission is closed (the run then shows how it
    ended) or it keeps failing where it is."""
    with unit_of_work() as session:
        mission = _mission_of(session, run_id)
        end = _end_of_closed(mission, run_id)
        if mission is None or (end is None and not mission.status.is_open):
            return "rien à faire : pas de mission ouverte pour ce run"
        if end is None:
            n = _audit_recovery(session, mission, run_id, state, message)
    if end is not None:  # outside the transaction: no network call while the mission row is locked
        return _put_end_back(run_id, end)
    if n > MAX_RECOVERIES:
        return f"abandon après {MAX_RECOVERIES} relances sans progrès"
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run_id, Scheduled(message=f"Relance automatique n° {n}"), force=True)
    return f"relancé (n° {n})"


def _audit_recovery(session: Any, mission: Mission, run_id: UUID, state: StateType | None, message: str) -> int:
    """Audit a recovery of the mission's run, or its abandonment after MAX_RECOVERIES without progress; the number
    of this recovery since the mission last moved on."""
    progress = session.scalar(  # the last thing the mission did that was not a recovery
        select(func.max(AuditEvent.at)).where(
            AuditEvent.mission_id == mission.id, AuditEvent.action.not_in([RECOVERED, ABANDONED])
        )
    )
    since = (
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.mission_id == mission.id, AuditEvent.action == RECOVERED)
    )
    if progress is not None:
        since = since.where(AuditEvent.at > progress)
    total = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.mission_id == mission.id, AuditEvent.action == RECOVERED)
    )
    n = (session.scalar(since) or 0) + 1
    details: dict[str, Any] = {"state": str(state), "message": message[:500], "attempt": n}
    if n > MAX_RECOVERIES:
        key = f"{ABANDONED}:{run_id}:{total}"
        if session.scalar(select(AuditEvent.id).where(AuditEvent.step_key == key)) is None:
            audit(session, mission, actor=ACTOR, action=ABANDONED, step_key=key, details=details)
        return n
    key = f"{RECOVERED}:{run_id}:{(total or 0) + 1}"
    audit(session, mission, actor=ACTOR, action=RECOVERED, step_key=key, details=details)
    return n


@task(retries=2, retry_delay_seconds=5)
def recover_run(flow_run: str) -> str:
    """Reschedule a crashed or failed mission run whose mission is still open (MAX_RECOVERIES times in a row
    without the mission moving on)."""
    run_id = run_id_of(flow_run)
    state, message = _read_state(run_id)
    if state not in (StateType.CRASHED, StateType.FAILED):
        return f"rien à faire : le run est {state}"
    return _reschedule(run_id, state, message)


def _mission_runs(client: Any, states: list[StateType]) -> list[Any]:
    """Every mission run in one of `states` (the API gives 200 at most per call)."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )

    runs: list[Any] = []
    while True:
        page = client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[LIFECYCLE])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=states))),
            limit=200,
            offset=len(runs),
        )
        runs += page
        if len(page) < 200:
            return runs


def _heard_from(client: Any, run_id: UUID, since: datetime) -> bool:
    """Whether the run sent an event (a heartbeat, a state) since `since`. Runs mid-step are few: one call each."""
    from prefect.events.filters import EventFilter, EventOccurredFilter, EventResourceFilter

    wanted = EventFilter(
        occurred=EventOccurredFilter(since=since), resource=EventResourceFilter(id=[f"prefect.flow-run.{run_id}"])
    )
    return bool(client.read_events(wanted, limit=1).events)


@task(retries=2, retry_delay_seconds=5)
def sweep_runs(stale_seconds: float) -> list[str]:
    """The safety net of the automations (a recovery run can die too): reschedule every mission run left
    Crashed or Failed, or stuck Pending (taken by a worker that died) for more than `stale_seconds`, or Running
    without a word (heartbeat or state) — its machine died, and the automation that marks silent
    runs Crashed may have missed it (seen on the stack with a run killed right after it started). The net waits
    three times as long as that automation for a silent run: a live run late with its heartbeats (a loaded
    machine) must not be started twice."""
    now, silent = utcnow(), 3 * stale_seconds
    with get_client(sync_client=True) as client:
        stuck = _mission_runs(client, [StateType.CRASHED, StateType.FAILED, StateType.PENDING])
        running = [
            r
            for r in _mission_runs(client, [StateType.RUNNING])
            if r.state is not None and (now - r.state.timestamp).total_seconds() >= silent
        ]
        since = now - timedelta(seconds=silent)
        silent_runs = [r for r in running if not _heard_from(client, r.id, since)]
    done = []
    for run in stuck:
        state = run.state
        if state is None or (now - state.timestamp).total_seconds() < stale_seconds:
            continue  # the automation, or the worker, is on it
        done.append(f"{run.name} : {_reschedule(run.id, state.type, state.message or '')}")
    for run in silent_runs:
        done.append(f"{run.name} : {_reschedule(run.id, StateType.RUNNING, 'Muet : plus de battement.')}")
    return done


@task(retries=2, retry_delay_seconds=5)
def mirror_cancel(flow_run: str) -> str:
    """A mission run cancelled from the UI cancels its mission (parties told): never a cancelled run with an open
    mission. A runner stopping mid-run also ends it `Cancelled`: that one is an interruption, and is rescheduled."""
    run_id = run_id_of(flow_run)
    state, message = _read_state(run_id)
    if state is not StateType.CANCELLED:
        return f"rien à faire : le run est {state}"
    if "shutting down" in message.lower():
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(run_id, Scheduled(message="Reprise après l'arrêt d'un processus"), force=True)
        return "interruption : run relancé"
    with unit_of_work() as session:
        mission = session.scalar(select(Mission).where(Mission.flow_run_id == str(run_id)).with_for_update())
        if mission is None or not mission.status.is_open:
            return "rien à faire : pas de mission ouverte pour ce run"
        told = notices.people_to_tell_of_cancel(session, mission)
        key = f"{UI_CANCELLED}:{run_id}"
        cancel(session, mission, reason=UI_CANCEL_REASON, actor="Interface Prefect", step_key=key)
        notices.cancelled(session, mission, told)
        board = dashboard(session, mission)
        reference = mission.reference
    board.publish()
    deliver_soon()
    return f"mission {reference} annulée"
