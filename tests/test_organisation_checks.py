"""The admin's slips of issue 25 replayed through the command line, on SQLite and PostgreSQL: each refused with
its French reason and nothing written, or taken once confirmed (`--confirmer`). The rules themselves are tested
pure in test_checks.py; the Prefect UI's forms in test_admin_flows.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from deployments.cli import main
from models import Association, Branch, Coordinator, FeeBracket, FeeRecord, FeeStatus, Role
from models.base import utcnow
from models.db import unit_of_work
from tests import lifecycle_driver as d


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err


def test_a_founding_date_in_the_future_is_refused(app_db, capsys) -> None:
    d.seed_small()
    argv = ["branch", "create", "--code", "COL", "--nom", "Colmar", "--region", "Grand Est", "--fondee-le"]
    assert main([*argv, "2030-01-01"]) == 1
    assert "Refusé : La date de création de l'antenne (01/01/2030) est dans le futur" in _err(capsys)
    with pytest.raises(SystemExit) as exc:  # argparse's own check of the date, in French
        main([*argv, "2026-13-01"])
    assert exc.value.code == 2
    err = _err(capsys)
    assert "passerelles branch create : erreur : argument --fondee-le : date invalide « 2026-13-01 »" in err
    with unit_of_work() as s:
        assert s.scalar(select(Branch).where(Branch.code == "COL")) is None
    assert main([*argv, "2019-09-01"]) == 0
    with unit_of_work() as s:
        assert s.scalar(select(Branch.founded_on).where(Branch.code == "COL")).year == 2019  # type: ignore[union-attr]


def test_addresses_refused_in_french_kept_as_typed_and_compared_whatever_the_case(app_db, capsys) -> None:
    d.seed_small()
    add = ["team", "add", "--prenom", "Émilie", "--nom", "Schmitt", "--role", "passerelle", "--antenne", "STR"]
    assert main([*add, "--email", "Émilie.Schmitt@pc.example"]) == 1
    err = _err(capsys)
    assert "contient « É » avant le « @ » : la plupart des serveurs de messagerie refusent ces adresses" in err
    assert "« Emilie.Schmitt@pc.example »" in err  # what to ask for instead
    assert main([*add, "--email", "emilie schmitt@pc.example"]) == 1
    assert "contient une espace" in _err(capsys)
    assert main([*add, "--email", "Emilie.Schmitt@PC.example"]) == 0
    assert "<Emilie.Schmitt@pc.example>" in capsys.readouterr().out  # the case as typed, for display
    assert main([*add, "--email", "emilie.schmitt@pc.example"]) == 1
    assert "L'adresse Emilie.Schmitt@pc.example est déjà celle de Émilie Schmitt." in _err(capsys)
    # found whatever the case
    assert (
        main(["team", "update", "EMILIE.SCHMITT@pc.example", "--prenom", "Émilie Marie", "--motif", "second prénom"])
        == 0
    )
    with unit_of_work() as s:
        stored = s.scalars(select(Coordinator.email).where(Coordinator.last_name == "Schmitt")).all()
    assert stored == ["Emilie.Schmitt@pc.example"]


def test_a_second_branch_lead_needs_a_confirmation(app_db, capsys) -> None:
    d.seed_small()
    add = ["team", "add", "--prenom", "Inès", "--nom", "Haas", "--email", "ines.haas@pc.example"]
    add += ["--role", "responsable d'antenne", "--antenne", "STR"]
    assert main(add) == 1
    err = _err(capsys)
    assert err == (
        "À confirmer : L'antenne Strasbourg a déjà un(e) responsable : Jean Kieffer. Les alertes des missions à "
        "risque iront à chacun(e).\nSi c'est voulu, relancez la commande avec --confirmer.\n"
    )
    promote = ["team", "update", "claire.muller@pc.example", "--role", "responsable d'antenne", "--motif", "promue"]
    assert main(promote) == 1
    assert "a déjà un(e) responsable : Jean Kieffer" in _err(capsys)
    with unit_of_work() as s:
        leads = s.scalars(select(Coordinator.last_name).where(Coordinator.role == Role.BRANCH_LEAD)).all()
    assert leads == ["Kieffer"]  # nothing written
    assert main([*add, "--confirmer"]) == 0
    assert main([*promote, "--confirmer"]) == 0
    again = ["team", "update", "jean.kieffer@pc.example", "--role", "responsable d'antenne", "--motif", "idem"]
    assert main(again) == 1  # already a lead: no confirmation asked, nothing to change
    assert _err(capsys) == "Refusé : Rien de changé : ce qui est indiqué est déjà enregistré.\n"
    add[7] = "ines2@pc.example"
    assert main(add) == 1
    assert "a déjà un(e) responsable : Claire Muller, Inès Haas, Jean Kieffer." in _err(capsys)
    with unit_of_work() as s:
        count = s.scalar(select(func.count()).select_from(Coordinator).where(Coordinator.role == Role.BRANCH_LEAD))
    assert count == 3


def test_a_contact_email_of_another_association_needs_a_confirmation_and_budgets_as_people_write_them(
    app_db, capsys
) -> None:
    d.seed_small()
    register = ["association", "register", "--nom", "Épicerie Solidaire", "--antenne", "STR", "--contact", "Luc"]
    assert main([*register, "--email", "Contact@Restos.example", "--budget", "24 000 €"]) == 1
    assert _err(capsys) == (
        "À confirmer : L'adresse Contact@restos.example est déjà celle du contact de « Les Restos du Quartier » : "
        "les mails des deux associations (annonces à approuver, factures, annulations) iraient à la même "
        "personne.\nSi c'est voulu, relancez la commande avec --confirmer.\n"
    )
    for typed in ("24k", "vingt-quatre mille", "24 000,50", "-24000"):
        assert main([*register, "--email", "luc@epi.example", "--budget", typed]) == 1
        err = _err(capsys)
        assert err.startswith(f"Refusé : Le budget annuel « {typed} »") and "invalid" not in err
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Association)) == 1
    assert main([*register, "--email", "Contact@Restos.example", "--budget", "24\u202f000\u00a0€", "--confirmer"]) == 0
    assert "budget 24000 €" in capsys.readouterr().out
    other = ["association", "register", "--nom", "Jardins", "--antenne", "STR", "--contact", "Zoé"]
    assert main([*other, "--email", "zoe@jardins.example", "--budget", "24.000"]) == 0
    assert main([*other[:3], "Bibliothèque", *other[4:], "--email", "b@bib.example", "--budget", "24 000,00"]) == 0
    with unit_of_work() as s:
        budgets = dict(s.execute(select(Association.name, Association.annual_budget)).all())
    assert budgets["Épicerie Solidaire"] == budgets["Jardins"] == budgets["Bibliothèque"] == 24000


def test_a_payment_before_its_fee_or_in_the_future_is_refused(app_db, capsys) -> None:
    d.seed_small()
    with unit_of_work() as s:
        d.new_mission(s)
        fee = s.scalars(select(FeeRecord).order_by(FeeRecord.id)).first()
        assert fee is not None
        ref, due_on = f"F-{fee.id}", fee.due_on
    assert main(["fees", "pay", ref, "--le", "2019-05-03"]) == 1
    assert f"Refusé : La date du paiement (03/05/2019) précède celle de la cotisation ({due_on:%d/%m/%Y})" in _err(
        capsys
    )
    tomorrow = utcnow().date() + timedelta(days=1)
    assert main(["fees", "pay", ref, "--le", tomorrow.isoformat()]) == 1
    assert f"La date du paiement ({tomorrow:%d/%m/%Y}) est dans le futur" in _err(capsys)
    with unit_of_work() as s:
        assert s.get(FeeRecord, int(ref[2:])).status is FeeStatus.DUE  # type: ignore[union-attr]
    assert main(["fees", "pay", ref, "--le", due_on.isoformat()]) == 0
    with unit_of_work() as s:
        assert s.get(FeeRecord, int(ref[2:])).paid_on == due_on  # type: ignore[union-attr]


def test_a_fee_schedule_of_a_past_year_is_refused(app_db, capsys) -> None:
    d.seed_small()
    year = utcnow().date().year
    lines = "0-20000:60:120, 20000-:150:300"
    assert main(["fees", "schedule", "--a-partir-de", str(year - 1), "--tranches", lines]) == 1
    assert f"Refusé : Un barème ne part pas d'une année passée ({year - 1})" in _err(capsys)
    with pytest.raises(SystemExit):
        main(["fees", "schedule", "--a-partir-de", "l'an prochain", "--tranches", lines])
    assert "argument --a-partir-de : \"l'an prochain\" n'est pas un nombre entier" in _err(capsys)
    with unit_of_work() as s:
        assert set(s.scalars(select(FeeBracket.valid_from))) == {2008}
    assert main(["fees", "schedule", "--a-partir-de", str(year), "--tranches", lines]) == 0  # none set for it yet
    assert main(["fees", "schedule", "--a-partir-de", str(year), "--tranches", lines]) == 1
    assert f"Le barème en vigueur depuis {year} a pu servir" in _err(capsys)
