"""The command line: applications by mail, unknown or archived volunteers, missions in the wrong state."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from deployments.cli import main
from models import Application, Mission, MissionStatus, Volunteer
from models.base import utcnow
from models.db import unit_of_work
from tests import lifecycle_driver as d


@pytest.fixture
def published(app_db) -> str:
    d.seed_small()
    with unit_of_work() as s:
        m = d.new_mission(s, "Site")
        m.status = MissionStatus.PUBLISHED
        return m.reference


def test_apply_once_per_volunteer(published: str, capsys) -> None:
    assert main(["apply", published, "BENEVOLE1@exemple.fr", "--message", "Je suis dispo"]) == 0
    assert "enregistrée" in capsys.readouterr().out
    assert main(["apply", published.lower(), "V-0001"]) == 0
    assert "déjà candidaté" in capsys.readouterr().out
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Application)) == 1


def test_apply_unknown_archived_and_wrong_state(published: str, capsys) -> None:
    assert main(["apply", published, "personne@nulle.part"]) == 1
    assert "Bénévole inconnu" in capsys.readouterr().err
    assert main(["apply", "STR-1999-999", "V-1"]) == 1
    assert "Aucune mission" in capsys.readouterr().err
    with unit_of_work() as s:
        s.get(Volunteer, 2).archived_at = utcnow()  # type: ignore[union-attr]
    assert main(["apply", published, "V-2"]) == 1
    assert "archivé" in capsys.readouterr().err
    with unit_of_work() as s:  # after the selection, until the roadmap: in reserve
        s.scalar(select(Mission)).status = MissionStatus.SELECTED  # type: ignore[union-attr]
    assert main(["apply", published, "V-3"]) == 0
    with unit_of_work() as s:
        assert s.scalar(select(Application.status)) == "reserve"
        s.scalar(select(Mission)).status = MissionStatus.IN_PROGRESS  # type: ignore[union-attr]
    assert main(["apply", published, "V-4"]) == 1
    assert "ne reçoit de candidatures" in capsys.readouterr().err
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Application)) == 1


def test_unknown_command(capsys) -> None:
    assert main(["nimporte"]) == 2
    assert "Commande inconnue" in capsys.readouterr().err
    assert main([]) == 0
    assert "import-volunteers" in capsys.readouterr().out
