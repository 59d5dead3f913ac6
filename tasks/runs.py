"""A mission's run on Prefect, the one room that talks to the Prefect API about it: its deployment's name, its
labels, starting and retagging it, the form it waits at, answering that form as the UI does (the portal's links,
the scheduled waves), rewriting a waiting form's description, the stored answers, and the state it ends in.

A mission run ends `Completed`, named after how the mission ended (« Terminée », « Annulée »): those names are
defined here only, and the automations that watch runs (deployments/register.py) expect them from here.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.runtime import flow_run as current
from prefect.states import Completed, State
from sqlalchemy import select

from models import AuditEvent
from models.db import unit_of_work
from models.permissions import SYSTEM_RUN, member_of_tags
from models.rules import MissionStatus
from models.settings import get_settings
from tasks.lookups import get_mission
from tasks.steps.base import asked_key

LIFECYCLE = "mission-lifecycle"  # the flow's name and its deployment's
LIFECYCLE_DEPLOYMENT = f"{LIFECYCLE}/{LIFECYCLE}"
NEW_REQUEST = "new-request"  # an association's confirmed request, waiting for the branch (flows/new_request.py)
NEW_REQUEST_DEPLOYMENT = f"{NEW_REQUEST}/{NEW_REQUEST}"
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
    """Give the runs of reassigned or moved missions the tags of their Passerelle and branch (the filters of the runs
    page, and who may see them); missions without a run yet need no Prefect server."""
    with unit_of_work() as session:
        runs = {i: run for i in mission_ids if (run := get_mission(session, i).flow_run_id) is not None}
    if not runs:
        return
    with get_client(sync_client=True) as client:
        for mission_id, run_id in runs.items():
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


def start_request_run(request_id: int, branch_code: str, reference: str) -> str:
    """Start (once: the request id is the idempotency key) the run where a confirmed request waits for the branch's
    decision; its id. Tagged with the branch, so its members see and answer it (models/permissions.py)."""
    from prefect.deployments import run_deployment

    run = run_deployment(
        NEW_REQUEST_DEPLOYMENT,
        parameters={"request_id": request_id},
        idempotency_key=f"{get_settings().instance}:request-{request_id}",
        flow_run_name=f"demande-{reference}",
        tags=[f"antenne:{branch_code}", "demande"],
        timeout=0,
        as_subflow=False,
    )
    return str(run.id)  # type: ignore[union-attr]


def answered(session: Any, mission_id: int, step_key: str, key: str) -> AuditEvent | None:
    """The accepted answer to the step `key` asked (any attempt), if any."""
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.mission_id == mission_id, AuditEvent.action == step_key)
    )
    return next((e for e in events if asked_key(e.step_key) == asked_key(key)), None)


def pause_key(flow_run_id: str) -> str:
    """The key of the form the run waits at ("" when it waits at none)."""
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(flow_run_id)).state
    return (state.state_details.pause_key or "") if state is not None and state.is_paused() else ""


def paused_runs(flow_run_ids: list[str]) -> dict[str, str]:
    """Of these runs, those suspended at a form: run id -> the form's key (one API call per 200 runs)."""
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    found: dict[str, str] = {}
    with get_client(sync_client=True) as client:
        for i in range(0, len(flow_run_ids), 200):
            ids = [UUID(x) for x in flow_run_ids[i : i + 200]]
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    id=FlowRunFilterId(any_=ids),
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])),
                ),
                limit=200,
            )
            found.update({str(r.id): r.state.state_details.pause_key or "" for r in runs if r.state is not None})
    return found


def waiting_form(flow_run_id: str, key: str, *, exact: bool = False) -> dict[str, Any] | None:
    """The JSON schema of the form the run waits at, if it waits at `key` (or at any attempt of it)."""
    from prefect.input.run_input import keyset_from_paused_state

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(flow_run_id))
        state = run.state
        waits_at = (state.state_details.pause_key or "") if state is not None and state.is_paused() else ""
        if state is None or not waits_at or (waits_at != key if exact else asked_key(waits_at) != asked_key(key)):
            return None
        schema = client.read_flow_run_input(UUID(flow_run_id), keyset_from_paused_state(state)["schema"])
    return dict(json.loads(schema))


def resume(flow_run_id: str, run_input: dict[str, Any]) -> bool:
    """Resume the run with `run_input`, as the UI does; False when another answer came first (ABORT/REJECT)."""
    from prefect.client.schemas.responses import SetStateStatus

    with get_client(sync_client=True) as client:
        result = client.resume_flow_run(UUID(flow_run_id), run_input=run_input)
    return result.status == SetStateStatus.ACCEPT


def rewrite_form(flow_run_id: str, prefix: str, describe: Any, defaults: dict[str, Any] | None = None) -> bool:
    """Write again the form the run waits at, if its key starts with `prefix`: its description (`describe(key,
    current)`) and, with `defaults`, the values it shows prefilled (what is accepted does not change: the schema's
    types and choices stay). False when the run waits at no such form."""
    from prefect.input.run_input import keyset_from_paused_state

    run_id = UUID(flow_run_id)
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id).state
        key = asked_key(state.state_details.pause_key or "") if state and state.is_paused() else ""
        if state is None or not key.startswith(prefix):
            return False
        keyset = keyset_from_paused_state(state)
        current = json.loads(client.read_flow_run_input(run_id, keyset["description"]) or '""')
        text = describe(key, str(current))
        client.delete_flow_run_input(run_id, keyset["description"])
        client.create_flow_run_input(run_id, keyset["description"], json.dumps(text))
        if defaults:
            schema = json.loads(client.read_flow_run_input(run_id, keyset["schema"]))
            for name, value in defaults.items():
                if name in schema.get("properties", {}):
                    schema["properties"][name]["default"] = value
            client.delete_flow_run_input(run_id, keyset["schema"])
            client.create_flow_run_input(run_id, keyset["schema"], json.dumps(schema))
    return True


def started_by() -> str:
    """Who started the current flow run: the member the sign-in gateway tagged it with (`C-12`), else the system."""
    return member_of_tags(list(current.tags or [])) or SYSTEM_RUN
