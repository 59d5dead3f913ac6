"""The demo data set: deterministic, idempotent, coherent with the lifecycle, loadable from the CLI.

Checks on the plan itself run once, without a database; checks on what is written run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import NamedTuple

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from deployments import demo
from deployments.demo import data as demo_data
from models import (
    Application,
    ApplicationStatus,
    Association,
    AuditEvent,
    Branch,
    FeeRecord,
    Mission,
    PriorityFlag,
    Review,
    Roadmap,
    Volunteer,
)
from models.db import session_factory
from models.reference_data import FEE_SCHEDULE, TAXONOMY
from models.rules import REACHED_AT, MissionStatus, fees_for_budget, values_still_valid
from tests.conftest import wipe

# One worker runs the module (`--dist loadgroup`): the data set is then seeded once per database, not once per
# worker and database (the seed is the module's cost: about a minute on PostgreSQL).
pytestmark = pytest.mark.xdist_group("demo")
FORWARD: list[MissionStatus] = [s for s in MissionStatus if s is not MissionStatus.CANCELLED]
NOW = datetime.combine(demo.DEMO_TODAY, time(18), tzinfo=UTC)


@pytest.fixture(scope="module")
def plan() -> demo.Plan:
    """The default plan, built once (pure Python)."""
    return demo.build_plan()


class Seeded(NamedTuple):
    session: Session
    counts: dict[str, int]


@pytest.fixture(scope="module")
def seeded(engine: Engine) -> Iterator[Seeded]:
    """The demo data set, loaded once per database (SQLite and PostgreSQL) for this module, emptied afterwards.

    Seeding takes seconds, so the tests here share it and must not change it: none of them uses the `db` or
    `session` fixtures, whose clean-up would empty the database under the next test.
    """
    try:
        with session_factory(engine)() as session:
            counts = demo.seed(session)
            session.commit()
            yield Seeded(session, counts)
    finally:
        wipe(engine)


# --- The plan, without a database ------------------------------------------------------------------------------


def test_data_tables_only_use_known_competences_and_domains() -> None:
    domains = {code for code, _, _ in TAXONOMY}
    competences = set(demo.COMPETENCE_NAMES)
    for profession in demo_data.PROFESSIONS:
        assert set(profession.competences) <= competences, profession
    for template in demo_data.MISSION_TEMPLATES:
        assert template.domain in domains, template.title
        assert {c for c, _ in template.competences} <= competences, template.title
        assert 1 <= len(template.objectives) <= 3, template.title
    assert {a.branch for a in demo_data.ASSOCIATIONS} == {b.code for b in demo_data.BRANCHES}


def test_plan_is_deterministic(plan: demo.Plan) -> None:
    again = demo.build_plan()
    assert {m: len(rows) for m, rows in again.rows.items()} == {m: len(rows) for m, rows in plan.rows.items()}
    assert again.rows[Mission] == plan.rows[Mission]
    assert again.rows[Application] == plan.rows[Application]


def test_plan_volumes(plan: demo.Plan) -> None:
    missions = plan.rows[Mission]
    assert 1_000 <= len(missions) <= 1_500
    assert 280 <= len(plan.rows[Volunteer]) <= 320
    by_branch = Counter(m["branch_id"].key for m in missions)
    assert by_branch.most_common(1)[0][0] == "STR"
    assert set(by_branch) == {b.code for b in demo_data.BRANCHES}
    active_flags = [f for f in plan.rows[PriorityFlag] if f["cleared_at"] is None]
    assert 1 <= len(active_flags) <= 40


def test_values_checks_are_renewed_at_the_first_meeting_after_they_expired(plan: demo.Plan) -> None:
    # As the needs analysis does: an association met within a year of its last check keeps it; met later, it is
    # checked again at that meeting (before: the first meeting's date, so every check of the demo had expired).
    validated = {a["name"]: a["values_validated_on"] for a in plan.rows[Association]}
    meetings = sorted(
        (m["analysed_at"].date(), m["association_id"].key) for m in plan.rows[Mission] if m["analysed_at"] is not None
    )
    last: dict[str, date] = {}
    for met, name in meetings:
        if not values_still_valid(last.get(name), met):
            last[name] = met
        assert values_still_valid(validated[name], met) or validated[name] > met, (name, met)
    assert validated == {name: last.get(name) for name in validated}
    valid_today = Counter(values_still_valid(on, demo.DEMO_TODAY) for on in validated.values())
    assert valid_today[True] >= 10 and valid_today[False] >= 1, valid_today  # the demo shows both cases


def test_another_reference_date_still_gives_every_status() -> None:
    statuses = {m["status"] for m in demo.build_plan(date(2021, 3, 15)).rows[Mission]}
    assert statuses == set(MissionStatus)


# --- What is written, on SQLite and PostgreSQL -----------------------------------------------------------------


def test_seed_twice_adds_nothing_and_gives_the_same_counts(seeded: Seeded, plan: demo.Plan) -> None:
    first = seeded.counts
    assert first["mission"] == len(plan.rows[Mission])
    # the demo queues no mail, its volunteers' history (consent records, changes) starts at the seeding, and
    # nobody has signed in yet
    runtime = (
        "outbox_mail",
        "consent_record",
        "volunteer_event",
        "signin_link",
        "member_session",
        "access_log",
        "erasure_record",
        "invitation",
        "public_submission",  # asked on the public pages: none before the site is open
        "calendar_event",  # announced with the invitations, which are mails: when the runs ask their forms
        "stored_file",  # reports' and exports' files: when an admin runs them
    )
    assert all(first[t] > 0 for t in first if t not in runtime)
    assert demo.seed(seeded.session) == first
    added = demo.write_plan(seeded.session, plan)
    seeded.session.commit()
    assert not any(added.values()), added


def test_every_status_has_missions_and_strasbourg_realised_about_114_in_2014(seeded: Seeded) -> None:
    session = seeded.session
    by_status = dict(session.execute(select(Mission.status, func.count()).group_by(Mission.status)).tuples().all())
    assert set(by_status) == set(MissionStatus), by_status
    start, end = datetime(2014, 1, 1, tzinfo=UTC), datetime(2015, 1, 1, tzinfo=UTC)
    done_2014 = (
        select(func.count())
        .select_from(Mission)
        .join(Branch)
        .where(
            Branch.code == "STR",
            Mission.status == MissionStatus.COMPLETED,
            Mission.completed_at >= start,
            Mission.completed_at < end,
        )
    )
    realised = session.scalar(done_2014) or 0
    assert 105 <= realised <= 125  # « 114 missions réalisées en 2014 », as the association counts
    assert session.scalar(select(func.count()).where(Mission.flow_run_id.is_not(None))) == 0


def test_status_timestamps_follow_the_lifecycle(seeded: Seeded) -> None:
    session = seeded.session
    for m in session.scalars(select(Mission)):
        last = m.cancelled_from if m.status is MissionStatus.CANCELLED else m.status
        assert last is not None, m.reference
        reached = FORWARD[: FORWARD.index(last) + 1]
        stamps = [getattr(m, REACHED_AT[s]) for s in reached]
        assert all(t is not None and t.tzinfo is not None for t in stamps), m.reference
        assert all(a < b for a, b in itertools.pairwise(stamps)), m.reference
        assert all(getattr(m, REACHED_AT[s]) is None for s in FORWARD[len(reached) :]), m.reference
        if m.status is MissionStatus.CANCELLED:
            assert m.cancelled_at is not None and m.cancelled_at > stamps[-1] and m.cancel_reason, m.reference
        else:
            assert m.cancelled_at is None and m.cancelled_from is None and not m.cancel_reason, m.reference
        assert max(t for t in [*stamps, m.cancelled_at] if t is not None) <= NOW, m.reference
        assert m.reference == f"{m.reference[:3]}-{m.year}-{m.seq:03d}" and m.requested_at.year == m.year


def test_each_step_left_its_rows(seeded: Seeded) -> None:
    session = seeded.session
    missions = {m.id: m for m in session.scalars(select(Mission))}
    selected = Counter(
        session.scalars(select(Application.mission_id).where(Application.status == ApplicationStatus.SELECTED))
    )
    roadmaps = set(session.scalars(select(Roadmap.mission_id)))
    reviews = set(session.scalars(select(Review.mission_id)))
    steps = Counter(session.execute(select(AuditEvent.mission_id, AuditEvent.step_key)).tuples())
    assert max(steps.values()) == 1
    for m in missions.values():
        assert (m.selected_at is not None) == (selected[m.id] >= 1), m.reference
        assert (m.started_at is not None) == (m.id in roadmaps), m.reference
        assert (m.status is MissionStatus.COMPLETED) == (m.id in reviews), m.reference
        assert ((m.id, "needs-analysis") in steps) == (m.analysed_at is not None), m.reference
        assert ((m.id, "cancel") in steps) == (m.status is MissionStatus.CANCELLED), m.reference
    search_fees = {f.mission_id: f for f in session.scalars(select(FeeRecord).where(FeeRecord.mission_id.is_not(None)))}
    assert set(search_fees) == {i for i, m in missions.items() if m.published_at is not None}
    for mission_id, fee in search_fees.items():
        assert mission_id is not None
        budget = missions[mission_id].association.annual_budget
        assert fee.key == f"search:{mission_id}"
        assert fee.amount == fees_for_budget(budget, FEE_SCHEDULE).search_fee


def test_volunteer_emails_are_lower_case_and_unique(seeded: Seeded) -> None:
    session = seeded.session
    emails = list(session.scalars(select(Volunteer.email)))
    assert len(emails) >= 280
    assert all(e == e.lower() and "@" in e for e in emails)
    assert len(set(emails)) == len(emails)


# --- The command -----------------------------------------------------------------------------------------------


def test_cli_seeds_a_fresh_sqlite_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from models.db import get_engine
    from models.settings import get_settings

    monkeypatch.setenv("PASSERELLES_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        assert demo.main([]) == 0
        out = capsys.readouterr().out
        assert "missions" in out and "bénévoles" in out and "Ajoutées" in out
        missions = len(demo.build_plan().rows[Mission])
        assert any(line.split()[-2:] == [str(missions), str(missions)] for line in out.splitlines())
        assert demo.main([]) == 0
        assert "Rien à ajouter" in capsys.readouterr().out
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()
