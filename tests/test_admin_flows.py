"""The organisation's data from the Prefect UI: the admin flows on a real Prefect server, refusals included."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from flows import admin
from models import Association, Branch, Coordinator, Role
from models.db import unit_of_work
from tests import lifecycle_driver as d

# The forms' path is Prefect's, not the dialect's (the organisation's rules run on both databases in
# test_first_mission): on the production database only.
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]


def test_admin_flows_apply_or_refuse_in_french(prefect_server, app_db) -> None:
    d.seed_small()
    state = admin.create_branch(code="col", nom="Colmar", region="Grand Est", return_state=True)
    assert state.is_completed() and "Antenne COL « Colmar »" in (state.message or "")
    state = admin.create_branch(code="COL", nom="Autre", region="Grand Est", return_state=True)
    assert state.is_failed() and state.message == "Refusé : Le code COL est déjà celui de l'antenne Colmar."

    lead = admin.RoleChoice["BRANCH_LEAD"]
    state = admin.add_team_member(
        prenom="Inès", nom="Haas", email="ines.haas@pc.example", role=lead, antenne="colmar", return_state=True
    )
    assert state.is_completed(), state.message
    state = admin.add_team_member(prenom="X", nom="Y", email="@@", role=lead, antenne="COL", return_state=True)
    assert state.is_failed() and "L'adresse e-mail « @@ » a plusieurs « @ »" in (state.message or "")

    state = admin.register_association(
        nom="Épicerie Solidaire",
        antenne="COL",
        contact="Luc",
        email="luc@epi.example",
        budget="12000",
        return_state=True,
    )
    assert state.is_completed(), state.message
    state = admin.register_association(
        nom="EPICERIE SOLIDAIRE",
        antenne="COL",
        contact="Luc",
        email="luc@epi.example",
        budget="12000",
        return_state=True,
    )
    assert state.is_failed() and "déjà enregistrée" in (state.message or "")

    state = admin.reassign_missions(a="ines.haas@pc.example", return_state=True)
    assert state.is_failed() and "soit une mission, soit la Passerelle" in (state.message or "")
    with unit_of_work() as s:
        assert s.scalar(select(Branch).where(Branch.code == "COL")) is not None
        ines = s.scalar(select(Coordinator).where(Coordinator.email == "ines.haas@pc.example"))
        assert (
            ines is not None and ines.role is Role.BRANCH_LEAD and ines.branch is not None and ines.branch.code == "COL"
        )
        assert [a.name for a in s.scalars(select(Association).where(Association.name_key == "epicerie solidaire"))] == [
            "Épicerie Solidaire"
        ]


def test_admin_forms_refuse_the_slips_or_ask_for_je_confirme(prefect_server, app_db) -> None:
    """The trial of issue 25 through the UI's forms: the same rules as the command (tests/test_organisation_checks.py),
    a refusal or « Je confirme » as the run's message, nothing written until it is right."""
    from datetime import date

    from models import FeeBracket, FeeRecord, FeeStatus
    from models.base import utcnow

    d.seed_small()
    state = admin.create_branch(
        code="COL", nom="Colmar", region="Grand Est", fondee_le=date(2030, 1, 1), return_state=True
    )
    assert state.is_failed() and "La date de création de l'antenne (01/01/2030) est dans le futur" in (
        state.message or ""
    )

    lead = admin.RoleChoice["BRANCH_LEAD"]
    state = admin.add_team_member(
        prenom="Émilie", nom="Schmitt", email="Émilie.Schmitt@pc.example", role=lead, antenne="STR", return_state=True
    )
    assert state.is_failed() and "la plupart des serveurs de messagerie refusent ces adresses" in (state.message or "")
    form = {"prenom": "Émilie", "nom": "Schmitt", "email": "Emilie.Schmitt@pc.example", "role": lead, "antenne": "STR"}
    state = admin.add_team_member(**form, return_state=True)
    assert state.is_failed() and state.message == (
        "À confirmer : L'antenne Strasbourg a déjà un(e) responsable : Jean Kieffer. Les alertes des missions à risque "
        "iront à chacun(e). Si c'est voulu, cochez « Je confirme » et relancez."
    )
    state = admin.add_team_member(**form, je_confirme=True, return_state=True)
    assert state.is_completed() and "<Emilie.Schmitt@pc.example>" in (state.message or "")

    association = {"nom": "Épicerie Solidaire", "antenne": "STR", "contact": "Luc", "email": "Contact@Restos.example"}
    state = admin.register_association(**association, budget="24k", return_state=True)
    assert state.is_failed() and "Le budget annuel « 24k » n'est pas un montant en euros" in (state.message or "")
    state = admin.register_association(**association, budget="24 000 €", return_state=True)
    assert state.is_failed() and "déjà celle du contact de « Les Restos du Quartier »" in (state.message or "")
    assert "cochez « Je confirme »" in (state.message or "")
    state = admin.register_association(**association, budget="24 000 €", je_confirme=True, return_state=True)
    assert state.is_completed() and "(budget 24000 €)" in (state.message or "")

    with unit_of_work() as s:
        d.new_mission(s)
        fee = s.scalars(select(FeeRecord).order_by(FeeRecord.id)).first()
        assert fee is not None
        ref = f"F-{fee.id}"
    state = admin.record_fee(cotisation=ref, decision=admin.FeeDecision.PAID, le=date(2019, 5, 3), return_state=True)
    assert state.is_failed() and "La date du paiement (03/05/2019) précède celle de la cotisation" in (
        state.message or ""
    )
    past = utcnow().date().year - 1
    state = admin.set_fee_schedule(a_partir_de=past, tranches="0-20000:60:120, 20000-:150:300", return_state=True)
    assert state.is_failed() and f"Un barème ne part pas d'une année passée ({past})" in (state.message or "")
    with unit_of_work() as s:
        assert s.scalar(select(Branch).where(Branch.code == "COL")) is None
        assert s.get(FeeRecord, fee.id).status is FeeStatus.DUE  # type: ignore[union-attr]
        assert set(s.scalars(select(FeeBracket.valid_from))) == {2008}
        assert s.scalar(select(Association.annual_budget).where(Association.name_key == "epicerie solidaire")) == 24000


def _running_mission() -> str:
    """The run of a mission of Claire Muller's, waiting at the needs analysis."""
    d.deploy()
    d.seed_small()
    _, run_id = d.open_and_start()
    d.Driver(run_id).run()  # the run attaches itself to the mission and waits at the needs analysis
    assert "passerelle:claire.muller" in d.Driver(run_id).read().tags
    return run_id


def test_reassigning_a_running_mission_retags_its_run(prefect_server, app_db) -> None:
    run_id = _running_mission()
    state = admin.add_team_member(
        prenom="Léa",
        nom="Brun",
        email="lea.brun@pc.example",
        role=admin.RoleChoice["PASSERELLE"],
        antenne="STR",
        return_state=True,
    )
    assert state.is_completed()
    state = admin.deactivate_team_member(
        membre="claire.muller@pc.example", confier_a="lea.brun@pc.example", return_state=True
    )
    assert state.is_completed() and "Missions confiées" in (state.message or "")
    tags = d.Driver(run_id).read().tags
    assert "passerelle:lea.brun" in tags and "passerelle:claire.muller" not in tags and "antenne:STR" in tags


def test_volunteer_form_and_command_change_consents_archive_and_refuse(prefect_server, app_db, capsys) -> None:
    from deployments.cli import main
    from models import Availability, Volunteer

    d.seed_small()
    state = admin.update_volunteer(
        benevole="prénom1 NOM1",
        disponibilite=admin.AvailabilityChoice["LIMITED"],
        national=admin.YesNo.YES,
        return_state=True,
    )
    assert state.is_completed() and "disponibilité : peu disponible" in (state.message or "")
    state = admin.update_volunteer(benevole="V-0001", return_state=True)
    assert state.is_failed() and "Rien à modifier" in (state.message or "")
    assert main(["volunteer", "archive", "benevole2@exemple.fr"]) == 0
    assert main(["volunteer", "archive", "V-2"]) == 1
    assert "déjà archivé(e)" in capsys.readouterr().err
    assert main(["volunteer", "update", "Inconnu Total", "--annonces", "non"]) == 1
    assert "Bénévole inconnu" in capsys.readouterr().err
    with unit_of_work() as s:
        v1, v2 = (s.scalars(select(Volunteer).where(Volunteer.id == i)).one() for i in (1, 2))
        assert v1.availability is Availability.LIMITED and v1.consent_national
        assert v2.archived_at is not None and not v2.reachable
    assert main(["volunteer", "reactivate", "V-2"]) == 0


def test_edit_forms_correct_or_refuse_in_french(prefect_server, app_db) -> None:
    """Issue 25, point 1, from the UI's forms: the same actions as the command (tests/test_organisation_edits.py),
    each slip the run's French message with nothing written."""
    from datetime import date, timedelta

    from models import AccessLog
    from models.base import utcnow

    d.seed_small()
    assoc = {"association": "les restos du quartier"}
    state = admin.update_association(**assoc, budget="24 000 €", return_state=True)
    assert state.is_failed() and state.message == (
        "Refusé : Indiquez le motif de la modification : il est gardé avec elle, avec votre nom."
    )
    state = admin.update_association(**assoc, budget="24 000,50", motif="budget voté", return_state=True)
    assert state.is_failed() and "Le budget annuel « 24 000,50 » a des centimes" in (state.message or "")
    state = admin.update_association(**assoc, email="paul@@restos.example", motif="x", return_state=True)
    assert state.is_failed() and "a plusieurs « @ »" in (state.message or "")
    state = admin.update_association(**assoc, budget="24 000 €", ville="Colmar", motif="budget voté", return_state=True)
    assert state.is_completed() and state.message == (
        "Association « Les Restos du Quartier » modifiée : budget annuel : 80000 → 24000 ; ville : Strasbourg → "
        "Colmar. Les cotisations déjà dues gardent leur montant."
    )

    state = admin.archive_association(**assoc, return_state=True)
    assert state.is_failed() and "Indiquez le motif" in (state.message or "")
    state = admin.archive_association(**assoc, motif="dissoute", return_state=True)
    assert state.is_completed() and "archivée" in (state.message or "")
    state = admin.archive_association(**assoc, motif="dissoute", return_state=True)
    assert state.is_failed() and state.message == "Refusé : L'association « Les Restos du Quartier » est déjà archivée."
    state = admin.archive_association(**assoc, motif="reprise", reactiver=True, return_state=True)
    assert state.is_completed() and state.message == "Association « Les Restos du Quartier » réactivée."

    member = {"membre": "claire.muller@pc.example", "motif": "faute de frappe"}
    state = admin.update_team_member(**member, email="Jean.Kieffer@pc.example", return_state=True)
    assert state.is_failed() and state.message == (
        "Refusé : L'adresse jean.kieffer@pc.example est déjà celle de Jean Kieffer."
    )
    state = admin.update_team_member(**member, email="Clairé.Muller@pc.example", return_state=True)
    assert state.is_failed() and "contient « é » avant le « @ »" in (state.message or "")
    state = admin.update_team_member(**member, nom="Müller", email="Claire.Mueller@pc.example", return_state=True)
    assert state.is_completed() and (state.message or "").startswith("C-1 Claire Müller modifié(e) : nom : Muller")

    tomorrow = utcnow().date() + timedelta(days=1)
    state = admin.update_branch(antenne="STR", fondee_le=tomorrow, motif="PV", return_state=True)
    assert state.is_failed() and f"La date de création de l'antenne ({tomorrow:%d/%m/%Y}) est dans le futur" in (
        state.message or ""
    )
    state = admin.update_branch(antenne="STR", fondee_le=date(2009, 3, 14), motif="PV", return_state=True)
    assert (
        state.is_completed() and state.message == "Antenne STR modifiée : date de création : 01/01/2008 → 14/03/2009."
    )

    with unit_of_work() as s:
        a = s.scalar(select(Association).where(Association.name_key == "les restos du quartier"))
        assert a is not None and (a.annual_budget, a.city, a.archived_at) == (24_000, "Colmar", None)
        claire = s.scalar(select(Coordinator).where(Coordinator.email == "Claire.Mueller@pc.example"))
        assert claire is not None and claire.full_name == "Claire Müller"
        events = [
            (r.who, r.event, r.detail.split(" — motif : ")[1])
            for r in s.scalars(select(AccessLog).where(AccessLog.event.not_like("signin%")).order_by(AccessLog.id))
        ]
    system = "système (run lancé sans identité)"
    assert events == [
        (system, "association_updated", "budget voté"),
        (system, "association_archived", "dissoute"),
        (system, "association_reactivated", "reprise"),
        (system, "member_updated", "faute de frappe"),
        (system, "branch_updated", "PV"),
    ]


def test_a_new_email_retags_the_runs_of_the_members_open_missions(prefect_server, app_db) -> None:
    run_id = _running_mission()
    state = admin.update_team_member(
        membre="claire.muller@pc.example", email="claire.weber@pc.example", motif="mariage", return_state=True
    )
    assert state.is_completed(), state.message
    tags = d.Driver(run_id).read().tags
    assert "passerelle:claire.weber" in tags and "passerelle:claire.muller" not in tags and "antenne:STR" in tags
