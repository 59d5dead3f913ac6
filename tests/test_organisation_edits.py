"""Correcting what was entered (issue 25, point 1) through the command line, on SQLite and PostgreSQL: an
association's contact, budget and city, its archive; a team member's name and e-mail (the same member, signed in
again with the new address); a branch's name and founding date. Each slip refused in French with nothing written,
each edit kept in the access log with who and why. The Prefect UI's forms: test_admin_flows.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from deployments.cli import main
from models import AccessLog, Association, Branch, Coordinator, MemberSession, Mission, MissionStatus, Role, SignInLink
from models.base import utcnow
from models.db import unit_of_work
from models.refusals import StepRefused
from tasks import identity
from tests import factories as f
from tests import lifecycle_driver as d


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err


def _audit(event: str) -> list[tuple[str, str, str]]:
    with unit_of_work() as s:
        rows = s.scalars(select(AccessLog).where(AccessLog.event == event).order_by(AccessLog.id))
        return [(r.who, r.target, r.detail) for r in rows]


def test_association_update_refuses_the_slips_and_keeps_who_and_why(app_db, capsys, monkeypatch) -> None:
    d.seed_small()
    with unit_of_work() as s:
        branch = s.scalar(select(Branch).where(Branch.code == "STR"))
        assert branch is not None
        f.association(s, branch, "Jardins Partagés", contact_email="zoe@jardins.example", annual_budget=12_000, city="")
        f.coordinator(s, branch, "Sonia", "Kern", role=Role.SUPPORT)
    monkeypatch.setenv("PASSERELLES_TOKEN", f.token_for("sonia.kern@pc.example"))
    update = ["association", "update", "jardins partages"]
    assert main([*update, "--motif", "erreur de saisie"]) == 1
    assert _err(capsys) == (
        "Refusé : Rien à modifier : indiquez un contact, une adresse e-mail, un budget ou une ville.\n"
    )
    assert main([*update, "--budget", "24 000 €"]) == 1
    assert _err(capsys) == ("Refusé : Indiquez le motif de la modification : il est gardé avec elle, avec votre nom.\n")
    assert main([*update, "--budget", "24k", "--motif", "budget 2026"]) == 1
    err = _err(capsys)
    assert err.startswith("Refusé : Le budget annuel « 24k » n'est pas un montant en euros") and "invalid" not in err
    assert main([*update, "--email", "Zoé@jardins.example", "--motif", "nouvelle présidente"]) == 1
    assert "contient « é » avant le « @ » : la plupart des serveurs de messagerie refusent" in _err(capsys)
    assert main([*update, "--email", "Contact@Restos.example", "--motif", "nouvelle présidente"]) == 1
    assert _err(capsys) == (
        "À confirmer : L'adresse Contact@restos.example est déjà celle du contact de « Les Restos du Quartier » : "
        "les mails des deux associations (annonces à approuver, factures, annulations) iraient à la même "
        "personne.\nSi c'est voulu, relancez la commande avec --confirmer.\n"
    )
    assert main(["association", "update", "Jardins Partajés", "--ville", "Colmar", "--motif", "x"]) == 1
    assert "Association inconnue : « Jardins Partajés ». Vouliez-vous dire : Jardins Partagés ?" in _err(capsys)
    with unit_of_work() as s:
        a = s.scalar(select(Association).where(Association.name == "Jardins Partagés"))
        assert a is not None and (a.annual_budget, a.contact_email, a.city) == (12_000, "zoe@jardins.example", "")
    assert _audit("association_updated") == []  # nothing written, nothing audited

    done = [*update, "--budget", "24\u202f000 €", "--ville", " Colmar ", "--contact", "Zoé Martin"]
    assert main([*done, "--email", "Zoe.Martin@Jardins.example", "--motif", "nouvelle présidente"]) == 0
    out = capsys.readouterr().out
    assert "Association « Jardins Partagés » modifiée : contact : Paul Weber → Zoé Martin ; e-mail du contact : " in out
    assert "budget annuel : 12000 → 24000 ; ville : (vide) → Colmar." in out
    assert "Les cotisations déjà dues gardent leur montant." in out
    with unit_of_work() as s:
        a = s.scalar(select(Association).where(Association.name == "Jardins Partagés"))
        assert a is not None
        assert (a.annual_budget, a.contact_email, a.city) == (24_000, "Zoe.Martin@jardins.example", "Colmar")
    [(who, target, detail)] = _audit("association_updated")
    assert who == "sonia.kern@pc.example" and target == f"association {a.id}"
    assert detail.endswith("ville : (vide) → Colmar — motif : nouvelle présidente")
    assert main([*update, "--ville", "Colmar", "--motif", "encore"]) == 1
    assert _err(capsys) == "Refusé : Rien de changé : ce qui est indiqué est déjà enregistré.\n"

    monkeypatch.setenv("PASSERELLES_TOKEN", f.token_for("claire.muller@pc.example"))
    assert main([*update, "--ville", "Sélestat", "--motif", "déménagement"]) == 1
    assert "Claire Muller (Passerelle) ne peut pas modifier une association." in _err(capsys)


def test_an_archived_association_gets_no_new_mission_until_reactivated(app_db, capsys) -> None:
    d.seed_small()
    with unit_of_work() as s:
        reference = d.new_mission(s).reference
    archive = ["association", "archive", "Les Restos du Quartier"]
    assert main(archive) == 1
    assert _err(capsys) == ("Refusé : Indiquez le motif de la modification : il est gardé avec elle, avec votre nom.\n")
    assert main([*archive, "--motif", "dissoute"]) == 1
    assert _err(capsys) == (
        f"Refusé : L'association « Les Restos du Quartier » a encore 1 mission(s) ouverte(s) ({reference}) : "
        "terminez-les ou annulez-les d'abord.\n"
    )
    with unit_of_work() as s:
        mission = s.scalar(select(Mission).where(Mission.reference == reference))
        assert mission is not None
        mission.status = MissionStatus.CANCELLED
    assert main([*archive, "--motif", "dissoute"]) == 0
    assert "archivée : plus de nouvelle mission ; son historique reste." in capsys.readouterr().out
    assert main([*archive, "--motif", "dissoute"]) == 1
    assert "Refusé : L'association « Les Restos du Quartier » est déjà archivée." in _err(capsys)
    with unit_of_work() as s, pytest.raises(StepRefused, match="est archivée : réactivez-la avant de lui ouvrir"):
        d.new_mission(s)
    assert main(["association", "list"]) == 0
    assert "Les Restos du Quartier — Strasbourg — Paul Weber <contact@restos.example> (archivée)" in (
        capsys.readouterr().out
    )
    assert main(["association", "reactivate", "les restos du quartier", "--motif", "reprise d'activité"]) == 0
    with unit_of_work() as s:
        d.new_mission(s)
    assert [(w, det) for w, _, det in _audit("association_archived")] == [
        ("système (ligne de commande sur le serveur)", "état : active → archivée — motif : dissoute")
    ]
    assert _audit("association_reactivated")[0][2] == "état : archivée → active — motif : reprise d'activité"


def test_a_team_members_name_and_email_are_corrected_and_they_stay_the_same_member(app_db, capsys) -> None:
    d.seed_small()
    with unit_of_work() as s:
        branch = s.scalar(select(Branch).where(Branch.code == "STR"))
        assert branch is not None
        f.coordinator(s, branch, "Anne", "Otte", email="anne.otte@pc.exmaple")  # two slips: the name and the domain
        reference = d.new_mission(s, passerelle="anne.otte@pc.exmaple").reference
    token = f.token_for("anne.otte@pc.exmaple")
    with unit_of_work() as s:
        assert identity.request_link(s, "anne.otte@pc.exmaple", base_url="http://gw")
    update = ["team", "update", "anne.otte@pc.exmaple"]
    assert main([*update, "--email", "anne.ott@pc.example"]) == 1
    assert _err(capsys) == ("Refusé : Indiquez le motif de la modification : il est gardé avec elle, avec votre nom.\n")
    assert main([*update, "--email", "Anne.Ött@pc.example", "--motif", "faute de frappe"]) == 1
    assert "contient « Ö » avant le « @ »" in _err(capsys)
    assert main([*update, "--email", "Claire.Muller@PC.example", "--motif", "faute de frappe"]) == 1
    assert _err(capsys) == "Refusé : L'adresse claire.muller@pc.example est déjà celle de Claire Muller.\n"
    assert main([*update, "--nom", " ", "--motif", "faute de frappe"]) == 1
    assert "Rien à modifier" in _err(capsys)
    with unit_of_work() as s:
        anne = s.scalar(select(Coordinator).where(Coordinator.last_name == "Otte"))
        assert anne is not None and anne.email == "anne.otte@pc.exmaple"
        anne_id = anne.id

    fixed = [*update, "--nom", "Ott", "--email", "Anne.Ott@pc.example", "--motif", "faute de frappe à la saisie"]
    assert main(fixed) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        f"C-{anne_id} Anne Ott modifié(e) : nom : Otte → Ott ; e-mail : anne.otte@pc.exmaple → Anne.Ott@pc.example."
    )
    assert "Ses sessions sont fermées : il/elle se reconnecte avec la nouvelle adresse." in out
    with unit_of_work() as s:
        anne = s.get(Coordinator, anne_id)
        assert anne is not None and (anne.full_name, anne.email, anne.active) == (
            "Anne Ott",
            "Anne.Ott@pc.example",
            True,
        )
        assert s.scalar(select(Mission.coordinator_id).where(Mission.reference == reference)) == anne_id
        assert identity.session_member(s, token, kind="token") is None  # opened with the old address: ended
        assert all(
            r.ended_at is not None
            for r in s.scalars(select(MemberSession).where(MemberSession.coordinator_id == anne_id))
        )
        link = s.scalar(select(SignInLink).where(SignInLink.coordinator_id == anne_id))
        assert link is not None and link.expires_at <= utcnow()  # the link mailed to the old address: void
        assert identity.active_member(s, "anne.otte@pc.exmaple") is None
        assert identity.request_link(s, "ANNE.OTT@pc.example", base_url="http://gw")  # the new one signs in
    [(who, target, detail)] = _audit("member_updated")
    assert who == "système (ligne de commande sur le serveur)" and target == f"C-{anne_id}"
    assert detail.endswith("— motif : faute de frappe à la saisie")
    assert main(["team", "update", f"C-{anne_id}", "--prenom", "Anne", "--motif", "x"]) == 1
    assert "Rien de changé" in _err(capsys)


def test_a_branch_founding_date_is_corrected_never_into_the_future(app_db, capsys) -> None:
    d.seed_small()
    update = ["branch", "update", "strasbourg"]
    tomorrow = utcnow().date() + timedelta(days=1)
    assert main([*update, "--fondee-le", tomorrow.isoformat(), "--motif", "date du procès-verbal"]) == 1
    assert f"Refusé : La date de création de l'antenne ({tomorrow:%d/%m/%Y}) est dans le futur" in _err(capsys)
    assert main([*update, "--fondee-le", "2009-03-14"]) == 1
    assert "Indiquez le motif de la modification" in _err(capsys)
    with pytest.raises(SystemExit) as exc:
        main([*update, "--fondee-le", "14/03/2009", "--motif", "x"])
    assert exc.value.code == 2
    assert "argument --fondee-le : date invalide « 14/03/2009 » (AAAA-MM-JJ attendu)" in _err(capsys)
    with unit_of_work() as s:
        assert s.scalar(select(Branch.founded_on).where(Branch.code == "STR")).isoformat() == "2008-01-01"  # type: ignore[union-attr]
    assert main([*update, "--fondee-le", "2009-03-14", "--nom", "Strasbourg Eurométropole", "--motif", "PV"]) == 0
    assert capsys.readouterr().out == (
        "Antenne STR modifiée : nom : Strasbourg → Strasbourg Eurométropole ; date de création : 01/01/2008 → "
        "14/03/2009.\n"
    )
    [(_, target, detail)] = _audit("branch_updated")
    assert target == "antenne STR" and detail.endswith("— motif : PV")


def test_a_corrected_contact_email_gets_the_mails_still_waiting_for_the_old_one(app_db, capsys) -> None:
    from models import MailStatus, OutboxMail
    from tasks.compose import MailContent
    from tasks.outbox import enqueue

    d.seed_small()
    with unit_of_work() as s:
        mission = d.new_mission(s)
        for about in ("waiting", "sent"):
            content = MailContent(subject=f"[{mission.reference}] {about}", text="Bonjour", html="")
            enqueue(s, mission_id=mission.id, kind="test", about=about, to="contact@restos.example", content=content)
        s.flush()
        sent = s.scalar(select(OutboxMail).where(OutboxMail.dedup_key.like("%:sent")))
        assert sent is not None
        sent.status = MailStatus.SENT
    argv = ["association", "update", "Les Restos du Quartier", "--email", "paul.weber@restos.example"]
    assert main([*argv, "--motif", "adresse du président"]) == 0
    with unit_of_work() as s:
        rows = dict(s.execute(select(OutboxMail.subject, OutboxMail.to_address).where(OutboxMail.kind == "test")).all())
    assert rows == {
        f"[{mission.reference}] waiting": "paul.weber@restos.example",
        f"[{mission.reference}] sent": "contact@restos.example",  # what went, went
    }
