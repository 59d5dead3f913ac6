"""The daily digest of a team member (issue 23, deliver 6): pure rules, then a real Prefect server whose mission
runs really wait at their forms, a real SMTP server, and two Passerelles: each digest lists exactly what waits for
its reader and nothing of the other's; nothing is sent to whom has nothing to do, and at most one a day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from models import Branch, Coordinator, Mission, Role
from models.base import utcnow
from models.db import unit_of_work
from models.digest import Digest, NewRequest, digest_about, digest_day
from models.org import digest_by_default
from models.refusals import StepRefused
from tasks import admin_actions
from tasks.digest import send_digests
from tasks.runs import start_run
from tests import factories as f
from tests import lifecycle_driver as d


def test_digest_rules() -> None:
    assert Digest().empty and Digest().items == 0
    one = Digest(requests=(NewRequest("STR-2026-001", "Restos", "Site", utcnow()),))
    assert not one.empty and one.items == 1
    # the day is Paris's: 23:30 UTC on 7 December is already the 8th there
    assert digest_day(datetime(2026, 12, 7, 23, 30, tzinfo=UTC)) == date(2026, 12, 8)
    assert digest_about(12, date(2026, 12, 8)) == "c12:2026-12-08"
    assert digest_by_default(Role.PASSERELLE) and not digest_by_default(Role.BRANCH_LEAD)
    assert not digest_by_default(Role.SUPPORT) and not digest_by_default(Role.ADMIN)


def test_a_new_passerelle_gets_the_digest_and_a_lead_does_not(session) -> None:
    b = f.branch(session)
    claire = f.coordinator(session, b)
    lead = f.coordinator(session, b, "Jean", "Kieffer", role=Role.BRANCH_LEAD)
    session.commit()
    assert claire.daily_digest is True and lead.daily_digest is False
    done = admin_actions.set_member_digest(session, lead.email, on=True, actor="")
    assert lead.daily_digest is True and "recevra" in done.message
    with pytest.raises(StepRefused, match="ne peut pas changer le récapitulatif"):  # not another's, unless admin
        admin_actions.set_member_digest(session, lead.email, on=False, actor=f"C-{claire.id}")
    admin_actions.set_member_digest(session, claire.email, on=False, actor=f"C-{claire.id}")  # her own: yes
    assert claire.daily_digest is False


def _digests(mail) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for m in mail.messages:
        if m["X-Passerelles-Kind"] == "digest":
            body = m.get_body(("plain",))
            assert isinstance(body, EmailMessage)
            found.setdefault(m["To"], []).append(body.get_content().replace("\r\n", "\n"))
    return found


def _section(text: str, title: str) -> str:
    """The lines of one section of a digest (up to the next blank line)."""
    return text.split(title, 1)[1].split("\n\n", 1)[0] if title in text else ""


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_digest_of_a_passerelle_lists_exactly_what_waits_for_her(lifecycle) -> None:
    mail = lifecycle
    with unit_of_work() as s:
        branch = s.scalar(select(Branch).where(Branch.code == "STR"))
        assert branch is not None
        f.coordinator(s, branch, "Sophie", "Weber")
        f.coordinator(s, branch, "Luc", "Idle")  # a Passerelle with nothing to do
    # Claire: one mission at its applications (one application typed), one whose annonce waits for the association
    a_id, a_run, drv_a = d.published()
    drv_a.resume(d.applications("V-1", decision="attendre d'autres candidatures"))
    assert drv_a.form()["key"] == "applications-2"
    c_id, c_run = d.open_and_start("Plan de communication")
    drv_c = d.Driver(c_run)
    drv_c.run()
    drv_c.resume(d.needs_analysis(title="Plan de communication"))
    assert drv_c.form()["key"] == "annonce-review-1"
    # Sophie: one mission at its needs analysis. Claire: one opened without a run yet (no form waits for her)
    with unit_of_work() as s:
        b_id = d.new_mission(s, "Recrutement de bénévoles", passerelle="sophie.weber@pc.example").id
        no_run_id = d.new_mission(s, "Rapport financier").id
    b_run = start_run(b_id)
    d.Driver(b_run).run()
    with unit_of_work() as s:
        ref = {i: s.get(Mission, i).reference for i in (a_id, b_id, c_id, no_run_id)}  # type: ignore[union-attr]

    now = utcnow()
    result = send_digests(now=now)
    d.send_queued()
    digests = _digests(mail)
    assert result["errors"] == [] and result["queued"] == 2, result
    # Jean, the lead, did not ask for it; Luc has nothing to do: neither gets one
    assert set(digests) == {"claire.muller@pc.example", "sophie.weber@pc.example"}

    claire = digests["claire.muller@pc.example"][0]
    waiting = _section(claire, "Étapes de mission qui attendent votre saisie :")
    assert f"{ref[a_id]} (Les Restos du Quartier) : Candidatures, depuis le" in waiting
    assert f"/runs/flow-run/{a_run}" in waiting
    assert f"{ref[c_id]} (Les Restos du Quartier) : Validation de l'annonce" in waiting and c_run in waiting
    assert ref[no_run_id] not in waiting and ref[b_id] not in claire  # no run waits; Sophie's is not hers
    assert len(waiting.strip().splitlines()) == 2
    requests = _section(claire, "Nouvelles demandes depuis votre dernier récapitulatif :")
    assert {line.split(" : ")[0].lstrip("- ") for line in requests.strip().splitlines()} == {
        ref[a_id],
        ref[c_id],
        ref[no_run_id],
    }
    applications = _section(claire, "Nouvelles candidatures depuis votre dernier récapitulatif :")
    assert applications.strip() == f"- {ref[a_id]} : Prénom1 Nom1 (saisie par la Passerelle)"
    unanswered = _section(claire, "Liens envoyés restés sans réponse :")
    assert unanswered.strip().startswith(f"- {ref[c_id]} : Paul Weber (Les Restos du Quartier), votre approbation")
    assert len(unanswered.strip().splitlines()) == 1

    mine = digests["sophie.weber@pc.example"][0]
    assert (
        _section(mine, "Étapes de mission qui attendent votre saisie :")
        .strip()
        .startswith(f"- {ref[b_id]} (Les Restos du Quartier) : Analyse")
    )
    assert not any(ref[i] in mine for i in (a_id, c_id, no_run_id))
    assert "Nouvelles candidatures" not in mine and "sans réponse" not in mine

    # exactly once a day: run again this morning, nothing more
    assert send_digests(now=now + timedelta(minutes=5))["queued"] == 0
    d.send_queued()
    assert {k: len(v) for k, v in _digests(mail).items()} == {
        "claire.muller@pc.example": 1,
        "sophie.weber@pc.example": 1,
    }

    # the next morning: what still waits, but the requests and applications already told are not told again
    assert send_digests(now=now + timedelta(days=1))["queued"] == 2
    d.send_queued()
    again = _digests(mail)["claire.muller@pc.example"][1]
    assert ref[a_id] in _section(again, "Étapes de mission qui attendent votre saisie :")
    assert "Nouvelles demandes" not in again and "Nouvelles candidatures" not in again
    with unit_of_work() as s:
        assert s.scalar(select(Coordinator.daily_digest).where(Coordinator.email == "luc.idle@pc.example"))
