"""Answering a mission's suspended step from outside the Prefect UI (the portal's association pages), through the
Prefect API as the UI does: is the run waiting at that step, what does its form hold, resume it; and rewriting a
waiting form's description when the database changed under it (an application by link)."""

from __future__ import annotations

import json
import logging
from typing import Any
from uuid import UUID

from sqlalchemy import select

from models import AuditEvent
from models.db import unit_of_work
from tasks import portal
from tasks.steps import APPLICATIONS
from tasks.steps.answers import describe
from tasks.steps.base import asked_key

logger = logging.getLogger("passerelles.portal")


def answered(session: Any, mission_id: int, step_key: str, key: str) -> AuditEvent | None:
    """The accepted answer to the step `key` asked (any attempt), if any."""
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.mission_id == mission_id, AuditEvent.action == step_key)
    )
    return next((e for e in events if asked_key(e.step_key) == asked_key(key)), None)


def pause_key(flow_run_id: str) -> str:
    """The key of the form the run waits at ("" when it waits at none)."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(flow_run_id)).state
    return (state.state_details.pause_key or "") if state is not None and state.is_paused() else ""


def waiting_form(flow_run_id: str, key: str, *, exact: bool = False) -> dict[str, Any] | None:
    """The JSON schema of the form the run waits at, if it waits at `key` (or at any attempt of it)."""
    from prefect import get_client
    from prefect.input.run_input import keyset_from_paused_state

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(flow_run_id))
        state = run.state
        pause_key = (state.state_details.pause_key or "") if state is not None and state.is_paused() else ""
        if state is None or not pause_key or (pause_key != key if exact else asked_key(pause_key) != asked_key(key)):
            return None
        schema = client.read_flow_run_input(UUID(flow_run_id), keyset_from_paused_state(state)["schema"])
    return dict(json.loads(schema))


def resume(flow_run_id: str, run_input: dict[str, Any]) -> bool:
    """Resume the run with `run_input`, as the UI does; False when another answer came first (ABORT/REJECT)."""
    from prefect import get_client
    from prefect.client.schemas.responses import SetStateStatus

    with get_client(sync_client=True) as client:
        result = client.resume_flow_run(UUID(flow_run_id), run_input=run_input)
    return result.status == SetStateStatus.ACCEPT


def refresh_applications_form(mission_id: int) -> None:
    """An application by link shows at once in the applications form waiting for the Passerelle: its description
    (the ranked applicants) is written again. Never fails the application, which is recorded already."""
    from prefect import get_client
    from prefect.input.run_input import keyset_from_paused_state

    try:
        with unit_of_work() as session:
            run_id = portal.mission(session, mission_id).flow_run_id
        if not run_id:
            return
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(UUID(run_id)).state
            key = asked_key(state.state_details.pause_key or "") if state and state.is_paused() else ""
            if state is None or not key.startswith(f"{APPLICATIONS.round_key}-"):
                return
            with unit_of_work() as session:
                m = portal.mission(session, mission_id)
                spec = describe(session, m, APPLICATIONS, n=int(key.rsplit("-", 1)[1]), error="", previous=None)
            description = keyset_from_paused_state(state)["description"]
            client.delete_flow_run_input(UUID(run_id), description)
            client.create_flow_run_input(UUID(run_id), description, json.dumps(spec["description"]))
    except Exception:  # the Prefect API is down: the next form of the step will show it
        logger.warning("formulaire de la mission %s non rafraîchi", mission_id, exc_info=True)
