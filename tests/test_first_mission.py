"""A new installation runs its first mission with the commands alone: `passerelles init` on an empty database, a
branch, its team, an association, volunteers from a CSV file, then the mission from request to bilan. No SQL, no
demo data; on SQLite and PostgreSQL, with a real Prefect server and a real SMTP server."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from deployments.cli import main
from models import Application, AuditEvent, Branch, Coordinator, FeeRecord, Mission, MissionStatus
from models.db import unit_of_work
from models.permissions import NO_IDENTITY
from tests import lifecycle_driver as d

pytestmark = pytest.mark.slow

CSV = """prenom;nom;email;competences;consentement_annonces
Élodie;Fontaine;elodie.fontaine@exemple.fr;site-web:3;oui
Marc;Weber;marc.weber@exemple.fr;Conception de site internet:2;oui
"""


def ok(*argv: str) -> str:
    """Run a command that must succeed; its standard output."""
    assert main(list(argv)) == 0, argv
    return ""


def test_first_mission_from_an_empty_database(prefect_server, app_db, mail_server, tmp_path, capsys) -> None:
    ok("init", "--sans-prefect")
    d.deploy()  # what `init` registers on the server (tested in test_workers), the lifecycle alone here
    ok("branch", "create", "--code", "mul", "--nom", "Mulhouse", "--region", "Grand Est", "--fondee-le", "2012-03-01")
    ok(
        "team",
        "add",
        "--prenom",
        "Anne",
        "--nom",
        "Ott",
        "--email",
        "Anne.Ott@PC.example",
        "--role",
        "Passerelle",
        "--antenne",
        "mulhouse",
    )
    ok(
        "team",
        "add",
        "--prenom",
        "Paul",
        "--nom",
        "Roth",
        "--email",
        "paul.roth@pc.example",
        "--role",
        "responsable d'antenne",
        "--antenne",
        "MUL",
    )
    ok(
        "association",
        "register",
        "--nom",
        "Âge d'Or Solidaire",
        "--antenne",
        "MUL",
        "--contact",
        "Rose Klein",
        "--email",
        "rose@agedor.example",
        "--budget",
        "45000",
        "--ville",
        "Mulhouse",
    )
    (tmp_path / "benevoles.csv").write_text(CSV, encoding="utf-8")
    ok("import-volunteers", str(tmp_path / "benevoles.csv"), "--antenne", "MUL")
    capsys.readouterr()

    # the lookup the issue found broken: accented capitals, another apostrophe, another case
    ok(
        "start-mission",
        "--association",
        "ÂGE D’OR SOLIDAIRE",
        "--passerelle",
        "anne.ott@pc.example",
        "--titre",
        "Un site pour nos bénévoles",
    )
    out = capsys.readouterr().out
    assert "Mission MUL-" in out
    with unit_of_work() as s:
        mission = s.scalars(select(Mission)).one()
        mission_id, reference = mission.id, mission.reference
        # the address keeps the case it was typed in (the domain lower-cased); it is found whatever the case
        assert mission.association.name == "Âge d'Or Solidaire" and mission.coordinator.email == "Anne.Ott@pc.example"
    run_id = out.split("; run ")[1].split()[0]

    drv = d.Driver(run_id)
    drv.run()
    form = drv.form()
    assert "à vérifier à cette rencontre (jamais validée)" in form["description"]
    assert "entered_by" not in form["schema"]["properties"]  # « Saisi par » is no choice any more
    accepted, _ = d.submit_form(run_id, {**d.needs_analysis(), "saisi_par": "Intrus <intrus@exemple.fr>"})
    assert not accepted  # the server refuses a field the form does not have; the form still waits
    # the branch lead fills this one in for Anne; the gateway stamps who he is (tests/test_gateway.py), the audit
    # names him
    drv.resume(d.needs_analysis(title="Un site pour nos bénévoles", entered_by="Paul Roth <paul.roth@pc.example>"))
    drv.resume(drv.shown_annonce())
    ok("apply", reference, "Élodie Fontaine", "--message", "Je suis intéressée")  # by name, accents and all
    assert main(["apply", reference, "marc.weber@exemple.fr", "--relais", "Marc Weber"]) == 1
    assert "son propre relais" in capsys.readouterr().err
    drv.resume(d.applications("MARC.WEBER@exemple.fr via elodie fontaine : vu grâce à Élodie"))
    labels = drv.form()["schema"]["properties"]["selected"]["items"]["enum"]
    assert len(labels) == 2
    drv.resume(d.selection(labels[:1]))
    drv.resume(drv.agreed_roadmap())
    drv.resume(d.check_in(decision="mission terminée : passer au bilan"))
    fr = drv.resume(d.review())
    assert fr.state is not None and fr.state.name == "Terminée"

    with unit_of_work() as s:
        done = s.get(Mission, mission_id)
        assert done is not None and done.status is MissionStatus.COMPLETED
        assert s.scalar(select(func.count()).select_from(Branch)) == 1
        assert s.scalar(select(func.count()).select_from(Coordinator)) == 2
        channels = {a.channel.value: a.relayed_by_id for a in s.scalars(select(Application))}
        assert len(channels) == 2 and channels["relay"] is not None  # Marc came through Élodie
        assert {f.kind.value for f in s.scalars(select(FeeRecord))} == {"membership", "search"}
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.mission_id == mission_id)))
    assert actions[0] == "request" and actions[-1] == "review"
    with unit_of_work() as s:
        query = select(AuditEvent.action, AuditEvent.actor).where(AuditEvent.mission_id == mission_id)
        actors = dict(s.execute(query).all())
    assert actors["needs-analysis"] == "Paul Roth" and actors["review"] == NO_IDENTITY  # sent past any gateway
    bills = sorted(m["Subject"] for m in mail_server.messages if m["X-Passerelles-Kind"] == "fee_bill")
    assert len(bills) == 2 and all(
        m["To"] == "rose@agedor.example" for m in mail_server.messages if m["X-Passerelles-Kind"] == "fee_bill"
    )
    assert "Anne.Ott@pc.example" in {m["To"] for m in mail_server.messages}


# fmt: off
REFUSALS = [
    (["branch", "create", "--code", "S1", "--nom", "X", "--region", "Y"], "Code d'antenne invalide"),
    (["branch", "create", "--code", "STR", "--nom", "Autre", "--region", "Y"], "déjà celui de l'antenne"),
    (["branch", "create", "--code", "STX", "--nom", "strasbourg", "--region", "Y"], "existe déjà"),
    (["branch", "create", "--code", "STX", "--nom", " ", "--region", "Y"], "nom de l'antenne est obligatoire"),
    (["branch", "update", "XYZ", "--nom", "Z"], "Antenne inconnue"),
    (["branch", "update", "STR"], "Rien à modifier"),
    (["team", "add", "--prenom", "A", "--nom", "B", "--email", "pas-une-adresse", "--role", "passerelle",
      "--antenne", "STR"], "« pas-une-adresse » n'a pas de « @ »"),
    (["team", "add", "--prenom", "A", "--nom", "B", "--email", "a@b.fr", "--role", "chef", "--antenne", "STR"],
     "Rôle inconnu"),
    (["team", "add", "--prenom", "A", "--nom", "B", "--email", "a@b.fr", "--role", "passerelle"],
     "rattaché(e) à une antenne"),
    (["team", "add", "--prenom", "A", "--nom", "B", "--email", "Claire.Muller@pc.example", "--role",
      "passerelle", "--antenne", "STR"], "déjà celle de Claire Muller"),
    (["team", "deactivate", "C-999"], "Membre de l'équipe inconnu"),
    (["association", "register", "--nom", "LES RESTOS DU QUARTIER", "--antenne", "STR", "--contact", "X",
      "--email", "x@y.fr", "--budget", "1000"], "déjà enregistrée"),
    (["association", "register", "--nom", "Nouvelle", "--antenne", "STR", "--contact", "X", "--email",
      "x@y.fr", "--budget", "-5"], "Le budget annuel « -5 » est négatif"),
    (["reassign", "--mission", "STR-1999-001", "--a", "claire.muller@pc.example"], "Aucune mission"),
    ]
# fmt: on


@pytest.mark.parametrize(("argv", "reason"), REFUSALS)
def test_organisation_commands_refuse_clearly_and_write_nothing(app_db, capsys, argv, reason) -> None:
    d.seed_small()

    def snapshot() -> tuple[int, ...]:
        with unit_of_work() as s:
            from models import Association

            return tuple(s.scalar(select(func.count()).select_from(m)) or 0 for m in (Branch, Coordinator, Association))

    before = snapshot()
    assert main(argv) == 1
    assert reason in capsys.readouterr().err
    assert snapshot() == before


def test_a_leaving_passerelle_hands_over_her_missions(app_db, capsys) -> None:
    d.seed_small()
    with unit_of_work() as s:
        first, second = d.new_mission(s, "Mission A").reference, d.new_mission(s, "Mission B").reference
    ok(
        "team",
        "add",
        "--prenom",
        "Léa",
        "--nom",
        "Brun",
        "--email",
        "lea.brun@pc.example",
        "--role",
        "passerelle",
        "--antenne",
        "STR",
    )
    assert main(["team", "deactivate", "claire.muller@pc.example"]) == 1
    assert "suit encore 2 mission(s) ouverte(s)" in capsys.readouterr().err
    ok("team", "deactivate", "claire.muller@pc.example", "--confier-a", "lea.brun@pc.example")
    with unit_of_work() as s:
        owners = {m.reference: m.coordinator.email for m in s.scalars(select(Mission))}
        claire = s.scalar(select(Coordinator).where(Coordinator.email == "claire.muller@pc.example"))
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "reassign")))
    assert owners == {first: "lea.brun@pc.example", second: "lea.brun@pc.example"}
    assert claire is not None and not claire.active
    assert {e.details["from"] for e in events} == {"Claire Muller"} and len(events) == 2
    # and back: one mission at a time, once Claire is active again
    assert main(["reassign", "--mission", first, "--a", "claire.muller@pc.example"]) == 1
    assert "inactive" in capsys.readouterr().err
    ok("team", "reactivate", "claire.muller@pc.example")
    ok("reassign", "--mission", first, "--a", "claire.muller@pc.example")
    with unit_of_work() as s:
        keys = [e.step_key for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "reassign"))]
    assert sorted(keys) == ["reassign-1", "reassign-1", "reassign-2"]
