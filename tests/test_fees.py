"""Fees: billed when the seed implies, settled by the support team, waived at an early cancellation, reminded while
unpaid, the schedule changed by an admin with its history (SQLite and PostgreSQL; no Prefect needed)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from deployments.cli import main
from models import FeeBracket, FeeKind, FeeRecord, FeeStatus, MissionStatus, OutboxMail, Role
from models.base import utcnow
from models.db import unit_of_work
from models.refusals import StepRefused
from models.rules import Bracket
from tasks import fees
from tasks.lookups import get_mission
from tasks.missions import cancel
from tests import factories as f
from tests import lifecycle_driver as d
from tests.factories import token_for


def _setup() -> int:
    d.seed_small()
    with unit_of_work() as s:
        branch = d.new_mission(s).branch
        f.coordinator(s, branch, "Sonia", "Kern", role=Role.SUPPORT)
        f.coordinator(s, branch, "Alain", "Dupont", role=Role.ADMIN, branch_id=None)
        return d.new_mission(s, "Deuxième mission").id


def _fees() -> dict[str, FeeRecord]:
    with unit_of_work() as s:
        rows = list(s.scalars(select(FeeRecord)))
        s.expunge_all()
    return {r.key: r for r in rows}


def _mails(kind: str) -> list[OutboxMail]:
    with unit_of_work() as s:
        rows = list(s.scalars(select(OutboxMail).where(OutboxMail.kind == kind).order_by(OutboxMail.id)))
        s.expunge_all()
    return rows


def test_bills_go_once_at_their_moment_and_an_early_cancel_waives_the_search_fee(app_db) -> None:
    mission_id = _setup()
    assert all(r.billed_on is None and r.status is FeeStatus.DUE for r in _fees().values())  # due, not billed
    with unit_of_work() as s:
        m = get_mission(s, mission_id)
        assert fees.bill_membership(s, m) and not fees.bill_membership(s, m)  # once a year, whatever replays
        assert fees.bill_search(s, m) and not fees.bill_search(s, m)
    bills = _mails("fee_bill")
    assert len(bills) == 2 and {b.to_address for b in bills} == {"contact@restos.example"}
    assert any("Cotisation annuelle" in b.subject for b in bills)
    assert any("frais de recherche" in b.subject and "n'est pas due" in b.text_body for b in bills)
    with unit_of_work() as s:
        cancel(s, get_mission(s, mission_id), reason="L'association renonce", actor="test", step_key="x")
    search = _fees()[f"search:{mission_id}"]
    assert search.status is FeeStatus.WAIVED and search.settled_by == "automatique"
    assert len(_mails("fee_waived")) == 1
    assert _fees()[next(k for k in _fees() if k.startswith("membership"))].status is FeeStatus.DUE


def test_no_waiver_once_a_volunteer_is_found(app_db, monkeypatch) -> None:
    mission_id = _setup()
    with unit_of_work() as s:
        m = get_mission(s, mission_id)
        m.status = MissionStatus.SELECTED
        s.flush()
        cancel(s, m, reason="Fin", actor="test", step_key="x")
    assert _fees()[f"search:{mission_id}"].status is FeeStatus.DUE


def test_support_records_payments_and_the_cli_refuses_clearly(app_db, capsys, monkeypatch) -> None:
    mission_id = _setup()
    with unit_of_work() as s:
        ref = get_mission(s, mission_id).reference
    monkeypatch.setenv("PASSERELLES_TOKEN", token_for("claire.muller@pc.example"))
    assert main(["fees", "pay", ref]) == 1
    assert "ni de l'équipe support ni admin" in capsys.readouterr().err
    monkeypatch.setenv("PASSERELLES_TOKEN", token_for("sonia.kern@pc.example"))
    assert main(["fees", "pay", "F-999"]) == 1
    assert "Cotisation inconnue" in capsys.readouterr().err
    future = str(utcnow().date() + timedelta(days=3))
    monkeypatch.setenv("PASSERELLES_TOKEN", token_for("sonia.kern@pc.example"))
    assert main(["fees", "pay", ref, "--le", future]) == 1
    assert "dans le futur" in capsys.readouterr().err
    monkeypatch.setenv("PASSERELLES_TOKEN", token_for("sonia.kern@pc.example"))
    assert main(["fees", "waive", ref, "--motif", " "]) == 1
    assert "indiquez le motif" in capsys.readouterr().err
    assert _fees()[f"search:{mission_id}"].status is FeeStatus.DUE  # nothing written by the refusals
    monkeypatch.setenv("PASSERELLES_TOKEN", token_for("Sonia.Kern@pc.example"))
    assert main(["fees", "pay", ref, "--note", "virement 1234"]) == 0
    assert "payée" in capsys.readouterr().out
    monkeypatch.setenv("PASSERELLES_TOKEN", token_for("alain.dupont@pc.example"))
    assert main(["fees", "waive", ref, "--motif", "geste"]) == 1
    assert "déjà payée" in capsys.readouterr().err
    paid = _fees()[f"search:{mission_id}"]
    assert paid.status is FeeStatus.PAID and paid.settled_by == "Sonia Kern" and paid.paid_on == utcnow().date()
    assert main(["fees", "list"]) == 0
    listed = capsys.readouterr().out
    assert "Cotisation annuelle" in listed and ref not in listed.split("Cotisation annuelle")[0]


def test_unpaid_bills_are_reminded_every_period(app_db) -> None:
    mission_id = _setup()
    today = utcnow().date()
    with unit_of_work() as s:
        fee = s.scalar(select(FeeRecord).where(FeeRecord.key == f"search:{mission_id}"))
        assert fee is not None
        fees.bill(s, fee, today=today - timedelta(days=31))
    with unit_of_work() as s:
        assert [r.id for r in fees.remind_unpaid(s, today=today)] == [fee.id]
        assert fees.remind_unpaid(s, today=today + timedelta(days=1)) == []
    with unit_of_work() as s:
        assert len(fees.remind_unpaid(s, today=today + timedelta(days=30))) == 1
    reminders = _mails("fee_reminder")
    assert len(reminders) == 2 and "n'est pas encore réglée" in reminders[0].text_body


def test_an_admin_sets_a_new_schedule_and_the_old_one_stays(app_db, capsys, monkeypatch) -> None:
    _setup()
    year = utcnow().date().year + 1
    lines = "0-20000:60:120, 20000-100000:150:300, 100000-:300:600"
    monkeypatch.setenv("PASSERELLES_TOKEN", token_for("sonia.kern@pc.example"))
    assert main(["fees", "schedule", "--a-partir-de", str(year), "--tranches", lines]) == 1
    assert "seul un admin" in capsys.readouterr().err
    monkeypatch.setenv("PASSERELLES_TOKEN", token_for("alain.dupont@pc.example"))
    assert main(["fees", "schedule", "--a-partir-de", str(year), "--tranches", "0-20000:60:120, 30000-:1:1"]) == 1
    assert "Trou ou chevauchement" in capsys.readouterr().err
    assert main(["fees", "schedule", "--a-partir-de", "2001", "--tranches", lines]) == 1
    assert "reste dans l'historique" in capsys.readouterr().err
    assert main(["fees", "schedule", "--a-partir-de", str(year), "--tranches", "0-10:x"]) == 1
    assert "Tranche illisible" in capsys.readouterr().err
    assert main(["fees", "schedule", "--a-partir-de", str(year), "--tranches", lines]) == 0
    assert main(["fees", "schedule"]) == 0
    history = capsys.readouterr().out
    assert f"À partir de {year} (saisi par Alain Dupont)" in history
    with unit_of_work() as s:
        years = {b.valid_from for b in s.scalars(select(FeeBracket))}
        assert year in years and len(years) >= 2  # the schedule that was in force is still there
        assert fees.parse_brackets(lines)[2] == Bracket(100000, None, 300, 600)
        kinds = {r.kind for r in s.scalars(select(FeeRecord))}
    assert kinds == {FeeKind.MEMBERSHIP, FeeKind.SEARCH}
    with pytest.raises(StepRefused, match="Barème vide"):
        fees.parse_brackets(" , ")
