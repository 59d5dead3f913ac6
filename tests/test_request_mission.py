"""Opening a mission: from the `request-mission` run form (its flow), once per mission run, French refusals."""

from __future__ import annotations

from uuid import UUID

import pytest
from prefect import get_client
from sqlalchemy import select

from flows.request_mission import request_mission
from models import AuditEvent, FeeKind, FeeRecord, Mission, MissionStatus
from models.db import unit_of_work
from tasks.runs import start_run

pytestmark = pytest.mark.slow


def test_request_mission_opens_it_and_starts_one_run(lifecycle) -> None:
    result = request_mission(
        association="les restos du quartier",
        passerelle="Claire.Muller@pc.example",
        titre="Plan de communication",
        demande="Nous voulons mieux faire connaître nos actions.",
    )
    assert result["reference"].startswith("STR-") and result["reference"].endswith("-001")
    with unit_of_work() as s:
        m = s.scalar(select(Mission))
        assert m is not None and m.status is MissionStatus.REQUESTED and m.title == "Plan de communication"
        fees = {f.kind: f.amount for f in s.scalars(select(FeeRecord))}
        assert fees == {FeeKind.MEMBERSHIP: 60, FeeKind.SEARCH: 150}  # budget 80,000 € → second bracket
        assert s.scalar(select(AuditEvent.action)) == "request"
        mission_id = m.id
    with get_client(sync_client=True) as c:
        run = c.read_flow_run(UUID(result["flow_run_id"]))
    assert run.name == f"mission-{result['reference']}"
    assert set(run.tags) == {"antenne:STR", "passerelle:claire.muller"}
    assert run.parameters == {"mission_id": mission_id}  # an id, no personal data
    assert start_run(mission_id) == result["flow_run_id"]  # one run per mission


def test_request_mission_refuses_unknown_association(lifecycle) -> None:
    state = request_mission(
        association="Les Restos du Quartie", passerelle="claire.muller@pc.example", titre="Site", return_state=True
    )
    assert state.is_failed()
    assert "Association inconnue" in str(state.message) and "Les Restos du Quartier" in str(state.message)
    with unit_of_work() as s:
        assert s.scalar(select(Mission)) is None
