"""Dashboards, reminders and escalations of overdue steps."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import select

from models import Mission, MissionStatus
from models.db import session_factory, unit_of_work
from models.rules import MissionSnapshot
from models.rules import MissionStatus as S
from tasks.monitoring import open_missions, remind
from tasks.outbox import send_pending
from tasks.steps import REGISTRY
from tests import factories as f
from tests import lifecycle_driver as d

TODAY = date(2026, 11, 26)
L = REGISTRY.levels()


def wait(status: S, **kw):
    kw.setdefault("reached", {st: TODAY - timedelta(days=10) for st in S})
    return REGISTRY.waiting(MissionSnapshot(status, today=TODAY, **kw), L)


def test_waiting_step_per_status() -> None:
    assert wait(S.REQUESTED).step == "needs-analysis"
    assert wait(S.ANALYSED).step == "annonce"
    assert wait(S.PUBLISHED).step == "applications"
    w = wait(S.PUBLISHED, selection_asked_on=TODAY - timedelta(days=2))
    assert (w.step, w.since) == ("selection", TODAY - timedelta(days=2))
    assert wait(S.SELECTED).step == "roadmap"
    w = wait(S.IN_PROGRESS, last_check_in=TODAY - timedelta(days=3), checkin_every_days=15)
    assert (w.step, w.since, w.level_days) == ("check-in", TODAY - timedelta(days=3), 15)
    w = wait(S.IN_PROGRESS, roadmap_end=TODAY - timedelta(days=1))
    assert (w.step, w.since) == ("review", TODAY - timedelta(days=1))
    assert wait(S.COMPLETED) is None and wait(S.CANCELLED) is None


def test_overdue_levels() -> None:
    w = wait(S.REQUESTED, reached={S.REQUESTED: TODAY - timedelta(days=14)})
    assert w.overdue_level(TODAY) == 0
    assert w.overdue_level(TODAY + timedelta(days=1)) == 1
    assert w.overdue_level(TODAY + timedelta(days=15)) == 2


def _mission(title: str, status: MissionStatus, days_ago: int) -> int:
    with unit_of_work() as s:
        m = d.new_mission(s, title)
        m.status = status
        at = datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time(), tzinfo=UTC)
        m.requested_at = at
        if status is MissionStatus.ANALYSED:
            m.analysed_at = at
        return m.id


def test_reminders_once_escalation_at_twice_and_stop_when_step_moves(app_db, mail_server) -> None:
    d.seed_small()
    fresh = _mission("Fraîche", MissionStatus.REQUESTED, 3)  # within 14 days
    late = _mission("En retard", MissionStatus.REQUESTED, 20)  # reminder
    _mission("Très en retard", MissionStatus.REQUESTED, 40)  # reminder + escalation

    def run(today: date) -> dict:
        with unit_of_work() as s:
            result = remind(s, open_missions(s, today=today, levels=L), today)
        send_pending(session_factory())
        return result

    assert run(TODAY) == {"reminders": 2, "escalations": 1, "errors": []}
    kinds = sorted((m["X-Passerelles-Kind"], m["To"]) for m in mail_server.messages)
    assert kinds == [
        ("escalation", "jean.kieffer@pc.example"),
        ("reminder", "claire.muller@pc.example"),
        ("reminder", "claire.muller@pc.example"),
    ]
    assert "40 jours" in next(m["Subject"] for m in mail_server.messages if m["X-Passerelles-Kind"] == "escalation")
    assert run(TODAY) == {"reminders": 0, "escalations": 0, "errors": []}  # never twice
    assert len(mail_server.messages) == 3

    with unit_of_work() as s:  # the late mission moves on: the annonce step starts today, no reminder
        m = s.get(Mission, late)
        assert m is not None
        m.status, m.analysed_at = MissionStatus.ANALYSED, datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC)
    assert run(TODAY)["reminders"] == 0
    assert run(TODAY + timedelta(days=8))["reminders"] == 1  # ... until the annonce itself is late
    assert fresh  # never reminded at 3 days


def test_one_failing_mission_does_not_stop_the_others(app_db, mail_server) -> None:
    d.seed_small()
    with unit_of_work() as s:
        f.coordinator(s, f.branch(s, "MUL"), "Luc", "Meyer")
    _mission("Strasbourg très en retard", MissionStatus.REQUESTED, 40)
    with unit_of_work() as s:  # a Mulhouse mission, and Mulhouse has no branch lead to escalate to
        m = d.new_mission(s, "Mulhouse", passerelle="luc.meyer@pc.example")
        m.requested_at = datetime.combine(TODAY - timedelta(days=40), datetime.min.time(), tzinfo=UTC)
    with unit_of_work() as s:
        result = remind(s, open_missions(s, today=TODAY, levels=L), TODAY)
    assert result["escalations"] == 1 and result["reminders"] == 2
    assert len(result["errors"]) == 1 and "MUL" in result["errors"][0] and "responsable" in result["errors"][0]


@pytest.mark.slow
def test_branch_dashboard_flow_publishes_tables(prefect_server, app_db) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey
    from prefect.utilities.asyncutils import run_coro_as_sync

    from flows.monitoring import branch_dashboard
    from tasks.monitoring import NATIONAL_KEY, branch_key

    d.seed_small()
    _mission("Très en retard", MissionStatus.REQUESTED, 40)
    assert branch_dashboard() == {"branches": 1, "open_missions": 1}

    async def read(key: str) -> list[Any]:
        async with get_client() as c:
            flt = ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=[key]))
            return await c.read_latest_artifacts(artifact_filter=flt)

    [table] = cast(list[Any], run_coro_as_sync(read(branch_key("STR"))))
    [row] = json.loads(table.data)
    assert row["Association"] == "Les Restos du Quartier" and row["Étape"] == "Analyse du besoin"
    assert row["En retard"] == "oui, signalé à l'antenne" and row["En attente depuis (jours)"] >= 40
    [national] = cast(list[Any], run_coro_as_sync(read(NATIONAL_KEY)))
    assert json.loads(national.data)[0]["Antenne"] == "STR"
    with unit_of_work() as s:
        assert s.scalar(select(Mission.status)) is MissionStatus.REQUESTED
