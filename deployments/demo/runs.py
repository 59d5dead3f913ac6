"""Runs for the demo's open missions, and the checks the stack makes around its workers."""

from __future__ import annotations

import time

from prefect import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.utilities.asyncutils import run_coro_as_sync
from sqlalchemy import select

from models import Mission, MissionStatus
from models.db import unit_of_work
from tasks.runs import LIFECYCLE, LIFECYCLE_DEPLOYMENT, start_run

OPEN = [s for s in MissionStatus if s.is_open]  # in lifecycle order


def wait_for_deployments(*, timeout: float) -> None:
    """Wait until the lifecycle deployment is registered."""

    async def registered() -> bool:
        async with get_client() as client:
            try:
                await client.read_deployment_by_name(LIFECYCLE_DEPLOYMENT)
                return True
            except Exception:
                return False

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run_coro_as_sync(registered()):
            return
        time.sleep(1)
    raise TimeoutError("les déploiements ne sont pas enregistrés")


def start_demo_runs(limit: int) -> int:
    """Start runs for open demo missions that have none, taking each open status in turn; returns how many."""
    with unit_of_work() as session:
        if session.scalar(select(Mission.id).where(Mission.flow_run_id.is_not(None)).limit(1)) is not None:
            return 0  # already done at an earlier start: the runs are on the Prefect server
        by_status = {
            status: list(
                session.scalars(
                    select(Mission.id)
                    .where(Mission.status == status, Mission.flow_run_id.is_(None))
                    .order_by(Mission.requested_at.desc())
                )
            )
            for status in OPEN
        }
    chosen: list[int] = []
    while len(chosen) < limit and any(by_status.values()):
        for status in OPEN:
            if by_status[status] and len(chosen) < limit:
                chosen.append(by_status[status].pop(0))
    for mission_id in chosen:
        start_run(mission_id)
    return len(chosen)


def wait_until_quiet(timeout: float) -> None:
    """Wait (up to `timeout` s) until no mission run is mid-step, so stopping the workers cuts none."""

    async def busy() -> int:
        async with get_client() as client:
            runs = await client.read_flow_runs(
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[LIFECYCLE])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING, StateType.PENDING]))
                ),
            )
            return len(runs)

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if run_coro_as_sync(busy()) == 0:
                return
        except Exception:
            return
        time.sleep(0.5)
