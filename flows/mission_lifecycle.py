"""`mission-lifecycle`: one long-lived run per mission. Each human step suspends the run until the Passerelle
submits its form in the Prefect UI; automatic steps run as tasks.

The steps and their order come from the registry (tasks/steps). On every resume Prefect re-executes this
function from the top: the suspends already answered return their stored input at once, their verdicts and the
automatic rounds already done are read from the database in one task (not one task each), and the tasks are
idempotent by database keys, so the run reaches the same keys in the same order and nothing is written or sent
twice. Only sequencing lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count
from uuid import UUID

from prefect import flow, get_client, suspend_flow_run
from prefect.client.schemas.objects import FlowRunInput
from prefect.runtime import flow_run
from prefect.states import State
from prefect.utilities.asyncutils import run_coro_as_sync

from models.rules import MissionStatus
from tasks.lifecycle import attach_run, closing_state, prepare_form, recorded_verdicts, run_step, submit
from tasks.runs import LIFECYCLE, end_state
from tasks.steps import REGISTRY, Outcome, Step, build_form


@dataclass(frozen=True)
class Suspends:
    """The suspend keys this run has used, the answers they got (key → the stored form input), and the verdicts the
    database holds (step key → outcome and reason: answers handled, automatic rounds done)."""

    used: frozenset[str]
    answers: dict[str, FlowRunInput]
    recorded: dict[str, dict[str, str]]

    @property
    def answered(self) -> frozenset[str]:
        """The keys whose form got an answer."""
        return frozenset(self.answers)


def _suspends(mission_id: int) -> Suspends:
    """Read them once per execution: answered forms need no description on replay, a key used but never
    answered (the run was interrupted as it suspended, then rescheduled) must not be reused, and what the database
    recorded is replayed from one read."""

    async def read() -> tuple[frozenset[str], dict[str, FlowRunInput]]:
        async with get_client() as client:
            run_id = UUID(str(flow_run.get_id()))  # set: this runs inside the mission's flow run
            run = await client.read_flow_run(run_id)
            inputs = await client.filter_flow_run_input(
                run_id, key_prefix="suspended-", limit=10_000, exclude_keys=set()
            )
            answers = {i.key[len("suspended-") : -len("-response")]: i for i in inputs if i.key.endswith("-response")}
            return frozenset(run.empirical_policy.pause_keys or ()), answers

    done = run_coro_as_sync(read())
    assert done is not None
    used, answers = done
    return Suspends(used, answers, recorded_verdicts(mission_id))


class MissionCancelled(Exception):
    """Raised inside the flow to stop at the step where the mission was cancelled."""


def ask(mission_id: int, step: Step, n: int, returns: int, suspends: Suspends) -> Outcome:
    """Suspend on round `n` of the step's form until an answer passes the business checks; return its outcome.

    A refused answer is asked again under a new key (`<key>-essai-2`...) with the reason on top and the refused
    values prefilled, so nothing typed is lost; so is an answer that waits for someone outside (the association's
    validation), with a note instead of a reason.
    """
    assert step.form is not None
    key = step.step_key(n, returns)
    error, previous, awaiting = "", None, False
    for attempt in count(1):
        k = key if attempt == 1 else f"{key}-essai-{attempt}"
        while k in suspends.used and k not in suspends.answered:
            k += "-reprise"  # that suspend was cut short before anyone could answer: ask again, anew
        spec = (
            {}
            if k in suspends.answered
            else prepare_form(mission_id, step.key, k, n, error, previous, returns, awaiting)
        )
        if k in suspends.answers:
            # Answered in an earlier execution: its stored input, read with the others at the start. Asking Prefect
            # to suspend again would cost two API calls per earlier step on every resume (a state proposal the
            # server ignores, then a read of the same input): the twelfth step replayed eleven of them.
            answer = step.form.load_from_flow_run_input(suspends.answers[k])
        else:
            answer = suspend_flow_run(wait_for_input=build_form(step.form, **spec), key=k, timeout=None)
        data = answer.model_dump(mode="json")
        verdict = suspends.recorded.get(k) or submit(mission_id, step.key, k, data, n)
        outcome = Outcome(verdict["outcome"])
        if outcome is Outcome.CANCELLED:
            raise MissionCancelled
        if outcome not in (Outcome.RETRY, Outcome.AWAIT):
            return outcome
        error, previous, awaiting = verdict["error"], data, outcome is Outcome.AWAIT
    raise AssertionError("unreachable")


@flow(name=LIFECYCLE, persist_result=False)
def mission_lifecycle(mission_id: int) -> State:
    """Run a mission from the needs analysis to the bilan (or to its cancellation).

    The registry's steps are taken in order; an outcome in a step's `back` (a retained volunteer withdrew) goes
    back to an earlier step, whose forms are then asked under keys of their own (`returns` counts those returns).
    """
    start = attach_run(mission_id, str(flow_run.get_id()))
    status = MissionStatus(start["status"])
    suspends = _suspends(mission_id)
    steps = REGISTRY.steps
    rounds: dict[str, int] = dict(start["rounds"])  # the next round of each step taken in rounds
    returns: int = start.get("returns", 0)
    first_pass = True  # a run started mid-way skips, on its first pass, the steps the database says are done
    try:
        if not status.is_open:
            raise MissionCancelled
        i = 0
        while i < len(steps):
            step, i = steps[i], i + 1
            if first_pass and REGISTRY.passed(status, step):
                if step.form is None:  # its first round is behind: a later one (widening) is round 2 at least
                    rounds[step.key] = max(rounds.get(step.key, 1), 2)
                continue
            if step.form is None:
                run_automatic(mission_id, step, rounds, suspends)
                continue
            while True:
                n = rounds.get(step.key, 1)
                if step.round_key:
                    rounds[step.key] = n + 1
                outcome = ask(mission_id, step, n, returns, suspends)
                if outcome in step.then:
                    run_automatic(mission_id, REGISTRY[step.then[outcome]], rounds, suspends)
                if outcome in step.back:
                    returns, first_pass, i = returns + 1, False, REGISTRY.index(step.back[outcome])
                    break
                if outcome not in step.repeat_on:
                    break
    except MissionCancelled:
        pass
    return end_state(**closing_state(mission_id))


def run_automatic(mission_id: int, step: Step, rounds: dict[str, int], suspends: Suspends) -> None:
    """Run the next round of an automatic step (the diffusion: round 1 publishes, later ones send the next wave),
    unless the database says it is done."""
    n = rounds.get(step.key, 1)
    rounds[step.key] = n + 1
    if step.step_key(n) not in suspends.recorded:
        run_step(mission_id, step.key, n)
