"""`new-request`: an association's request, confirmed on the portal, waits for the branch's decision in a typed
form (tasks/public_requests.py); accepted, the mission opens and its `mission-lifecycle` run starts.

The portal starts one run per confirmed request (tasks/runs.start_request_run). On a resume Prefect runs this
again from the top: the answered suspends return their stored input, the tasks are idempotent by the request's
row, so nothing is mailed or opened twice. Only sequencing lives here.
"""

from __future__ import annotations

from itertools import count
from typing import Any

from prefect import flow, suspend_flow_run, task
from prefect.runtime import flow_run

from models.db import unit_of_work
from tasks import public_requests
from tasks.delivery import deliver_soon
from tasks.lifecycle import not_refused
from tasks.runs import NEW_REQUEST, start_run
from tasks.steps import build_form


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=not_refused, persist_result=False)
def prepare_request(request_id: int, flow_run_id: str, error: str) -> dict[str, Any]:
    """The decision form (the branch's leads told once), or the decision already made."""
    with unit_of_work() as session:
        done = public_requests.decided(public_requests.request_row(session, request_id))
        spec = {} if done else public_requests.prepare(session, request_id, flow_run_id, error)
    deliver_soon(None)
    return {"done": done, "form": spec}


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=not_refused, persist_result=False)
def decide_request(request_id: int, answer: dict[str, Any]) -> dict[str, str]:
    """Apply the decision once; `error` says why an answer was refused (the form is asked again)."""
    with unit_of_work() as session:
        verdict = public_requests.decide(session, request_id, answer)
    deliver_soon(None)
    return verdict


@flow(name=NEW_REQUEST, persist_result=False)
def new_request(request_id: int) -> dict[str, str]:
    """Ask the branch to accept or decline request `request_id`; accepted, start the mission's run."""
    error = ""
    for attempt in count(1):
        spec = prepare_request(request_id, str(flow_run.get_id()), error)
        verdict = spec["done"]
        if verdict is None:
            key = "decision" if attempt == 1 else f"decision-essai-{attempt}"
            form = build_form(public_requests.RequestDecision, **spec["form"])
            answer = suspend_flow_run(wait_for_input=form, key=key, timeout=None)
            verdict = decide_request(request_id, answer.model_dump(mode="json"))
        if verdict["outcome"] == "retry":
            error = verdict["error"]
            continue
        if verdict["mission_id"]:
            verdict = {**verdict, "flow_run_id": start_run(int(verdict["mission_id"]))}
        return verdict
    raise AssertionError("unreachable")
