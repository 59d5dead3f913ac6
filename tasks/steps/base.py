"""What every human or automatic step of a mission is made of, and the form machinery they share.

A step module (`needs_analysis.py`, `roadmap.py`...) defines one `Step`: its key, French label and instructions,
service level, next action, the status the mission is in while it waits, its form (a `RunInput`), how the form is
prefilled, the pure checks of an answer and the writes it makes. The registry (`tasks/steps/__init__.py`) lists
the steps in lifecycle order; the flow, the card, the dashboards and the reminders read only the registry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from copy import copy
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, cast, get_origin

import pydantic
from prefect.input import RunInput
from pydantic import Field, WithJsonSchema
from sqlalchemy.orm import Session

from models import Mission, MissionStatus
from models.refusals import StepRefused
from models.rules import MissionSnapshot, Waiting, steps_done, waiting_step

CANCEL = "annuler la mission"  # the decision every form offers; each form's Decision enum has it as CANCEL


class Outcome(StrEnum):
    """What an answer leads to; the values are stored in the audit, keep them."""

    CONTINUE = "continue"
    APPROVED = "approved"
    REVISE = "revise"
    SELECT = "select"
    WAIT = "wait"
    WIDEN = "widen"
    FINISHED = "finished"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    WITHDRAWN = "withdrawn"  # a retained volunteer withdrew: back to the selection (tasks/steps/withdrawal.py)
    REOPEN = "reopen"  # the selection asks for new applications: back to the applications
    AWAIT = "await"  # sent to someone outside for their answer: the form is asked again, values kept, with a note
    RETRY = "retry"  # refused: the form is asked again with the reason


BACK = (Outcome.WITHDRAWN, Outcome.REOPEN)  # the outcomes that send the flow back to an earlier step


@dataclass(frozen=True)
class Ctx:
    """Where an answer comes from: the step's round, its suspend key, who answered."""

    n: int
    key: str
    actor: str

    @property
    def asked(self) -> str:
        """The key of what was asked, whatever the attempt (see `asked_key`)."""
        return asked_key(self.key)


def asked_key(key: str) -> str:
    """The key of what a suspend asks, whatever the attempt: `selection-retour-1-essai-2` → `selection-retour-1`."""
    return re.sub(r"(-essai-\d+|-reprise)+$", "", key)


@dataclass(frozen=True)
class Prefill:
    """What a form shows beyond its fields' own defaults: values, database choices, a markdown section, and the
    values the parties outside gave by their links (tasks/parties.py), which win over what was typed before."""

    defaults: dict[str, Any] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)
    section: str = ""
    answered: dict[str, Any] = field(default_factory=dict)


class StepWaits(Exception):
    """An answer that is not the last word: it waits for someone else's (the association's validation, its half of
    the bilan). Nothing is written; the form is asked again with the values kept and this note on top."""


def refuse_if(errors: Sequence[str]) -> None:
    """Raise StepRefused with every reason at once, so the Passerelle corrects everything in one go."""
    if errors:
        raise StepRefused(" ".join(errors))


def _reached_since(snapshot: MissionSnapshot) -> date | None:
    return snapshot.status_since


def _configured_level(snapshot: MissionSnapshot, configured: int) -> int:
    return configured


@dataclass(frozen=True)
class Step:
    """One step of the lifecycle. Human steps have a form; automatic ones (`form is None`) a `run`."""

    key: str
    label: str
    instructions: str
    next_action: str
    service_level: int  # days before the Passerelle is reminded (the branch lead at twice it)
    status: MissionStatus  # the mission's status while the step waits
    form: type[RunInput] | None = None
    round_key: str = ""  # rounds are keyed `<round_key>-<n>` (annonce versions, check-ins, diffusions)
    repeat_on: frozenset[Outcome] = frozenset()  # outcomes that ask the step again, one round later
    then: dict[Outcome, str] = field(default_factory=dict)  # outcome -> automatic step to run before asking again
    back: dict[Outcome, str] = field(default_factory=dict)  # outcome -> earlier step the flow goes back to
    tell_each_round: bool = False  # each round is a new waiting period (check-ins, a month apart)
    # Who outside P&C may answer the form by a signed link (the association approves the annonce): told when the
    # step waits, with the form's prefilled values; its answer resumes the same suspended step.
    # Called with the suspend key, the form's prefilled values and the previous answer (None on a first attempt).
    ask_outside: Callable[[Session, Mission, str, dict[str, Any], dict[str, Any] | None], None] | None = None
    # The dates the step's wait announces to the parties as calendar invitations (tasks/calendar.py: the meeting of
    # the needs analysis, each check-in). Called when the form is asked, with the round and the previous answer when
    # the form waits (None otherwise); announcing the same date again sends nothing.
    plan: Callable[[Session, Mission, int, dict[str, Any] | None], None] | None = None
    answered_by: tuple[str, ...] = ()  # « Saisi par » beyond the team: a deployment that answers (the waves)
    # The decision the form shows when it is asked again while it waits (for the association, for the rest of the
    # analysis): submitted as shown, it goes on waiting — it never mails anyone again nor ends anything.
    waiting_decision: str = ""
    prefill: Callable[[Session, Mission, int], Prefill] | None = None
    apply: Callable[[Session, Mission, Any, Ctx], Outcome] | None = None
    run: Callable[[Session, Mission, int], dict[str, int]] | None = None  # automatic steps
    next_round: Callable[[Session, int], int] | None = None  # first round for a run started mid-way
    since: Callable[[MissionSnapshot], date | None] = _reached_since
    level: Callable[[MissionSnapshot, int], int] = _configured_level

    def step_key(self, n: int = 1, returns: int = 0) -> str:
        """The stable key of round `n`: the suspend key of a form, the audit key of an automatic step. A step asked
        again after the flow went back (`returns` times: a retained volunteer withdrew) has keys of its own:
        `selection-retour-1`; steps taken in rounds go on numbering theirs."""
        if self.round_key:
            return f"{self.round_key}-{n}"
        return f"{self.key}-retour-{returns}" if returns else self.key

    def waiting_period(self, n: int, returns: int = 0) -> str:
        """What one « À vous » mail is for: the step (each time the flow comes back to it), or its round when each
        round is a new wait. Refused attempts, interrupted suspends and the rounds the Passerelle asked for (wait
        for applications, revise) tell nobody."""
        if self.tell_each_round:
            return self.step_key(n)
        return f"{self.key}-retour-{returns}" if returns else self.key

    def waiting_since(self, snapshot: MissionSnapshot) -> date | None:
        """When the mission started waiting for this step (None: it does not wait for it)."""
        return self.since(snapshot)

    def level_days(self, snapshot: MissionSnapshot, configured: int) -> int:
        """The service level that applies to this mission (the check-in follows the roadmap's rhythm)."""
        return self.level(snapshot, configured)


class Registry:
    """The steps in lifecycle order: everything else reads them from here."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self._steps = list(steps)
        keys = [s.key for s in self._steps]
        for s in self._steps:
            for target in [*s.then.values(), *s.back.values()]:
                assert target in keys, f"step {s.key} leads to unknown step {target!r}"
            for target in s.back.values():
                assert keys.index(target) < keys.index(s.key), f"step {s.key} goes back to a later step"

    @property
    def steps(self) -> list[Step]:
        """Every step, in lifecycle order."""
        return list(self._steps)

    def __getitem__(self, key: str) -> Step:
        for step in self._steps:
            if step.key == key:
                return step
        raise KeyError(f"unknown step {key!r}")

    def __len__(self) -> int:
        return len(self._steps)

    def levels(self, overrides: dict[str, int] | None = None) -> dict[str, int]:
        """The service level of each step, in days, with the configured overrides (unknown steps refused)."""
        overrides = overrides or {}
        unknown = set(overrides) - {s.key for s in self._steps}
        if unknown:
            raise ValueError(f"PASSERELLES_SERVICE_LEVELS : étape(s) inconnue(s) {sorted(unknown)}")
        return {s.key: overrides.get(s.key, s.service_level) for s in self._steps}

    def waiting(self, snapshot: MissionSnapshot, levels: dict[str, int]) -> Waiting | None:
        """Where an open mission waits (models/rules.waiting_step over these steps)."""
        return waiting_step(snapshot, self._steps, levels)

    def progress(self, status: MissionStatus) -> int:
        """Steps behind a mission in `status`."""
        return steps_done(status, self._steps)

    def index(self, key: str) -> int:
        """Position of a step in the lifecycle."""
        return self._steps.index(self[key])

    def passed(self, status: MissionStatus, step: Step) -> bool:
        """Whether a mission in `status` is beyond `step` (a run starting mid-way skips it)."""
        order = [s.status for s in self._steps] + [MissionStatus.COMPLETED]
        if status is MissionStatus.CANCELLED:
            return False
        return order.index(status) > order.index(step.status)

    @contextmanager
    def extended(self, step: Step, *, after: str) -> Iterator[Step]:
        """The registry with one more step after `after`, for the block (tests of what adding a step takes)."""
        saved = list(self._steps)
        self._steps.insert(self._steps.index(self[after]) + 1, step)
        try:
            yield step
        finally:
            self._steps = saved


# --- Form helpers ---------------------------------------------------------------------------------


def one_of(options: list[str]) -> Any:
    """A string the UI shows as a select over `options`; the server refuses anything else."""
    return Annotated[str, WithJsonSchema({"type": "string", "enum": options or [""]})]


def reason_field() -> Any:
    """The cancellation reason every form carries."""
    return Field(
        default="",
        title="Motif d'annulation",
        description="Obligatoire si vous annulez la mission : il est communiqué à l'association et aux bénévoles.",
    )


def entered_by_field() -> Any:
    """Who answered: not a field of the form people see (`hide_actor` takes it out of the schema the UI shows),
    but stamped into the answer by who sends it: the sign-in gateway (the member signed in), the portal (the party
    answering by link), a machine (the waves' scheduler). Empty: nobody said (a script with the service
    credential), and the audit says so."""
    return Field(default="", title="Saisi par")


def hide_actor(schema: dict[str, Any]) -> None:
    """The form's schema without `entered_by` among the fields shown, yet accepted by the server's check."""
    if schema.get("properties", {}).pop("entered_by", None) is not None:
        schema["patternProperties"] = {"^entered_by$": {"type": "string"}}
        if "entered_by" in schema.get("required", []):
            schema["required"].remove("entered_by")


def entered_by(label: object) -> str:
    """The name of who answered, from the « Saisi par » label (empty when the answer does not say)."""
    return str(label).split(" <", 1)[0].strip() if isinstance(label, str) else ""


def build_form(
    base: type[RunInput],
    *,
    description: str = "",
    defaults: dict[str, Any] | None = None,
    choices: dict[str, list[str]] | None = None,
) -> type[RunInput]:
    """`base` prefilled with `defaults` and with database choices, keeping every field's limits.

    Choices that come from the database (domains, competences, applicants) go into the JSON schema the server
    checks, not into the Python type, so a stored answer always loads on replay. (`RunInput.with_initial_data`
    drops the title, description and bounds of each field it prefills.)
    """
    fields: dict[str, Any] = {}
    for name, info in base.model_fields.items():  # a list's default shows as such (`[]`): the form as shown is valid
        if info.default_factory is not None and name not in (defaults or {}):
            shown = copy(info)
            shown.default, shown.default_factory = info.default_factory(), None  # type: ignore[call-arg]
            fields[name] = (info.annotation, shown)
    for name in set(defaults or {}) | set(choices or {}):
        info = copy(fields[name][1] if name in fields else base.model_fields[name])
        annotation: Any = info.annotation
        if choices and name in choices:
            choice = one_of(choices[name])
            annotation = list[choice] if get_origin(annotation) is list else choice  # type: ignore[valid-type]
        if defaults and name in defaults:
            info.default = defaults[name]
            info.default_factory = None
        fields[name] = (annotation, info)
    prefilled = pydantic.create_model(base.__name__, __base__=base, **fields)
    config = pydantic.ConfigDict(json_schema_extra=cast(Any, hide_actor))
    model = cast(type[RunInput], type(base.__name__, (prefilled,), {"model_config": config}))
    model._description = description  # what Prefect shows above the form
    return model


def label_code(label: str) -> str:
    """The stable code at the head of a choice label (`site-web · Conception…` → `site-web`)."""
    return label.split(" · ", 1)[0].strip()
