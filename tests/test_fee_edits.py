"""The admin's second day (issue 25) on fees and missions: a payment corrected or cancelled, a fee schedule not yet in
force removed, a mission moved to another branch — each from the command line (SQLite and PostgreSQL) and from its
admin form (a real Prefect server), each refusing its slips in French with nothing written, each audited."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from deployments.cli import main
from models import AccessLog, AuditEvent, Branch, FeeBracket, FeeRecord, FeeState, FeeStatus, Mission, OutboxMail, Role
from models.base import utcnow
from models.db import unit_of_work
from tasks.lookups import get_mission
from tasks.missions import cancel
from tests import factories as f
from tests import lifecycle_driver as d
from tests.factories import token_for


def _setup() -> tuple[int, str]:
    """The small seed, a support member and an admin (national), a mission; (its id, its reference)."""
    d.seed_small()
    with unit_of_work() as s:
        m = d.new_mission(s)
        f.coordinator(s, m.branch, "Sonia", "Kern", role=Role.SUPPORT)
        f.coordinator(s, m.branch, "Alain", "Dupont", role=Role.ADMIN, branch_id=None)
        return m.id, m.reference


def _search_fee(mission_id: int) -> FeeRecord:
    with unit_of_work() as s:
        fee = s.scalar(select(FeeRecord).where(FeeRecord.key == FeeRecord.search_key(mission_id)))
        assert fee is not None
        s.expunge(fee)
    return fee


def _log(event: str) -> list[AccessLog]:
    with unit_of_work() as s:
        rows = list(s.scalars(select(AccessLog).where(AccessLog.event == event).order_by(AccessLog.id)))
        s.expunge_all()
    return rows


def _as(monkeypatch: pytest.MonkeyPatch, email: str) -> None:
    monkeypatch.setenv("PASSERELLES_TOKEN", token_for(email))


def test_a_payment_is_corrected_or_cancelled_with_a_reason_and_its_slips_refused(app_db, capsys, monkeypatch) -> None:
    mission_id, ref = _setup()
    today = utcnow().date()
    fee_no = f"F-{_search_fee(mission_id).id}"
    _as(monkeypatch, "sonia.kern@pc.example")
    assert main(["fees", "correct", fee_no, "--montant", "200", "--motif", "erreur"]) == 1
    assert f"{fee_no} est due : aucun paiement à corriger" in capsys.readouterr().err
    assert main(["fees", "pay", ref, "--note", "chèque"]) == 0
    capsys.readouterr()

    slips = [  # (arguments, the French reason): nothing written
        (["--le", "2019-05-03"], "La date du paiement (03/05/2019) précède celle de la cotisation"),
        (["--le", str(today + timedelta(days=2))], "est dans le futur"),
        (["--montant", "120,50"], "Le montant « 120,50 » a des centimes"),
        (["--note", "chèque"], "Rien de changé"),
    ]
    for extra, reason in slips:
        _as(monkeypatch, "sonia.kern@pc.example")
        assert main(["fees", "correct", ref, *extra, "--motif", "saisie"]) == 1
        assert reason in capsys.readouterr().err
    _as(monkeypatch, "sonia.kern@pc.example")
    assert main(["fees", "correct", ref, "--note", "virement", "--motif", " "]) == 1
    assert "Indiquez le motif de la correction" in capsys.readouterr().err
    _as(monkeypatch, "claire.muller@pc.example")
    assert main(["fees", "cancel", ref, "--motif", "erreur"]) == 1
    assert "ni de l'équipe support ni admin" in capsys.readouterr().err
    fee = _search_fee(mission_id)
    assert (fee.status, fee.paid_on, fee.note, fee.amount) == (FeeStatus.PAID, today, "chèque", 150)
    assert _log("fee_corrected") == [] and _log("fee_settlement_cancelled") == []

    _as(monkeypatch, "sonia.kern@pc.example")
    assert (
        main(
            [
                "fees",
                "correct",
                ref,
                "--le",
                str(today),
                "--montant",
                "200 €",
                "--note",
                "virement n° 88",
                "--motif",
                "remise accordée par le bureau",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"{fee_no} corrigée : montant : 150 € → 200 € ; moyen de paiement : « chèque » → « virement n° 88 »." in out
    fee = _search_fee(mission_id)
    assert (fee.status, fee.amount, fee.note) == (FeeStatus.PAID, 200, "virement n° 88")
    [line] = _log("fee_corrected")
    assert line.who == "sonia.kern@pc.example" and line.target == fee_no
    assert line.detail.endswith("— motif : remise accordée par le bureau") and "150 € → 200 €" in line.detail

    _as(monkeypatch, "alain.dupont@pc.example")
    assert main(["fees", "cancel", ref, "--motif", "chèque sans provision"]) == 0
    assert f"{fee_no} : annulé (payée le {today:%d/%m/%Y} (Sonia Kern, virement n° 88)) ; elle est de nouveau due." in (
        capsys.readouterr().out
    )
    fee = _search_fee(mission_id)
    assert (fee.state, fee.paid_on, fee.settled_by, fee.note) == (FeeState.DUE, None, "", "")
    [line] = _log("fee_settlement_cancelled")
    assert line.who == "alain.dupont@pc.example" and "chèque sans provision" in line.detail
    _as(monkeypatch, "alain.dupont@pc.example")
    assert main(["fees", "cancel", ref, "--motif", "encore"]) == 1
    assert f"{fee_no} est due : ni paiement ni exonération à annuler." in capsys.readouterr().err


def test_a_schedule_is_removed_only_before_it_is_in_force(app_db, capsys, monkeypatch) -> None:
    _setup()
    this_year = utcnow().date().year
    later = this_year + 2
    _as(monkeypatch, "alain.dupont@pc.example")
    assert main(["fees", "schedule", "--a-partir-de", str(later), "--tranches", "0-20000:60:120, 20000-:150:300"]) == 0
    capsys.readouterr()
    _as(monkeypatch, "sonia.kern@pc.example")
    assert main(["fees", "remove-schedule", str(later), "--motif", "erreur"]) == 1
    assert "seul un admin change le barème" in capsys.readouterr().err
    _as(monkeypatch, "alain.dupont@pc.example")
    assert main(["fees", "remove-schedule", "2008", "--motif", "erreur"]) == 1
    assert (
        f"Le barème à partir de 2008 est en vigueur (nous sommes en {this_year}) : il a pu servir aux cotisations et "
        f"reste dans l'historique. Pour la suite, fixez un nouveau barème à partir de {this_year + 1}."
    ) in capsys.readouterr().err
    assert main(["fees", "remove-schedule", str(later + 1), "--motif", "erreur"]) == 1
    assert f"Aucun barème ne part de {later + 1}. Barèmes : à partir de 2008, {later}." in capsys.readouterr().err
    with unit_of_work() as s:
        assert set(s.scalars(select(FeeBracket.valid_from))) == {2008, later}

    assert main(["fees", "remove-schedule", str(later), "--motif", "montants d'un autre réseau"]) == 0
    assert f"Barème à partir de {later} retiré (2 tranches)." in capsys.readouterr().out
    with unit_of_work() as s:
        assert set(s.scalars(select(FeeBracket.valid_from))) == {2008}
    [line] = _log("fee_schedule_removed")
    assert (
        line.target == f"barème {later}"
        and "0-20000:60:120" in line.detail
        and "(saisi par Alain Dupont)" in (line.detail)
    )


def _second_branch() -> None:
    with unit_of_work() as s:
        mul = f.branch(s, "MUL", name="Mulhouse")
        f.coordinator(s, mul, "Léa", "Brun", email="lea.brun@pc.example")
        f.coordinator(s, mul, "Marc", "Roth", role=Role.BRANCH_LEAD)


def test_a_mission_moves_to_another_branch_once_told_and_its_slips_refused(app_db, capsys, monkeypatch) -> None:
    mission_id, ref = _setup()
    _second_branch()
    with unit_of_work() as s:
        other = d.new_mission(s, "Une mission annulée")
        cancel(s, other, reason="L'association renonce", actor="test", step_key="x")
        cancelled = other.reference

    slips = [
        ([ref, "--antenne", "XYZ"], "Antenne inconnue : « XYZ »"),
        ([ref, "--antenne", "STR"], f"La mission {ref} est déjà de l'antenne STR"),
        ([cancelled, "--antenne", "MUL"], f"La mission {cancelled} est « Annulée » : elle ne change plus d'antenne."),
        (
            [ref, "--antenne", "MUL", "--a", "claire.muller@pc.example"],
            "n'est pas Passerelle ou responsable de l'antenne MUL",
        ),
        ([ref, "--antenne", "MUL", "--motif", " "], "Indiquez le motif du changement d'antenne"),
    ]
    for args, reason in slips:
        _as(monkeypatch, "alain.dupont@pc.example")
        assert main(["move-mission", *args, *([] if "--motif" in args else ["--motif", "reprise"])]) == 1
        assert reason in capsys.readouterr().err
    _as(monkeypatch, "jean.kieffer@pc.example")
    assert main(["move-mission", ref, "--antenne", "MUL", "--motif", "reprise"]) == 1
    assert "ne peut pas changer une mission d'antenne" in capsys.readouterr().err
    with unit_of_work() as s:
        assert get_mission(s, mission_id).branch.code == "STR"
        assert s.scalar(select(OutboxMail).where(OutboxMail.kind == "mission_moved")) is None

    _as(monkeypatch, "alain.dupont@pc.example")
    assert main(["move-mission", ref, "--antenne", "mulhouse", "--motif", "l'association a déménagé"]) == 0
    assert f"Mission {ref} confiée à l'antenne MUL (Mulhouse), suivie par Marc Roth" in capsys.readouterr().out
    with unit_of_work() as s:
        m = get_mission(s, mission_id)
        assert (m.reference, m.branch.code, m.coordinator.full_name) == (ref, "MUL", "Marc Roth")
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "move-branch"))
        assert event.step_key == "move-branch-1" and event.actor.startswith("Alain Dupont")
        assert event.details == {
            "from_branch": "STR",
            "to_branch": "MUL",
            "from": "Claire Muller",
            "to": "Marc Roth",
            "reason": "l'association a déménagé",
        }
        [mail] = s.scalars(select(OutboxMail).where(OutboxMail.kind == "mission_moved"))
        assert (
            mail.to_address == "marc.roth@pc.example"
            and mail.dedup_key == f"m{mission_id}:mission_moved:move-branch-1:c{m.coordinator_id}"
        )
        assert "passe de l'antenne STR à l'antenne Mulhouse" in mail.text_body and "a déménagé" in mail.text_body
    _as(monkeypatch, "alain.dupont@pc.example")
    assert main(["move-mission", ref, "--antenne", "MUL", "--motif", "encore"]) == 1  # a second time: refused
    assert "est déjà de l'antenne MUL" in capsys.readouterr().err
    _as(monkeypatch, "alain.dupont@pc.example")
    assert main(["move-mission", ref, "--antenne", "STR", "--a", "claire.muller@pc.example", "--motif", "retour"]) == 0
    with unit_of_work() as s:
        keys = sorted(s.scalars(select(OutboxMail.dedup_key).where(OutboxMail.kind == "mission_moved")))
        assert [k.split(":")[2] for k in keys] == ["move-branch-1", "move-branch-2"]  # one mail per move
        assert (
            s.scalar(select(Mission.branch_id).where(Mission.id == mission_id)) == get_mission(s, mission_id).branch.id
        )


# --- the admin forms, on a real Prefect server ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_forms_correct_cancel_remove_and_move_or_refuse_in_french(prefect_server, app_db) -> None:
    from flows import admin

    d.deploy()
    mission_id, ref = _setup()
    _second_branch()
    today = utcnow().date()
    fee_no = f"F-{_search_fee(mission_id).id}"
    fix, undo = admin.FeeCorrection.CORRECT, admin.FeeCorrection.CANCEL

    state = admin.correct_fee(cotisation=fee_no, correction=fix, motif="x", montant="10", return_state=True)
    assert state.is_failed() and state.message == (
        f"Refusé : {fee_no} est due : aucun paiement à corriger ; notez-le d'abord (passerelles fees pay)."
    )
    assert admin.record_fee(
        cotisation=ref, decision=admin.FeeDecision.PAID, note="chèque", return_state=True
    ).is_completed()
    state = admin.correct_fee(cotisation=ref, correction=fix, motif="x", le=date(2019, 5, 3), return_state=True)
    assert state.is_failed() and "La date du paiement (03/05/2019) précède celle de la cotisation" in (
        state.message or ""
    )
    state = admin.correct_fee(cotisation=ref, correction=fix, motif="remise", montant="200 €", return_state=True)
    assert state.is_completed() and state.message == f"{fee_no} corrigée : montant : 150 € → 200 €."
    state = admin.correct_fee(cotisation=ref, correction=undo, motif=" ", return_state=True)
    assert state.is_failed() and "Indiquez le motif de la correction" in (state.message or "")
    state = admin.correct_fee(cotisation=ref, correction=undo, motif="doublon", return_state=True)
    assert state.is_completed() and "elle est de nouveau due" in (state.message or "")
    fee = _search_fee(mission_id)
    assert (fee.state, fee.amount, fee.paid_on) == (FeeState.DUE, 200, None)
    assert [line.event for line in _log("fee_corrected") + _log("fee_settlement_cancelled")] == [
        "fee_corrected",
        "fee_settlement_cancelled",
    ]

    state = admin.remove_fee_schedule(a_partir_de=2008, motif="erreur", return_state=True)
    assert state.is_failed() and "Le barème à partir de 2008 est en vigueur" in (state.message or "")
    later = today.year + 1
    assert admin.set_fee_schedule(a_partir_de=later, tranches="0-:10:20", return_state=True).is_completed()
    state = admin.remove_fee_schedule(a_partir_de=later, motif="essai", return_state=True)
    assert state.is_completed() and f"Barème à partir de {later} retiré (1 tranche)." in (state.message or "")

    # a mission whose run waits at its needs analysis moves: the run is retagged, the new Passerelle told
    with unit_of_work() as s:
        moved = d.new_mission(s, "Comptabilité").id
    from tasks.runs import start_run

    run_id = start_run(moved)
    d.Driver(run_id).run()
    with unit_of_work() as s:
        moved_ref = get_mission(s, moved).reference
    state = admin.move_mission(mission=moved_ref, antenne="STR", motif="x", return_state=True)
    assert (
        state.is_failed()
        and state.message == f"Refusé : La mission {moved_ref} est déjà de l'antenne STR (Strasbourg)."
    )
    state = admin.move_mission(
        mission=moved_ref, antenne="MUL", motif="reprise", a="lea.brun@pc.example", return_state=True
    )
    assert state.is_completed() and "suivie par Léa Brun" in (state.message or ""), state.message
    tags = d.Driver(run_id).read().tags
    assert "antenne:MUL" in tags and "passerelle:lea.brun" in tags and "antenne:STR" not in tags
    with unit_of_work() as s:
        [mail] = s.scalars(select(OutboxMail).where(OutboxMail.kind == "mission_moved"))
        assert mail.to_address == "lea.brun@pc.example" and run_id in mail.text_body


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_fee_goes_from_due_to_billed_to_paid_on_the_live_path(prefect_server, app_db, capsys, monkeypatch) -> None:
    """The billing tasks/fees.py promises, on a mission's run: both fees due at the request, the membership billed
    when the needs analysis validates the values, the search fee when the annonce is first diffused; then paid, one
    by the command, one by the record-fee form — the same words in the list, the card and the export."""
    from flows import admin
    from tasks import views

    d.deploy()
    d.seed_small()
    with unit_of_work() as s:
        f.coordinator(s, s.scalars(select(Branch)).one(), "Sonia", "Kern", role=Role.SUPPORT)

    def states() -> dict[str, FeeState]:
        with unit_of_work() as s:
            return {r.kind.value: r.state for r in s.scalars(select(FeeRecord))}

    mission_id, run_id = d.open_and_start()
    assert states() == {"membership": FeeState.DUE, "search": FeeState.DUE}
    assert main(["fees", "list"]) == 0
    assert capsys.readouterr().out.count(" due ") == 2
    drv = d.Driver(run_id)
    drv.run()
    drv.resume(d.needs_analysis())
    assert states() == {"membership": FeeState.BILLED, "search": FeeState.DUE}
    drv.resume(drv.shown_annonce())  # approved, then diffused: the search begins
    assert states() == {"membership": FeeState.BILLED, "search": FeeState.BILLED}
    assert main(["fees", "list"]) == 0
    assert capsys.readouterr().out.count(f"facturée le {d.today():%d/%m/%Y}") == 2
    with unit_of_work() as s:
        bills = list(s.scalars(select(OutboxMail.subject).where(OutboxMail.kind == "fee_bill")))
        membership = s.scalar(select(FeeRecord.id).where(FeeRecord.mission_id.is_(None)))
        ref = get_mission(s, mission_id).reference
    assert len(bills) == 2

    _as(monkeypatch, "sonia.kern@pc.example")
    assert main(["fees", "pay", ref, "--note", "virement n° 7"]) == 0
    state = admin.record_fee(
        cotisation=f"F-{membership}", decision=admin.FeeDecision.PAID, note="chèque", return_state=True
    )
    assert state.is_completed(), state.message
    assert states() == {"membership": FeeState.PAID, "search": FeeState.PAID}
    capsys.readouterr()
    assert main(["fees", "list", "--toutes"]) == 0
    assert capsys.readouterr().out.count(f"payée le {d.today():%d/%m/%Y}") == 2
    with unit_of_work() as s:
        card = views.card(s, get_mission(s, mission_id))
    assert card.count(f"payée le {d.today():%d/%m/%Y}") == 2
