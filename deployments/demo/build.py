"""The whole demo data set as one plan: people, missions in order of publication, then fees."""

from __future__ import annotations

import random
from datetime import date, timedelta

from deployments.demo import data
from deployments.demo.missions import plan_follow_up, plan_mission, plan_skeletons
from deployments.demo.people import plan_associations, plan_branches, plan_coordinators, plan_volunteers
from deployments.demo.plan import (
    DEMO_TODAY,
    KeyTemplate,
    MissionPlan,
    Plan,
    Ref,
    association_created,
    moment,
    seeded_rng,
)
from deployments.demo.search import FlagBook, plan_search
from models import FeeRecord, FeeStatus
from models.association import FeeKind
from models.reference_data import FEE_SCHEDULE
from models.rules import MissionStatus as S
from models.rules import fees_for_budget


def _fee_status(
    rng: random.Random, billed_on: date | None, today: date
) -> tuple[FeeStatus, date | None, date | None, str]:
    """(status, billed on, paid on, note) as the live path leaves them: a fee not billed yet is due; a billed one is
    paid (never before its bill), sometimes waived or still owed; recent bills are often still unpaid."""
    if billed_on is None or billed_on > today:
        return FeeStatus.DUE, None, None, ""
    if billed_on + timedelta(days=45) >= today:
        if rng.random() < 0.5:
            return FeeStatus.DUE, billed_on, None, ""
        return FeeStatus.PAID, billed_on, min(today, billed_on + timedelta(days=rng.randint(0, 25))), "virement"
    roll = rng.random()
    if roll < 0.04:
        return FeeStatus.WAIVED, billed_on, None, data.WAIVED_NOTE
    if roll < 0.08:
        return FeeStatus.DUE, billed_on, None, "Relance envoyée, règlement en attente."
    return FeeStatus.PAID, billed_on, min(today, billed_on + timedelta(days=rng.randint(0, 65))), "virement"


def _plan_fees(plan: Plan, missions: list[MissionPlan], today: date) -> None:
    rng = seeded_rng("fees")
    for spec in data.ASSOCIATIONS:
        fees = fees_for_budget(spec.budget, FEE_SCHEDULE)
        joined = association_created(spec).date()
        for year in range(joined.year, today.year + 1):
            due_on = max(date(year, 3, 31), joined + timedelta(days=30))
            status, billed_on, paid_on, note = _fee_status(rng, due_on, today)  # billed when it falls due
            plan.add(
                FeeRecord,
                key=KeyTemplate("membership:{association_id}:{year}"),
                association_id=Ref("association", spec.name),
                mission_id=None,
                kind=FeeKind.MEMBERSHIP,
                year=year,
                amount=fees.membership_fee,
                status=status,
                due_on=due_on,
                billed_on=billed_on,
                paid_on=paid_on,
                note=note,
            )
    for m in missions:
        if not m.reached(S.PUBLISHED):
            continue
        published = m.times[S.PUBLISHED].date()  # the search fee is due at the request, billed at the publication
        status, billed_on, paid_on, note = _fee_status(rng, published, today)
        if m.cancel and m.cancel[0] is S.PUBLISHED:
            status, paid_on, note = FeeStatus.WAIVED, None, "Mission annulée avant qu'un bénévole soit trouvé."
        plan.add(
            FeeRecord,
            key=KeyTemplate("search:{mission_id}"),
            association_id=Ref("association", m.spec.name),
            mission_id=m.mission,
            kind=FeeKind.SEARCH,
            year=published.year,
            amount=fees_for_budget(m.spec.budget, FEE_SCHEDULE).search_fee,
            status=status,
            due_on=m.times[S.REQUESTED].date(),
            billed_on=billed_on,
            paid_on=paid_on,
            note=note,
        )


def build_plan(today: date = DEMO_TODAY) -> Plan:
    """Every row of the demo data set as of `today`, with natural keys for foreign keys. Pure and deterministic."""
    now = moment(today, 18)
    plan = Plan()
    plan_branches(plan)
    owners = plan_coordinators(plan)
    people = plan_volunteers(plan, now)
    missions = plan_skeletons(today, owners)
    plan_associations(plan, missions)
    for m in missions:
        plan_mission(plan, m, now)
    # In order of publication, so that priority flags raised by one selection count for the next annonces.
    flags = FlagBook()
    for m in sorted((m for m in missions if m.reached(S.PUBLISHED)), key=lambda m: m.times[S.PUBLISHED]):
        plan_search(plan, m, people, flags, now)
    for m in missions:
        if m.reached(S.IN_PROGRESS):
            plan_follow_up(plan, m, now)
    flags.plan(plan)
    _plan_fees(plan, missions, today)
    return plan
