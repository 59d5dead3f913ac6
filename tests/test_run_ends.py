"""Issue 19, the rule: the automations that mark silent runs Crashed expect every state a run can end or stop
in, whatever its name (a state's event is named after its name: `prefect.flow-run.Terminée`), and never force."""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID, uuid4

import pytest
from prefect.client.schemas.objects import State
from prefect.states import (
    AwaitingRetry,
    Cancelled,
    Completed,
    Crashed,
    Failed,
    Late,
    Paused,
    Pending,
    Running,
    Scheduled,
    Suspended,
)

from deployments.register import automations
from models.rules import MissionStatus
from tasks.runs import end_state

STOPPED = [
    end_state(MissionStatus.COMPLETED.value, "STR-2026-001", ""),
    end_state(MissionStatus.CANCELLED.value, "STR-2026-001", "L'association a renoncé."),
    Completed(message="Antenne COL « Colmar » créée."),  # an admin flow
    Failed(message="Refusé : …"),
    Cancelled(),
    Crashed(),
    Paused(),
    Suspended(),
    Scheduled(),
    Scheduled(name="Resuming"),
    AwaitingRetry(),
    Late(),
]


def watchers():
    ids: defaultdict[str, UUID] = defaultdict(uuid4)
    return {a.name: a for a in automations(ids)}


def server_trigger(name: str):
    """The trigger as the Prefect server evaluates it (the client's model has no matching of its own)."""
    from prefect.server.events.schemas.automations import EventTrigger

    return EventTrigger.model_validate(watchers()[name].trigger.model_dump(mode="json"))


@pytest.mark.parametrize("state", STOPPED, ids=lambda s: s.name)
def test_silence_automations_expect_every_end(state) -> None:
    for name in ("passerelles : runs muets → Crashed", "passerelles : runs jamais démarrés → Crashed"):
        assert server_trigger(name).expects(f"prefect.flow-run.{state.name}"), (name, state.name)


def test_a_live_run_is_not_an_end() -> None:
    trigger = server_trigger("passerelles : runs muets → Crashed")
    live: tuple[State, ...] = (Running(), Pending())
    for state in live:
        assert not trigger.expects(f"prefect.flow-run.{state.name}")


def test_no_automation_forces_a_state() -> None:
    for automation in watchers().values():
        for action in automation.actions:
            assert getattr(action, "force", False) is False, automation.name


def test_mission_run_end_states() -> None:
    done = end_state(MissionStatus.COMPLETED.value, "MTZ-2026-006", "")
    gone = end_state(MissionStatus.CANCELLED.value, "MTZ-2026-006", "Besoin couvert autrement.")
    assert (done.type, done.name, done.message) == (done.type.COMPLETED, "Terminée", "Mission MTZ-2026-006 terminée.")
    assert (gone.name, gone.message) == ("Annulée", "Mission MTZ-2026-006 annulée : Besoin couvert autrement.")
