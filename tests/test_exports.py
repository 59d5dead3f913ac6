"""The CSV exports (missions, applications, fees) read back as a French spreadsheet reads them: BOM, `;`, accents,
JJ/MM/AAAA dates and decimal commas; a wrong period or an unknown branch refused in French with nothing written.
On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from deployments.cli import main
from models import Application, ApplicationStatus, Channel, FeeRecord, FeeStatus, Role, StoredFile
from models.db import unit_of_work
from models.exports import date_cell, decimal_cell
from models.reference_data import ensure_reference_data
from models.settings import get_settings
from tasks.missions import open_mission
from tests import factories as f


@pytest.fixture
def seeded(app_db: object) -> dict[str, str]:
    """Two branches, accented names; in Strasbourg a mission with two applications and two fees; in Mulhouse a
    mission of another year."""
    with unit_of_work() as s:
        ensure_reference_data(s)
        strasbourg = f.branch(s, "STR", name="Strasbourg – Bas-Rhin")
        mulhouse = f.branch(s, "MUL")
        claire = f.coordinator(s, strasbourg, "Claire", "Müller")
        f.coordinator(s, mulhouse, "Léa", "Brun")
        admin = f.coordinator(s, strasbourg, "Anne", "Admin", role=Role.ADMIN)
        equipe = f.association(s, strasbourg, "Équipe Solidarité « Noël »", contact_email="paul@equipe.example")
        other = f.association(s, mulhouse, "Café Mulhousien", contact_email="cafe@mul.example")
        m = open_mission(s, association=equipe, coordinator=claire, title="Créer un site ; « vitrine »", request="")
        m.requested_at = datetime(2026, 3, 14, 23, 30, tzinfo=UTC)  # 15/03 in Paris
        m.published_at = datetime(2026, 4, 1, 10, tzinfo=UTC)
        old = open_mission(s, association=other, coordinator=claire, title="Comptes annuels", request="")
        old.requested_at, old.cancelled_at = datetime(2025, 1, 5, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC)
        v1 = f.volunteer(s, strasbourg, first_name="Hélène", last_name="Zoé", email="helene@exemple.fr")
        v2 = f.volunteer(s, strasbourg, first_name="Jérôme", last_name="Ott", email="jerome@exemple.fr")
        s.add_all(
            [
                Application(
                    mission_id=m.id,
                    volunteer_id=v1.id,
                    channel=Channel.LINK,
                    status=ApplicationStatus.SELECTED,
                    score=0.875,
                    message="Mon téléphone : 06 00 00 00 00",
                    applied_at=datetime(2026, 4, 2, 8, tzinfo=UTC),
                    decided_at=datetime(2026, 4, 20, 8, tzinfo=UTC),
                ),
                Application(
                    mission_id=m.id,
                    volunteer_id=v2.id,
                    channel=Channel.RELAY,
                    relayed_by_id=v1.id,
                    applied_at=datetime(2026, 4, 3, 8, tzinfo=UTC),
                ),
            ]
        )
        s.flush()
        fees = {fee.key: fee for fee in s.scalars(select(FeeRecord))}  # what opening the missions billed
        for fee in fees.values():  # the Mulhouse ones fell due in 2025
            fee.due_on, fee.year = date(2025, 1, 5), 2025
        membership = fees[FeeRecord.membership_key(equipe.id, m.year)]
        membership.amount, membership.status, membership.due_on, membership.year = (
            120,
            FeeStatus.PAID,
            date(2026, 4, 30),
            2026,
        )
        membership.paid_on, membership.settled_by, membership.note = date(2026, 5, 2), "Claire Müller", "virement n° 12"
        search = fees[FeeRecord.search_key(m.id)]
        search.amount, search.due_on, search.year, search.billed_on = 250, date(2026, 6, 1), 2026, date(2026, 6, 2)
        return {"mission": m.reference, "old": old.reference, "admin": admin.email, "passerelle": claire.email}


def stored(name: str) -> bytes:
    """The newest export of that name, as the sign-in gateway serves it (tests/test_report_files.py)."""
    with unit_of_work() as s:
        content = s.scalars(select(StoredFile.content).where(StoredFile.name == name).order_by(StoredFile.id.desc()))
        return content.first() or b""


def nothing_stored() -> bool:
    with unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(StoredFile)) == 0


def read_back(source: Path | bytes) -> list[dict[str, str]]:
    """As a spreadsheet opens it: the BOM says UTF-8, `;` separates the cells."""
    raw = source if isinstance(source, bytes) else source.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "no byte-order mark"
    assert b"\r\n" in raw
    return list(csv.DictReader(io.StringIO(raw[3:].decode("utf-8"), newline=""), delimiter=";"))


def test_cells_for_a_french_spreadsheet() -> None:
    assert date_cell(datetime(2026, 3, 14, 23, 30, tzinfo=UTC)) == "15/03/2026"  # the day in Paris
    assert date_cell(date(2026, 1, 2)) == "02/01/2026" and date_cell(None) == ""
    assert decimal_cell(1234) == "1234,00" and decimal_cell(0.875) == "0,88" and decimal_cell(None) == ""


def test_missions_applications_fees_read_back_as_a_spreadsheet(seeded: dict[str, str], tmp_path: Path, capsys) -> None:
    assert main(["export", "missions", "--du", "2026-01-01", "--au", "2026-12-31", "--antenne", "str"]) == 0
    out = capsys.readouterr().out
    assert "Export des missions (antenne STR du 01/01/2026 au 31/12/2026) : 1 ligne" in out
    with unit_of_work() as s:
        file_id = s.scalar(select(StoredFile.id).where(StoredFile.name == "missions-STR-2026-01-01_2026-12-31.csv"))
    url = f"{get_settings().public_base_url}/fichiers/{file_id}/missions-STR-2026-01-01_2026-12-31.csv"
    assert f"à télécharger après connexion (administrateurs) : {url}\n" in out  # kept in the database, no copy
    [row] = read_back(stored("missions-STR-2026-01-01_2026-12-31.csv"))
    assert row["Référence"] == seeded["mission"] and row["Antenne"] == "Strasbourg – Bas-Rhin"
    assert row["Association"] == "Équipe Solidarité « Noël »" and row["Intitulé"] == "Créer un site ; « vitrine »"
    assert row["Demandée le"] == "15/03/2026" and row["Annonce diffusée le"] == "01/04/2026"
    assert row["Passerelle"] == "Claire Müller" and row["Statut"] == "Demandée" and row["Annulée le"] == ""

    # all branches, a period covering 2025: the Mulhouse mission cancelled in February 2025 only
    assert main(["export", "missions", "--du", "2025-01-01", "--au", "2025-12-31"]) == 0
    [row] = read_back(stored("missions-toutes-antennes-2025-01-01_2025-12-31.csv"))
    assert row["Référence"] == seeded["old"] and row["Annulée le"] == "01/02/2025" and row["Statut"] == "Demandée"

    target = tmp_path / "candidatures.csv"
    assert main(["export", "candidatures", "--du", "2026-04-01", "--au", "2026-04-30", "--antenne", "STR,MUL",
                 "--sortie", str(target)]) == 0  # fmt: skip
    assert f"copie écrite dans {target.resolve()}" in capsys.readouterr().out
    assert target.read_bytes() == stored("candidatures-MUL-STR-2026-04-01_2026-04-30.csv")  # and kept
    rows = read_back(target)
    assert [(r["Bénévole"], r["Canal"], r["Par le relais"], r["Statut"], r["Score"], r["Reçue le"]) for r in rows] == [
        ("V-0001", "lien de l'annonce", "", "Retenue", "0,88", "02/04/2026"),
        ("V-0002", "par un relais", "V-0001", "Reçue", "", "03/04/2026"),
    ]
    raw = target.read_bytes().decode("utf-8-sig")
    for personal in ("Hélène", "helene@exemple.fr", "06 00", "paul@equipe.example"):
        assert personal not in raw  # volunteers by number only; no message, no contact

    assert main(["export", "cotisations", "--du", "2026-01-01", "--au", "2026-12-31"]) == 0
    fees = read_back(stored("cotisations-toutes-antennes-2026-01-01_2026-12-31.csv"))
    shown = [
        (r["Nature"], r["Montant (€)"], r["État"], r["Due le"], r["Facturée le"], r["Payée le"], r["Mission"])
        for r in fees
    ]
    assert shown == [  # one line per fee, its state in the words of the command and the report
        ("Cotisation annuelle", "120,00", "Payée", "30/04/2026", "", "02/05/2026", ""),
        (
            "Participation aux frais de recherche",
            "250,00",
            "Facturée",
            "01/06/2026",
            "02/06/2026",
            "",
            seeded["mission"],
        ),
    ]
    assert fees[0]["Moyen de paiement"] == "virement n° 12" and fees[0]["Notée par"] == "Claire Müller"
    assert fees[0]["Motif de l'exonération"] == "" and fees[0]["Association"] and fees[0]["Année"] == "2026"


def test_wrong_period_unknown_branch_or_export_refused_in_french(seeded: dict[str, str], capsys) -> None:
    assert main(["export", "missions", "--du", "2026-12-31", "--au", "2026-01-01"]) == 1
    assert "Refusé : La date de fin précède la date de début" in capsys.readouterr().err
    assert main(["export", "cotisations", "--du", "2026-01-01", "--au", "2026-12-31",
                 "--antenne", "STR", "--antenne", "XYZ"]) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert "Antenne inconnue : XYZ" in err and "Antennes connues : MUL, STR" in err
    assert main(["export", "benevoles", "--du", "2026-01-01", "--au", "2026-12-31"]) == 1
    assert "Export inconnu : « benevoles ». Exports possibles : missions, candidatures, cotisations." in (
        capsys.readouterr().err
    )
    with pytest.raises(SystemExit):
        main(["export", "missions", "--du", "31/12/2026", "--au", "2026-12-31"])
    assert "date invalide « 31/12/2026 » (AAAA-MM-JJ attendu)" in capsys.readouterr().err
    assert nothing_stored()


def test_only_admins_export(seeded: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("PASSERELLES_TOKEN", f.token_for(seeded["passerelle"]))
    assert main(["export", "missions", "--du", "2026-01-01", "--au", "2026-12-31"]) == 1
    assert "Claire Müller (Passerelle) ne peut pas exporter les données." in capsys.readouterr().err
    assert nothing_stored()
    monkeypatch.setenv("PASSERELLES_TOKEN", f.token_for(seeded["admin"]))
    assert main(["export", "missions", "--du", "2026-01-01", "--au", "2026-12-31"]) == 0
    assert len(read_back(stored("missions-toutes-antennes-2026-01-01_2026-12-31.csv"))) == 1


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_admin_flow_keeps_the_file_and_links_it_or_refuses(prefect_server: object, seeded: dict[str, str]) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows import admin

    choice = admin.ExportChoice["FEES"]
    state = admin.export_data(donnees=choice, debut=date(2026, 12, 31), fin=date(2026, 1, 1), return_state=True)
    assert state.is_failed() and "Refusé : La date de fin précède la date de début" in str(state.message)
    state = admin.export_data(
        donnees=choice, debut=date(2026, 1, 1), fin=date(2026, 12, 31), antennes=["XYZ"], return_state=True
    )
    assert state.is_failed() and "Antenne inconnue : XYZ" in str(state.message)
    assert nothing_stored()

    state = admin.export_data(
        donnees=choice, debut=date(2026, 1, 1), fin=date(2026, 12, 31), antennes=["str"], return_state=True
    )
    assert state.is_completed(), state.message
    name = "cotisations-STR-2026-01-01_2026-12-31.csv"
    with unit_of_work() as s:
        row = s.scalars(select(StoredFile).where(StoredFile.name == name)).one()
        assert (row.kind, row.branches, row.created_by) == ("export", "STR", "système (run lancé sans identité)")
        url = f"{get_settings().public_base_url}/fichiers/{row.id}/{name}"
    assert f"2 lignes, à télécharger après connexion (administrateurs) : {url}" in str(state.message)
    assert [r["Montant (€)"] for r in read_back(stored(name))] == ["120,00", "250,00"]
    with get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]))
        )
    assert artifact.key == "cotisations-str-2026-01-01-2026-12-31" and artifact.type == "markdown"
    assert artifact.data == f"[Export CSV des cotisations]({url})"  # a link to the file, not what it holds
    with get_client(sync_client=True) as client:  # the run's name says what, where and when (issue 25)
        run_id = state.state_details.flow_run_id
        assert run_id is not None
        run = client.read_flow_run(run_id)
    assert run.name == "export-cotisations-STR-2026-01-01_2026-12-31"
