"""Every form accepts its own prefill (issue 21, item 5): a Passerelle who submits a step's form exactly as it is
shown — every field at its default, nothing typed — is never refused, neither by the Prefect server's schema check
nor by the step's own rules. Where the form as shown cannot be the last word (an analysis still to complete, a
roadmap the association must validate, a bilan without its ratings), its default decision keeps waiting, and the
form shown again still submits as it is. A real Prefect server; the mission then goes on to its end."""

from __future__ import annotations

from typing import Any

import pytest
from prefect.client.schemas.objects import StateType
from sqlalchemy import select

from models import AuditEvent, Mission, MissionStatus
from models.db import unit_of_work
from tests import lifecycle_driver as d

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]


def as_shown(schema: dict[str, Any]) -> dict[str, Any]:
    """What the UI submits when nothing is touched: each field's default (a field without one is left out)."""
    return {name: field["default"] for name, field in schema["properties"].items() if "default" in field}


def test_every_form_submitted_as_shown_is_accepted(lifecycle) -> None:
    mission_id, run_id = d.open_and_start()
    drv = d.Driver(run_id)
    fr = drv.run()
    # What a Passerelle changes, after submitting as shown, to move the mission on (the rest stays as shown).
    moves: dict[str, dict[str, Any]] = {
        "needs-analysis": d.needs_analysis(),
        "applications": {"applications": "V-1\nV-2", "decision": "passer à la sélection"},
        "roadmap": {"validated_by_association": True, "decision": "valider la feuille de route"},
        "check-in": {"decision": "mission terminée : passer au bilan"},
        "review": d.review(),
    }
    shown_twice = {"needs-analysis", "roadmap", "review"}  # their form as shown waits: shown again, as shown again
    submitted: list[str] = []
    while fr.state is not None and fr.state.type == StateType.PAUSED:
        form = drv.form()
        key = str(form["key"])
        step = next((s for s in moves if key.startswith(s)), "")
        answer = as_shown(form["schema"])
        missing = [name for name in form["schema"].get("required", []) if name not in answer]
        assert not missing, f"{key}: required fields without a default: {missing}"
        assert d.submit_form(run_id, answer) == (True, ""), key  # the server's schema check
        fr = drv.run()
        submitted.append(key)
        assert fr.state is not None
        assert "Saisie refusée" not in str(drv.form()["description"] if fr.state.type == StateType.PAUSED else "")
        if step in shown_twice and key == step:
            again = drv.form()
            assert again["key"] != key and str(again["key"]).startswith(step), (key, again["key"])
            assert "⏳" in str(again["description"])  # waiting, not refused
            assert d.submit_form(run_id, as_shown(again["schema"])) == (True, "")
            fr = drv.run()
            submitted.append(str(again["key"]))
        if step and drv.state().type == StateType.PAUSED and str(drv.form()["key"]).startswith(step):
            form = drv.form()
            answer = as_shown(form["schema"]) | moves[step]
            if step == "roadmap":  # every retained volunteer told the Passerelle they agree
                answer["agreed_by_phone"] = drv.choices("agreed_by_phone")
            assert d.submit_form(run_id, answer) == (True, "")
            fr = drv.run()
    assert fr.state is not None and fr.state.name == "Terminée", (fr.state, submitted)
    with unit_of_work() as s:
        mission = s.get(Mission, mission_id)
        assert mission is not None and mission.status is MissionStatus.COMPLETED
        refused = list(s.scalars(select(AuditEvent.step_key).where(AuditEvent.action.like("%:refused"))))
    assert refused == []
    assert {k.split("-essai")[0] for k in submitted} >= {
        "needs-analysis",
        "annonce-review-1",
        "applications-1",
        "selection",
        "roadmap",
        "check-in-1",
        "review",
    }
