"""A mission's run on Prefect: its deployment's name, its labels, starting it, retagging it, and the state it ends
in.

A mission run ends `Completed`, named after how the mission ended (« Terminée », « Annulée »): those names are
defined here only, and the automations that watch runs (deployments/register.py) expect them from here.
"""

from __future__ import annotations

from prefect.states import Completed, State

from models.db import unit_of_work
from models.rules import MissionStatus
from models.settings import get_settings
from tasks.missions import get_mission

LIFECYCLE = "mission-lifecycle"  # the flow's name and its deployment's
LIFECYCLE_DEPLOYMENT = f"{LIFECYCLE}/{LIFECYCLE}"
FINISHED, CANCELLED = "Terminée", "Annulée"  # the names of a mission run's end states (type COMPLETED)
END_NAMES = frozenset({FINISHED, CANCELLED})


def end_state(status: str, reference: str, reason: str) -> State:
    """The state a mission run ends in, from its mission's status (the database is the record)."""
    if status == MissionStatus.COMPLETED.value:
        return Completed(name=FINISHED, message=f"Mission {reference} terminée.")
    return Completed(name=CANCELLED, message=f"Mission {reference} annulée : {reason}")


def run_labels(mission_id: int) -> tuple[str, list[str]]:
    """The run's name (`mission-STR-2026-014`) and tags (branch code, the Passerelle's e-mail name)."""
    with unit_of_work() as session:
        mission = get_mission(session, mission_id)
        coordinator = mission.coordinator.email.split("@")[0].lower()
        return f"mission-{mission.reference}", [f"antenne:{mission.branch.code}", f"passerelle:{coordinator}"]


def retag_runs(mission_ids: list[int]) -> None:
    """Give the runs of reassigned missions the tags of their new Passerelle (the filters of the runs page)."""
    from uuid import UUID

    from prefect import get_client

    with get_client(sync_client=True) as client:
        for mission_id in mission_ids:
            with unit_of_work() as session:
                run_id = get_mission(session, mission_id).flow_run_id
            if run_id is None:
                continue
            _, tags = run_labels(mission_id)
            keep = [t for t in client.read_flow_run(UUID(run_id)).tags if not t.startswith(("antenne:", "passerelle:"))]
            client.update_flow_run(UUID(run_id), tags=[*keep, *tags])


def start_run(mission_id: int) -> str:
    """Start (once: the mission id is the idempotency key) the mission's lifecycle run; returns its id."""
    from prefect.deployments import run_deployment

    name, tags = run_labels(mission_id)
    run = run_deployment(  # sync when called from sync code
        LIFECYCLE_DEPLOYMENT,
        parameters={"mission_id": mission_id},
        idempotency_key=f"{get_settings().instance}:mission-{mission_id}",
        flow_run_name=name,
        tags=tags,
        timeout=0,
        as_subflow=False,
    )
    return str(run.id)  # type: ignore[union-attr]


def open_and_start(association: str, passerelle: str, title: str, request: str) -> dict[str, str]:
    """Open a mission (StepRefused in French when the association or the Passerelle is unknown) and start its run."""
    from tasks.lifecycle import open_request

    opened = open_request.fn(association, passerelle, title, request)
    return {"mission_id": str(opened["mission_id"]), "reference": opened["reference"],
            "flow_run_id": start_run(opened["mission_id"])}  # fmt: skip
