"""Issue 25's acceptance: the trial of « the admin's second day », replayed through the command line as a new admin
would, on SQLite and PostgreSQL. Every slip the trial listed is refused with its French reason and writes nothing,
or is taken only once confirmed (`--confirmer`, `--remplacer-competences`); at the end the database holds what was
accepted, nothing else.

Each rule has its own test (tests/test_checks.py pure, tests/test_organisation_checks.py through the command line,
tests/test_admin_flows.py and tests/test_fee_edits.py through the forms); this is the story in sequence. The slips
that pass the checks are corrected afterwards with the edit commands (issue 25, point 1), each with its reason.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from deployments.admin import import_volunteers_command
from deployments.cli import main
from flows.admin import ExportChoice, export_run_name
from flows.regional_report import report_run_name
from models import (
    Association,
    Branch,
    Competence,
    Coordinator,
    FeeBracket,
    FeeRecord,
    FeeStatus,
    Mission,
    Role,
    Volunteer,
    VolunteerCompetence,
)
from models.base import utcnow
from models.db import unit_of_work
from tests import lifecycle_driver as d

CONFIRM = "Si c'est voulu, relancez la commande avec --confirmer.\n"


def test_the_second_day_every_slip_refused_or_confirmed(app_db: object, tmp_path: Path, capsys) -> None:
    def refused(argv: list[str], reason: str) -> str:
        """The command exits 1 with `reason` in French on stderr (and nothing of English)."""
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert reason in err, err
        assert "invalid" not in err and "Traceback" not in err
        return err

    def accepted(argv: list[str]) -> str:
        assert main(argv) == 0, capsys.readouterr().err
        return capsys.readouterr().out

    d.seed_small()  # the first day: Strasbourg, Claire (Passerelle), Jean (lead), « Les Restos du Quartier »
    today = utcnow().date()

    # A branch founded « 2030-01-01 »: refused (it stayed in the trial)
    colmar = ["branch", "create", "--code", "COL", "--nom", "Colmar", "--region", "Grand Est", "--fondee-le"]
    refused([*colmar, "2030-01-01"], "Refusé : La date de création de l'antenne (01/01/2030) est dans le futur")
    accepted([*colmar, "2019-09-01"])
    # A slip that passes the checks (a wrong but past date) is corrected afterwards, with a reason
    refused(["branch", "update", "COL", "--fondee-le", "2031-02-01", "--motif", "date du PV"], "dans le futur")
    accepted(["branch", "update", "COL", "--fondee-le", "2018-09-01", "--motif", "date du PV d'assemblée"])

    # « Émilie.Schmitt@… »: a non-ASCII part before the @ is refused, with the address to ask for instead
    emilie = ["team", "add", "--prenom", "Émilie", "--nom", "Schmitt", "--role", "passerelle", "--antenne", "COL"]
    err = refused([*emilie, "--email", "Émilie.Schmitt@pc.example"], "contient « É » avant le « @ »")
    assert "« Emilie.Schmitt@pc.example »" in err
    assert "<Emilie.Schmitt@pc.example>" in accepted([*emilie, "--email", "Emilie.Schmitt@pc.example"])
    # Her real address, the same member (no deactivated ghost): refused without a reason, then corrected
    fix = ["team", "update", "Emilie.Schmitt@pc.example", "--email", "emilie.schmitt@pc.example"]
    refused(fix, "motif")
    accepted([*fix, "--motif", "adresse mal recopiée"])

    # A second lead of Strasbourg: warned, taken once confirmed
    ines = ["team", "add", "--prenom", "Inès", "--nom", "Haas", "--email", "ines.haas@pc.example"]
    ines += ["--role", "responsable d'antenne", "--antenne", "STR"]
    err = refused(ines, "À confirmer : L'antenne Strasbourg a déjà un(e) responsable : Jean Kieffer.")
    assert err.endswith(CONFIRM)
    accepted([*ines, "--confirmer"])

    # An association: its contact's address is already « Les Restos du Quartier »'s; a budget as people write it
    epicerie = ["association", "register", "--nom", "Épicerie Solidaire", "--antenne", "COL", "--contact", "Luc"]
    err = refused(
        [*epicerie, "--email", "Contact@Restos.example", "--budget", "24 000 €"],
        "À confirmer : L'adresse Contact@restos.example est déjà celle du contact de « Les Restos du Quartier »",
    )
    assert err.endswith(CONFIRM)
    for typed in ("24k", "-24000"):  # budget errors in French (was: « invalid int value »)
        refused([*epicerie, "--email", "luc@epicerie.example", "--budget", typed], f"Le budget annuel « {typed} »")
    out = accepted([*epicerie, "--email", "Contact@Restos.example", "--budget", "24 000 €", "--confirmer"])
    assert "budget 24000 €" in out
    # Its own contact address, once the association gives it
    own = ["association", "update", "Épicerie Solidaire", "--email", "luc@epicerie.example"]
    accepted([*own, "--motif", "adresse du contact reçue"])

    # A fee schedule starting in a past year: refused; next year's accepted
    brackets = "0-20000:60:120, 20000-:150:300"
    refused(
        ["fees", "schedule", "--a-partir-de", str(today.year - 1), "--tranches", brackets],
        f"Refusé : Un barème ne part pas d'une année passée ({today.year - 1})",
    )
    accepted(["fees", "schedule", "--a-partir-de", str(today.year + 1), "--tranches", brackets])
    # A schedule entered by mistake is removed while it is not in force, with a reason; the one in force stays
    refused(["fees", "remove-schedule", "2008", "--motif", "erreur"], "Le barème à partir de 2008 est en vigueur")
    refused(["fees", "remove-schedule", str(today.year + 1), "--motif", " "], "Indiquez le motif")
    accepted(["fees", "remove-schedule", str(today.year + 1), "--motif", "tranches d'un autre réseau"])

    # A payment dated 2019 for this year's fee, or tomorrow: refused; on the day it fell due, recorded
    with unit_of_work() as s:
        d.new_mission(s)
        fee = s.scalars(select(FeeRecord).order_by(FeeRecord.id)).first()
        assert fee is not None
        ref, due_on = f"F-{fee.id}", fee.due_on
    refused(["fees", "pay", ref, "--le", "2019-05-03"], "Refusé : La date du paiement (03/05/2019) précède celle")
    refused(["fees", "pay", ref, "--le", (today + timedelta(days=1)).isoformat()], "est dans le futur")
    accepted(["fees", "pay", ref, "--le", due_on.isoformat()])
    # A payment recorded by mistake: its correction checks the date as the payment did; cancelled with a reason,
    # the fee is owed again, then recorded when it really comes
    refused(["fees", "correct", ref, "--le", "2019-05-03", "--motif", "date"], "précède celle de la cotisation")
    assert "elle est de nouveau due." in accepted(["fees", "cancel", ref, "--motif", "chèque sans provision"])
    accepted(["fees", "pay", ref, "--le", due_on.isoformat(), "--note", "virement"])

    # The new branch takes over its neighbour's mission: refused to its own branch, moved with a reason
    with unit_of_work() as s:
        mission_ref = s.scalars(select(Mission.reference)).one()
    refused(["move-mission", mission_ref, "--antenne", "STR", "--motif", "reprise"], "est déjà de l'antenne STR")
    out = accepted(
        [
            "move-mission",
            mission_ref,
            "--antenne",
            "COL",
            "--a",
            "emilie.schmitt@pc.example",
            "--motif",
            "l'association est à Colmar",
        ]
    )
    assert "confiée à l'antenne COL (Colmar), suivie par Émilie Schmitt" in out

    # A volunteer updated by CSV: the competences the file omits are kept (said in the dry run), removed only
    # with --remplacer-competences
    source = tmp_path / "mise-a-jour.csv"
    source.write_text(
        "prenom;nom;email;antenne;competences\nPrénom1;Nom1;benevole1@exemple.fr;STR;comptabilite:2\n", "utf-8"
    )
    assert import_volunteers_command([str(source), "--essai"]) == 0
    out = capsys.readouterr().out
    assert "Compétences absentes du fichier, gardées : 1 bénévole(s) ; pour les retirer, relancez avec " in out
    assert import_volunteers_command([str(source)]) == 0
    assert "— gardées : site-web:" in capsys.readouterr().out

    # Two reports, or two exports, over other branches are told apart by their run's name
    year = {"debut": date(2026, 1, 1), "fin": date(2026, 12, 31)}
    assert report_run_name({**year, "antennes": ["str"]}) == "rapport-STR-2026-01-01_2026-12-31"
    assert report_run_name({**year, "antennes": ["COL"]}) == "rapport-COL-2026-01-01_2026-12-31"
    assert report_run_name({**year, "antennes": []}) == "rapport-national-2026-01-01_2026-12-31"
    fees = {**year, "donnees": ExportChoice["FEES"].value}
    assert export_run_name({**fees, "antennes": ["COL"]}) == "export-cotisations-COL-2026-01-01_2026-12-31"

    # What the day left: what was accepted or confirmed, nothing of the slips
    with unit_of_work() as s:
        assert s.scalar(select(Branch.founded_on).where(Branch.code == "COL")) == date(2018, 9, 1)
        assert set(s.scalars(select(Coordinator.email).where(Coordinator.last_name.in_(["Schmitt", "Haas"])))) == {
            "emilie.schmitt@pc.example",
            "ines.haas@pc.example",
        }
        assert s.scalar(select(Association.contact_email).where(Association.name == "Épicerie Solidaire")) == (
            "luc@epicerie.example"
        )
        leads = s.scalars(select(Coordinator.last_name).where(Coordinator.role == Role.BRANCH_LEAD)).all()
        assert sorted(leads) == ["Haas", "Kieffer"]
        budgets = dict(s.execute(select(Association.name, Association.annual_budget)).all())
        assert budgets == {"Les Restos du Quartier": 80_000, "Épicerie Solidaire": 24_000}
        assert set(s.scalars(select(FeeBracket.valid_from))) == {2008}  # the past year refused, the next removed
        assert s.scalars(select(Mission.branch_id)).one() == s.scalar(select(Branch.id).where(Branch.code == "COL"))
        paid = s.get(FeeRecord, int(ref[2:]))
        assert paid is not None and (paid.status, paid.paid_on) == (FeeStatus.PAID, due_on)
        kept = s.scalars(
            select(Competence.code)
            .join(VolunteerCompetence, VolunteerCompetence.competence_id == Competence.id)
            .join(Volunteer, Volunteer.id == VolunteerCompetence.volunteer_id)
            .where(Volunteer.email == "benevole1@exemple.fr")
        )
        assert set(kept) == {"site-web", "comptabilite"}
