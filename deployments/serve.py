"""Serving: one long-lived `serve()` process executes every deployment of passerelles.

Why serve and not a work pool: suspended runs need something to pick them up when they are resumed, and a served
process does, with no work pool to create. A production setup with several machines runs the same deployments
with `prefect worker start` on a process pool; nothing in the flows depends on the choice.
"""

from __future__ import annotations

import argparse
import logging
from datetime import timedelta
from uuid import UUID

from prefect import get_client, serve
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.schedules import Cron
from prefect.states import Scheduled
from prefect.utilities.asyncutils import run_coro_as_sync
from sqlalchemy import select

from deployments.runs import LIFECYCLE
from models import Mission
from models.db import unit_of_work

log = logging.getLogger("passerelles.serve")



def deployments() -> list:  # type: ignore[type-arg]
    """Every deployment this process serves."""
    from flows.mission_lifecycle import mission_lifecycle
    from flows.monitoring import branch_dashboard, mission_reminders
    from flows.regional_report import regional_report
    from flows.request_mission import request_mission

    return [
        mission_lifecycle.to_deployment(
            name=LIFECYCLE, description="Une mission, de l'analyse du besoin au bilan. Démarrée par request-mission."
        ),
        request_mission.to_deployment(
            name="request-mission", description="Ouvre une mission pour une association et démarre son suivi."
        ),
        regional_report.to_deployment(
            name="regional-report", description="Rapport régional ou national sur une période, pour les admins."
        ),
        branch_dashboard.to_deployment(name="branch-dashboard", interval=timedelta(hours=1)),
        mission_reminders.to_deployment(name="mission-reminders", schedule=Cron("0 8 * * *", timezone="Europe/Paris")),
    ]


def recover_runs() -> list[str]:
    """Reschedule the mission runs a stopped serving process left behind; returns their ids.

    A process killed mid-run leaves its run `Running` forever, and a process stopping while a run replays marks
    it `Cancelled` ("Runner is shutting down"). When the mission is still open in the database, the run is set
    back to `Scheduled`: it replays from the top, the answered suspends return their input, the idempotent tasks
    write and send nothing twice. Only for a single serving process: with several, a `Running` run may be alive.
    """

    async def go() -> list[str]:
        async with get_client() as client:
            runs = await client.read_flow_runs(
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[LIFECYCLE])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(
                            any_=[
                                StateType.RUNNING,
                                StateType.PENDING,
                                StateType.CANCELLING,
                                StateType.CANCELLED,
                                StateType.CRASHED,
                            ]
                        )
                    )
                ),
            )
            recovered = []
            for run in runs:
                message = (run.state.message or "") if run.state else ""
                if run.state and run.state.type == StateType.CANCELLED and "shutting down" not in message:
                    continue  # cancelled on purpose by someone
                if not _mission_open(run.id):
                    continue
                await client.set_flow_run_state(run.id, Scheduled(), force=True)
                recovered.append(str(run.id))
            return recovered

    return run_coro_as_sync(go()) or []


def _mission_open(flow_run_id: UUID) -> bool:
    with unit_of_work() as session:
        mission = session.scalar(select(Mission).where(Mission.flow_run_id == str(flow_run_id)))
        return mission is not None and mission.status.is_open


def main(argv: list[str]) -> int:
    """`passerelles serve [--recover]`: serve every deployment until interrupted."""
    parser = argparse.ArgumentParser(prog="passerelles serve", description="Sert les flows de passerelles.")
    parser.add_argument("--recover", action="store_true", help="relance les runs laissés par un arrêt brutal")
    parser.add_argument("--limit", type=int, default=4, help="runs exécutés en même temps (défaut : 4)")
    args = parser.parse_args(argv)
    if args.recover:
        for run_id in recover_runs():
            print(f"Run de mission relancé après un arrêt : {run_id}")
    serve(*deployments(), limit=args.limit, print_starting_message=False)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
