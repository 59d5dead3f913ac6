"""`mission-lifecycle`: one long-lived run per mission. Each human step suspends the run until the Passerelle
submits its form in the Prefect UI; the tasks do the rest.

On every resume Prefect re-executes this function from the top: the suspends already answered return their
stored input at once and the tasks are idempotent by database keys, so the run reaches the same keys in the same
order and nothing is written or sent twice. Only sequencing lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count

from prefect import flow, get_client, suspend_flow_run
from prefect.runtime import flow_run
from prefect.states import Completed, State
from prefect.utilities.asyncutils import run_coro_as_sync

from flows.forms import build_form
from models.rules import MissionStatus as S
from models.rules import has_reached
from tasks.lifecycle import attach_run, closing_state, prepare_form, publish, submit


@dataclass(frozen=True)
class Suspends:
    """The suspend keys this run has used, and those that got an answer."""

    used: frozenset[str]
    answered: frozenset[str]


def _suspends() -> Suspends:
    """Read them once per execution: answered forms need no description on replay, and a key used but never
    answered (the run was interrupted as it suspended, then rescheduled) must not be reused."""

    async def read() -> Suspends:
        async with get_client() as client:
            run_id = flow_run.get_id()
            run = await client.read_flow_run(run_id)
            inputs = await client.filter_flow_run_input(
                run_id, key_prefix="suspended-", limit=10_000, exclude_keys=set()
            )
            answered = {i.key[len("suspended-") : -len("-response")] for i in inputs if i.key.endswith("-response")}
            return Suspends(frozenset(run.empirical_policy.pause_keys or ()), frozenset(answered))

    return run_coro_as_sync(read())


class MissionCancelled(Exception):
    """Raised inside the flow to stop at the step where the mission was cancelled."""


def ask(mission_id: int, step: str, key: str, suspends: Suspends, *, n: int = 1) -> str:
    """Suspend on the step's form until an answer passes the business checks; return its outcome.

    A refused answer is asked again under a new key (`<key>-essai-2`...) with the reason on top and the refused
    values prefilled, so nothing typed is lost.
    """
    error, previous = "", None
    for attempt in count(1):
        k = key if attempt == 1 else f"{key}-essai-{attempt}"
        while k in suspends.used and k not in suspends.answered:
            k += "-reprise"  # that suspend was cut short before anyone could answer: ask again, anew
        spec = {} if k in suspends.answered else prepare_form(mission_id, step, k, n, error, previous)
        answer = suspend_flow_run(wait_for_input=build_form(step, **spec), key=k, timeout=None)
        data = answer.model_dump(mode="json")
        verdict = submit(mission_id, step, k, data, n)
        if verdict["outcome"] == "cancelled":
            raise MissionCancelled
        if not verdict["error"]:
            return verdict["outcome"]
        error, previous = verdict["error"], data
    raise AssertionError("unreachable")


@flow(name="mission-lifecycle", persist_result=False)
def mission_lifecycle(mission_id: int) -> State:
    """Run a mission from the needs analysis to the bilan (or to its cancellation)."""
    start = attach_run(mission_id, str(flow_run.get_id()))
    status = S(start["status"])
    suspends = _suspends()

    def todo(target: S) -> bool:
        return not has_reached(status, target)

    try:
        if not status.is_open:
            raise MissionCancelled
        if todo(S.ANALYSED):
            ask(mission_id, "needs-analysis", "needs-analysis", suspends)
        if todo(S.APPROVED):
            for n in count(start["annonce_round"]):
                if ask(mission_id, "annonce", f"annonce-review-{n}", suspends, n=n) == "approved":
                    break
        if todo(S.PUBLISHED):
            publish(mission_id, 1)
        if todo(S.SELECTED):
            diffusion_round = 1
            for n in count(1):
                outcome = ask(mission_id, "applications", f"applications-{n}", suspends, n=n)
                if outcome == "select":
                    break
                if outcome == "widen":
                    diffusion_round += 1
                    publish(mission_id, diffusion_round)
            ask(mission_id, "selection", "selection", suspends)
        if todo(S.IN_PROGRESS):
            ask(mission_id, "roadmap", "roadmap", suspends)
        for n in count(start["check_in"]):
            if ask(mission_id, "check-in", f"check-in-{n}", suspends, n=n) == "finished":
                break
        ask(mission_id, "review", "review", suspends)
    except MissionCancelled:
        pass
    end = closing_state(mission_id)
    if end["status"] == S.COMPLETED.value:
        return Completed(name="Terminée", message=f"Mission {end['reference']} terminée.")
    return Completed(name="Annulée", message=f"Mission {end['reference']} annulée : {end['reason']}")
