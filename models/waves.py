"""Pure rule of the diffusion in waves: who an annonce reaches first, and when the next wave goes by itself.

1. **Priority** — the volunteers priority in the mission's domain (not picked last time, they still want a
   mission) get the annonce first, with a head start (`wave_head_start_hours`, 48 h by default);
2. **Branch** — then every volunteer of the branch;
3. **National** — a mission that can be done remotely, still without a *fitting* application (one whose volunteer
   meets every required level) `wave_national_after_days` after its publication, goes to the volunteers of the
   whole country who accept national annonces.

A wave that reaches nobody (no priority volunteer in the domain) is passed at once. The Passerelle can send the
next wave now, widen to the whole country, or stop the scheduled waves, from the applications form. Each wave is a
round of the mission run's diffusion step; the `diffusion-waves` deployment answers the applications form when a
wave is due (flows/waves.py). No Prefect, no database here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")  # what the teams read; stored times are UTC


class Wave(StrEnum):
    """How far the annonce has gone; the values are stored (mission.wave, diffusion.wave), keep them."""

    PRIORITY = "priority"
    BRANCH = "branch"
    NATIONAL = "national"

    @property
    def label(self) -> str:
        return WAVE_LABELS[self]


WAVE_LABELS = {
    Wave.PRIORITY: "bénévoles prioritaires du domaine",
    Wave.BRANCH: "bénévoles de l'antenne",
    Wave.NATIONAL: "bénévoles de toute la France",
}


@dataclass(frozen=True)
class WavePolicy:
    """The configured delays (models/settings.py)."""

    head_start: timedelta = timedelta(hours=48)
    national_after: timedelta = timedelta(days=7)


def plan(remote: bool) -> list[Wave]:
    """The waves of a mission: the whole country only when the work can be done remotely."""
    return [Wave.PRIORITY, Wave.BRANCH, *([Wave.NATIONAL] if remote else [])]


def next_wave(reached: Wave | None, remote: bool) -> Wave | None:
    """The wave after `reached` (None: the annonce has gone as far as it goes)."""
    waves = plan(remote or reached is Wave.NATIONAL)
    return waves[waves.index(reached) + 1] if reached in waves[:-1] else (waves[0] if reached is None else None)


@dataclass(frozen=True)
class WaveState:
    """What the rule needs to know of a published mission."""

    remote: bool
    reached: Wave | None  # the furthest wave sent
    reached_at: datetime | None  # when it was sent
    published_at: datetime | None
    stopped: bool = False  # the Passerelle stopped the scheduled waves
    fitting_applications: int = 0  # applications whose volunteer meets every required level
    selecting: bool = False  # the Passerelle moved on to the selection: no wave while she selects


def due_at(state: WaveState, policy: WavePolicy) -> datetime | None:
    """When the next wave goes by itself; None when none will (stopped, the selection under way, the last one sent,
    or — for the national wave — a fitting application came in)."""
    following = next_wave(state.reached, state.remote)
    if state.stopped or state.selecting or following is None or state.reached_at is None:
        return None
    if following is Wave.BRANCH:
        return state.reached_at + policy.head_start
    if following is Wave.NATIONAL and not state.fitting_applications and state.published_at is not None:
        return max(state.published_at + policy.national_after, state.reached_at)
    return None


def is_due(state: WaveState, policy: WavePolicy, now: datetime) -> bool:
    """Whether the next wave should go now."""
    when = due_at(state, policy)
    return when is not None and when <= now


def _when(at: datetime) -> str:
    return f"{at.astimezone(PARIS):%d/%m/%Y à %H h %M}"


def summary(state: WaveState, policy: WavePolicy) -> str:
    """Where the waves stand, in French, for the card, the dashboards and the applications form."""
    if state.reached is None:
        return "pas encore diffusée"
    waves = plan(state.remote or state.reached is Wave.NATIONAL)
    done = f"vague {waves.index(state.reached) + 1}/{len(waves)} : {state.reached.label}"
    if state.reached_at is not None:
        done += f" (le {_when(state.reached_at)})"
    following = next_wave(state.reached, state.remote)
    if following is None:
        return done
    if state.stopped:
        return f"{done} ; vagues suivantes arrêtées par la Passerelle"
    if state.selecting:
        return f"{done} ; vagues suivantes suspendues pendant la sélection"
    when = due_at(state, policy)
    if when is not None:
        return f"{done} ; prochaine vague ({following.label}) le {_when(when)}"
    return f"{done} ; pas de vague nationale tant qu'une candidature adaptée est en cours"
