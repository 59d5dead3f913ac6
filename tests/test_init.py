"""`passerelles init` on an empty database: schema and reference data, no demo data; idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from deployments.cli import main
from models import Branch, Competence, Domain, FeeBracket, Mission, Volunteer
from models.db import unit_of_work


def test_init_prepares_an_empty_installation(app_db, capsys) -> None:
    assert main(["init", "--sans-prefect"]) == 0
    assert "Base prête" in capsys.readouterr().out
    assert main(["init", "--sans-prefect"]) == 0  # a second time changes nothing

    def counts() -> dict[str, int]:
        with unit_of_work() as s:
            return {
                m.__name__: s.scalar(select(func.count()).select_from(m)) or 0
                for m in (Domain, Competence, FeeBracket, Branch, Volunteer, Mission)
            }

    first = counts()
    assert first["Domain"] > 5 and first["Competence"] > 20 and first["FeeBracket"] >= 3
    assert first["Branch"] == first["Volunteer"] == first["Mission"] == 0  # no demo data
    assert main(["init", "--sans-prefect"]) == 0
    assert counts() == first


def test_init_says_when_prefect_is_unreachable(app_db, capsys) -> None:
    import prefect.settings as ps
    from prefect.settings import temporary_settings

    with temporary_settings(updates={ps.PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert main(["init"]) == 1
    captured = capsys.readouterr()
    assert "Base prête" in captured.out and "Serveur Prefect injoignable" in captured.err
