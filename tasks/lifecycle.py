"""The Prefect tasks of the mission lifecycle: thin wrappers that open a transaction, call the plain functions
(tasks/steps.py, tasks/views.py, tasks/diffusion.py), then send what the step queued.

They take and return ids and small values only: no session, ORM object or personal data crosses into Prefect.
Each is idempotent by a database key, so the replay of a resumed run re-executes them harmlessly.
"""

from __future__ import annotations

from typing import Any

from prefect import task
from sqlalchemy import func, select

from models import Announcement, AnnouncementStatus, CheckIn, MissionStatus
from models.db import session_factory, unit_of_work
from models.settings import get_settings
from tasks import notices
from tasks.diffusion import diffuse
from tasks.mail import send_pending
from tasks.missions import StepRefused, advance, audit, get_mission, step_done
from tasks.steps import handle
from tasks.views import STEPS, form_spec, publish_dashboard


def not_refused(task: Any, task_run: Any, state: Any) -> bool:
    """Retry on infrastructure errors, never on a business refusal: it would be refused again."""
    return not isinstance(state.result(raise_on_failure=False), StepRefused)


@task(retries=3, retry_delay_seconds=2)
def send_mails(mission_id: int) -> dict[str, int]:
    """Send the mission's pending mails."""
    return send_pending(session_factory(), mission_id=mission_id)


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=not_refused)
def attach_run(mission_id: int, flow_run_id: str) -> dict[str, Any]:
    """Record the run that follows the mission and where the mission stood when the run started.

    A run may start on a mission already under way (demo data, a run rebuilt after an incident): the flow skips
    the steps the database says are done. The starting point is audited once, so every replay sees the same.
    """
    key = f"run:{flow_run_id}"
    with unit_of_work() as session:
        done = step_done(session, mission_id, key)
        if done is not None:
            return dict(done.details["start"])
        mission = get_mission(session, mission_id, lock=True)
        if mission.flow_run_id and mission.flow_run_id != flow_run_id:
            raise StepRefused(f"La mission {mission.reference} est déjà suivie par le run {mission.flow_run_id}.")
        mission.flow_run_id = flow_run_id
        rounds = session.scalar(select(func.max(Announcement.round)).where(Announcement.mission_id == mission_id))
        check_ins = session.scalar(select(func.max(CheckIn.number)).where(CheckIn.mission_id == mission_id))
        start = {"status": mission.status.value, "annonce_round": (rounds or 0) + 1, "check_in": (check_ins or 0) + 1}
        audit(session, mission, actor="prefect", action="run-attached", step_key=key, details={"start": start})
        return start


# Task results are not persisted: some carry names (form descriptions, a cancellation reason), and the database,
# not Prefect's result storage, is what makes a replay safe.
@task(retries=2, retry_delay_seconds=2, persist_result=False)
def prepare_form(
    mission_id: int, step: str, key: str, n: int, error: str, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """Everything the form of a step needs; tells the Passerelle it waits for them and refreshes the dashboard."""
    with unit_of_work() as session:
        mission = get_mission(session, mission_id)
        spec = form_spec(session, mission, step, n=n, error=error, previous=previous)
        info = STEPS[step]
        notices.waiting(
            session,
            mission,
            step_key=key,
            step_title=info.title,
            instructions=f"Saisie refusée : {error}" if error else info.instructions,
        )
        publish_dashboard(session, mission)
    send_mails.fn(mission_id)
    return spec


@task(retries=2, retry_delay_seconds=2)
def submit(mission_id: int, step: str, key: str, answer: dict[str, Any], n: int) -> dict[str, str]:
    """Apply a form's answer once; returns the outcome and, when refused, the reason in French."""
    with unit_of_work() as session:
        verdict = handle(session, mission_id, step, key, answer, n=n)
        if not verdict.replayed:
            publish_dashboard(session, get_mission(session, mission_id))
    send_mails.fn(mission_id)  # also on replay: a crash may have come between the commit and the sending
    return {"outcome": verdict.outcome, "error": verdict.error}


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=not_refused)
def publish(mission_id: int, round_: int) -> dict[str, int]:
    """Diffuse the approved annonce (round 1: the mission becomes published; later rounds widen it)."""
    key = f"diffusion-{round_}"
    with unit_of_work() as session:
        if step_done(session, mission_id, key) is not None:
            return {"queued": 0}
        mission = get_mission(session, mission_id, lock=True)
        annonce = session.scalar(
            select(Announcement)
            .where(Announcement.mission_id == mission_id, Announcement.status == AnnouncementStatus.APPROVED)
            .order_by(Announcement.round.desc())
        )
        if annonce is None:
            raise StepRefused(f"La mission {mission.reference} n'a pas d'annonce approuvée.")
        counts = diffuse(session, mission, round_=round_, text=annonce.text)
        if mission.status is MissionStatus.APPROVED:
            advance(
                session,
                mission,
                MissionStatus.PUBLISHED,
                actor="diffusion",
                step_key=key,
                action="diffusion",
                details=counts,
            )
        else:
            audit(session, mission, actor="diffusion", action="diffusion", step_key=key, details=counts)
        publish_dashboard(session, mission)
    send_mails.fn(mission_id)
    return counts


@task(persist_result=False)
def closing_state(mission_id: int) -> dict[str, str]:
    """How the mission ended: its status and, when cancelled, the reason."""
    with unit_of_work() as session:
        mission = get_mission(session, mission_id)
        publish_dashboard(session, mission)
        return {"status": mission.status.value, "reason": mission.cancel_reason, "reference": mission.reference}


LIFECYCLE_DEPLOYMENT = "mission-lifecycle/mission-lifecycle"


def start_run(mission_id: int) -> str:
    """Start (once: the mission id is the idempotency key) the mission's lifecycle run; returns its id."""
    from prefect.deployments import run_deployment

    with unit_of_work() as session:
        mission = get_mission(session, mission_id)
        ref, branch = mission.reference, mission.branch.code
        coordinator = mission.coordinator.email.split("@")[0].lower()
    run = run_deployment(
        LIFECYCLE_DEPLOYMENT,
        parameters={"mission_id": mission_id},
        idempotency_key=f"{get_settings().instance}:mission-{mission_id}",
        flow_run_name=f"mission-{ref}",
        tags=[f"antenne:{branch}", f"passerelle:{coordinator}"],
        timeout=0,
        as_subflow=False,
    )
    return str(run.id)


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=not_refused)
def open_and_start(association: str, passerelle: str, title: str, request: str) -> dict[str, str]:
    """Open a mission for an association, run by a Passerelle, and start its lifecycle run."""
    from tasks.missions import find_association, find_coordinator, open_mission

    with unit_of_work() as session:
        mission = open_mission(
            session,
            association=find_association(session, association),
            coordinator=find_coordinator(session, passerelle),
            title=title,
            request=request,
        )
        mission_id, ref = mission.id, mission.reference
    return {"mission_id": str(mission_id), "reference": ref, "flow_run_id": start_run(mission_id)}
