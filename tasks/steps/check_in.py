"""Step 7, monitoring: the Passerelle's periodic check-ins (`check-in-<n>`), until the mission is finished."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from prefect.input import RunInput
from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import CheckIn, CheckInStatus, Mission, MissionStatus, Roadmap, RoadmapObjective, Volunteer
from models.base import utcnow
from models.rules import MissionSnapshot
from models.waves import PARIS
from tasks import calendar, notices, parties
from tasks.steps import withdrawal
from tasks.steps.base import CANCEL, Ctx, Outcome, Prefill, Step, entered_by_field, reason_field, refuse_if


class Health(StrEnum):
    """How the mission goes."""

    ON_TRACK = "dans les temps"
    AT_RISK = "à risque"
    BLOCKED = "bloquée"


HEALTH_STATUS = {
    Health.ON_TRACK: CheckInStatus.ON_TRACK,
    Health.AT_RISK: CheckInStatus.AT_RISK,
    Health.BLOCKED: CheckInStatus.BLOCKED,
}


class Decision(StrEnum):
    """Go on, move to the bilan, record that a retained volunteer withdrew, or cancel."""

    CONTINUE = "poursuivre la mission"
    FINISHED = "mission terminée : passer au bilan"
    WITHDRAW = withdrawal.DECISION
    CANCEL = CANCEL


class CheckInForm(RunInput):
    """One check-in during the mission, or the news that it is finished."""

    held_on: date = Field(title="Date du point", description="Quand vous avez fait le point.")
    status: Health = Field(
        default=Health.ON_TRACK, title="État de la mission", description="Comment la mission avance."
    )
    notes: str = Field(default="", title="Notes", description="Ce qui a été dit ; les difficultés.")
    decision: Decision = Field(
        default=Decision.CONTINUE,
        title="Suite",
        description="Poursuivre, passer au bilan, enregistrer le désistement d'un bénévole retenu, ou annuler.",
    )
    withdrawn: list[str] = withdrawal.withdrawn_field()
    cancel_reason: str = reason_field()
    entered_by: str = entered_by_field()


def check(a: CheckInForm, *, today: date, selected: Collection[int] = ()) -> list[str]:
    """Reasons to refuse a check-in (pure): a date in the future (one day of margin for time zones), a volunteer
    named as withdrawing without the decision."""
    errors = withdrawal.check(withdrawing=a.decision is Decision.WITHDRAW, named=a.withdrawn, selected=selected)
    if a.held_on > today + timedelta(days=1):
        errors.append(f"La date du point ({a.held_on:%d/%m/%Y}) est dans le futur.")
    return errors


def roadmap_summary(session: Session, mission: Mission) -> str:
    """The roadmap's objectives and rhythm, and how many check-ins were made (markdown)."""
    roadmap = session.scalar(select(Roadmap).where(Roadmap.mission_id == mission.id))
    if roadmap is None:
        return ""
    objectives = session.scalars(
        select(RoadmapObjective).where(RoadmapObjective.roadmap_id == roadmap.id).order_by(RoadmapObjective.position)
    )
    rows = "\n".join(f"| {o.objective} | {o.deliverable} | {o.due_on:%d/%m/%Y} |" for o in objectives if o.due_on)
    count = session.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.mission_id == mission.id))
    return (
        f"\n### Feuille de route (du {roadmap.start_on:%d/%m/%Y} au {roadmap.end_on:%d/%m/%Y}, point tous les "
        f"{roadmap.checkin_every_days} jours ; {count} point(s) déjà fait(s))\n\n| Objectif | Livrable | Échéance |\n"
        f"|---|---|---|\n{rows}\n"
    )


class News(StrEnum):
    """What the association or a retained volunteer answers, by their link, when a check-in is due."""

    GOING = "ça avance"
    DIFFICULTY = "une difficulté"
    BLOCKED = "c'est bloqué"


NEWS_HEALTH = {News.GOING: Health.ON_TRACK, News.DIFFICULTY: Health.AT_RISK, News.BLOCKED: Health.BLOCKED}


def news_values(got: dict[str, parties.Answer], names: dict[str, str]) -> dict[str, Any]:
    """The check-in's fields the parties' news fill (pure): the worst state any of them gave, and what they said
    as notes (`names`: party → how the notes name it)."""
    said = [(p, a) for p, a in got.items() if a.answer in {n.value for n in News}]
    if not said:
        return {}
    order = list(News)
    worst = max((News(a.answer) for _, a in said), key=order.index)
    notes = "\n".join(f"{names.get(p, p)} : {a.answer}" + (f" — {a.comment}" if a.comment else "") for p, a in said)
    return {"status": NEWS_HEALTH[worst].value, "notes": notes}


def news(session: Session, mission: Mission, n: int) -> tuple[str, dict[str, Any]]:
    """The « Réponses des parties » section of check-in `n` and the values the news fill."""
    retained = withdrawal.retained(session, mission)
    got = parties.answers(session, mission.id, STEP.step_key(n))
    names = {parties.ASSOCIATION: mission.association.name, **{parties.party_of(v): lb for v, lb in retained.items()}}
    lines = [
        f"- {names[p]} : "
        + (
            f"{got[p].answer}" + (f" — « {parties.as_text(got[p].comment)} »" if got[p].comment else "")
            if p in got
            else "pas de nouvelles par son lien"
        )
        for p in names
    ]
    return parties.section("\n".join(lines)), news_values(got, names)


def prefill(session: Session, mission: Mission, n: int) -> Prefill:
    """Today's date and the roadmap; the parties' news, when they gave some by their links. Once the roadmap's
    end date has come, the form as shown passes to the bilan (before, it went on from check-in to check-in)."""
    section, values = news(session, mission, n)
    today = utcnow().date()
    defaults: dict[str, Any] = {"held_on": today}
    ended = session.scalar(select(Roadmap.end_on).where(Roadmap.mission_id == mission.id))
    if ended is not None and ended <= today:
        defaults["decision"] = Decision.FINISHED.value
        section += (
            f"\n**Fin de la feuille de route** : le {ended:%d/%m/%Y}. Tel quel, ce point passe au bilan ; "
            f"choisissez « {Decision.CONTINUE.value} » si la mission continue.\n"
        )
    return Prefill(
        defaults=defaults,
        choices=withdrawal.choices(session, mission),
        section=roadmap_summary(session, mission) + section,
        answered=values,
    )


def apply(session: Session, mission: Mission, a: CheckInForm, ctx: Ctx) -> Outcome:
    """Store check-in `ctx.n`; « mission terminée » leads to the bilan; a withdrawal reopens the search."""
    refuse_if(check(a, today=utcnow().date(), selected=withdrawal.retained(session, mission)))
    session.add(
        CheckIn(
            mission_id=mission.id,
            number=ctx.n,
            held_on=a.held_on,
            status=HEALTH_STATUS[a.status],
            notes=a.notes.strip(),
        )
    )
    status = HEALTH_STATUS[a.status]
    if status.alarming:  # the branch lead is told, with the notes
        notices.at_risk(session, mission, number=ctx.n, status=status, notes=a.notes.strip())
    if a.decision is Decision.WITHDRAW:
        return withdrawal.reopen(session, mission, a.withdrawn, a.notes, ctx, action=STEP.key)
    return Outcome.FINISHED if a.decision is Decision.FINISHED else Outcome.CONTINUE


def next_round(session: Session, mission_id: int) -> int:
    """The check-in a run started mid-way asks first."""
    done = session.scalar(select(func.max(CheckIn.number)).where(CheckIn.mission_id == mission_id))
    return (done or 0) + 1


def since_last_contact(snapshot: MissionSnapshot) -> date | None:
    """The next check-in is due from the last one (or the start of the mission)."""
    return max(filter(None, [snapshot.last_check_in, snapshot.status_since]))


def roadmap_rhythm(snapshot: MissionSnapshot, configured: int) -> int:
    """The roadmap's own rhythm, when there is one."""
    return snapshot.checkin_every_days or configured


def plan_check_in(session: Session, mission: Mission, n: int, previous: dict[str, Any] | None) -> None:
    """Check-in `n` is due one rhythm after the previous one (or the start of the mission): the association and the
    retained volunteers get that day as a calendar invitation, when it is still ahead."""
    rhythm = session.scalar(select(Roadmap.checkin_every_days).where(Roadmap.mission_id == mission.id)) or 30
    last = session.scalar(select(func.max(CheckIn.held_on)).where(CheckIn.mission_id == mission.id, CheckIn.number < n))
    base = last or (mission.started_at.astimezone(PARIS).date() if mission.started_at else None)
    if base is None or base + timedelta(days=rhythm) < calendar.today_in_paris():
        return
    retained = [session.get(Volunteer, vid) for vid in withdrawal.retained(session, mission)]
    key = STEP.step_key(n)
    calendar.schedule(session, mission, key=key, what=calendar.describe(key), on=base + timedelta(days=rhythm),
                      at=None, parties=[None, *(v for v in retained if v is not None)])  # fmt: skip


STEP = Step(
    key="check-in",
    label="Suivi",
    instructions="Faites le point avec le bénévole et l'association, ou indiquez que la mission est terminée.",
    next_action="faire le point de suivi",
    service_level=30,  # replaced by the roadmap's own rhythm when there is one
    status=MissionStatus.IN_PROGRESS,
    form=CheckInForm,
    round_key="check-in",
    repeat_on=frozenset({Outcome.CONTINUE}),
    back={Outcome.WITHDRAWN: "selection"},
    tell_each_round=True,
    prefill=prefill,
    apply=apply,
    plan=plan_check_in,
    next_round=next_round,
    since=since_last_contact,
    level=roadmap_rhythm,
)
