"""The portal's public pages: an association asks for a mission (`/demande`), the double opt-in of
`/confirmation/<secret>`, and every bad input and abuse (honeypot, rate limits, sizes, HTML, expired and reused
links), answered in French with what was typed kept and nothing written. The app runs in-process (its real ASGI
stack) on the real test databases; mails go through the outbox to a real SMTP server."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, cast
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from prefect import get_client
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments.runner import RunnerDeployment
from prefect.flow_engine import run_flow
from sqlalchemy import func, select

from models import Association, Mission, OutboxMail, PublicSubmission, SubmissionStatus
from models.base import utcnow
from models.db import session_factory, unit_of_work
from models.public import check_registration, luhn_ok
from models.refusals import TextRefused
from models.text import check_text
from portal import public
from tasks import notices
from tasks.confirmations import CONFIRM_HOURS, purge_unconfirmed
from tasks.outbox import send_pending
from tasks.runs import start_run
from tests import lifecycle_driver as d


def siret(first13: str) -> str:
    """A SIRET with its Luhn check digit."""
    return next(first13 + str(k) for k in range(10) if luhn_ok(first13 + str(k)))


GOOD = {
    "association": "Les Amis du Jardin Partagé",
    "registration": "W672012345",
    "city": "Strasbourg",
    "branch": "",
    "budget": "20000",
    "contact_name": "Lucie Roth",
    "contact_email": "Lucie.Roth@jardin.example",
    "contact_phone": "",
    "example": "plan-communication",
    "domain": "",
    "description": "Nous fêtons nos 20 ans :\nun plan de communication pour nous faire connaître du quartier.",
    "site_web": "",
}


SELECTS = {"branch", "budget", "example", "domain"}  # a value off the list is not shown again


# --- pure checks ----------------------------------------------------------------------------------


def test_registration_numbers_are_checked_for_format() -> None:
    assert check_registration(" w67 2012 345 ") == "W672012345"
    good = siret("7328293200007")
    assert check_registration(f"{good[:3]} {good[3:6]} {good[6:9]} {good[9:]}") == good
    for typed, said in [
        ("W67201234", "W suivi de 9 chiffres"),
        ("W67201234X", "W suivi de 9 chiffres"),
        ("1234567890123", "compte 13 chiffres : il en faut 14"),
        (good[:-1] + str((int(good[-1]) + 1) % 10), "clé de contrôle"),
        ("ABC", "ni un numéro RNA"),
        ("", "Indiquez le numéro RNA"),
    ]:
        with pytest.raises(TextRefused, match=said):
            check_registration(typed)


def test_public_texts_refuse_html_length_and_emptiness() -> None:
    assert check_text("  Les   Amis ", "Nom", max_len=20) == "Les Amis"
    assert check_text(" a\r\nb ", "Besoin", max_len=20, one_line=False) == "a\nb"
    with pytest.raises(TextRefused, match="balises HTML"):
        check_text("Bonjour <script>alert(1)</script>", "Nom", max_len=200)
    with pytest.raises(TextRefused, match="compte 21 caractères : 20 au plus"):
        check_text("x" * 21, "Nom", max_len=20)
    with pytest.raises(TextRefused, match="« Nom » est vide"):
        check_text("   ", "Nom", max_len=20)
    assert check_text("", "Tél", max_len=20, required=False) == ""
    assert check_text("3 < 4 et 5 > 2", "Besoin", max_len=50) == "3 < 4 et 5 > 2"  # not a tag


# --- the page on a real database ------------------------------------------------------------------


@pytest.fixture
def site(app_db, mail_server) -> Iterator[TestClient]:
    from portal.app import app

    d.seed_small()
    public.reset_limits()
    with TestClient(app) as client:
        yield client
    public.reset_limits()


def rows() -> list[PublicSubmission]:
    with unit_of_work() as s:
        found = list(s.scalars(select(PublicSubmission).order_by(PublicSubmission.id)))
        s.expunge_all()
        return found


def mails(kind: str = "") -> list[OutboxMail]:
    with unit_of_work() as s:
        query = select(OutboxMail).order_by(OutboxMail.id)
        found = [m for m in s.scalars(query) if not kind or m.kind == kind]
        s.expunge_all()
        return found


def associations() -> int:
    with unit_of_work() as s:
        return int(s.scalar(select(func.count()).select_from(Association)) or 0)


def confirmation_path(mail_server: Any, to: str) -> str:
    sent = [m for m in mail_server.messages if m["X-Passerelles-Kind"] == "confirm_address" and m["To"] == to]
    assert sent, f"no confirmation mail to {to}"
    found = re.search(r"https?://[^/\s]+(/confirmation/\S+)", sent[-1].get_body(("plain",)).get_content())
    assert found is not None
    return found.group(1)


def post(site: TestClient, **changes: str) -> Any:
    return site.post("/demande", data={**GOOD, **changes})


def test_the_request_form_offers_branches_brackets_domains_and_the_four_examples(site: TestClient) -> None:
    page = site.get("/demande")
    assert page.status_code == 200
    for shown in ("Strasbourg", "moins de 20\u202f000 €", "de 20\u202f000 à 100\u202f000 €", "Communication",
                  "Un plan de communication", "Un site internet", "Recruter des bénévoles", "Un rapport financier",
                  'name="site_web"', 'class="hp"'):  # fmt: skip
        assert shown in page.text, shown
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_a_request_is_kept_apart_until_its_address_is_confirmed(site: TestClient, mail_server: Any) -> None:
    """Sent: only the confirmation mail goes out (to the contact), nothing reaches the team nor the associations'
    table. The mail's link shows a button (a mail client opening it confirms nothing); it serves once."""
    sent = post(site)
    assert (
        sent.status_code == 200
        and "Vérifiez votre boîte mail" in html.unescape(sent.text)
        and "lucie.roth@jardin.example" in html.unescape(sent.text)
    )
    [row] = rows()
    assert row.status is SubmissionStatus.AWAITING and row.confirmed_at is None
    assert row.payload["registration"] == "W672012345" and row.payload["domain"] == "communication"
    assert row.payload["branch"] == "STR" and row.payload["budget"] == 20000  # Strasbourg: the branch's own city
    assert [m.kind for m in mails()] == ["confirm_address"] and associations() == 1  # the seed's only
    assert [m["To"] for m in mail_server.messages] == ["lucie.roth@jardin.example"]
    link = confirmation_path(mail_server, "lucie.roth@jardin.example")
    secret = link.rsplit("/", 1)[1]
    assert secret not in str(row.payload) and row.secret_hash != secret and len(row.secret_hash) == 64
    shown = site.get(link)
    assert shown.status_code == 200 and "Je confirme mon adresse" in html.unescape(shown.text)
    assert rows()[0].confirmed_at is None  # opening the link confirmed nothing
    # No Prefect server (an address where none listens, whatever server an earlier test of this process left on):
    # the request is confirmed, and the page says to open the link again to pass it on.
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from deployments.local import free_port

    with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api"}):
        confirmed = site.post(link)
    assert confirmed.status_code == 503 and "rouvrez le lien de confirmation" in html.unescape(confirmed.text)
    assert rows()[0].status is SubmissionStatus.CONFIRMED and rows()[0].flow_run_id == ""
    assert [m.kind for m in mails()] == ["confirm_address"]  # still nothing to the team


def test_a_filled_honeypot_is_answered_as_a_person_but_nothing_is_kept(site: TestClient, mail_server: Any) -> None:
    answer = post(site, site_web="http://spam.example")
    assert answer.status_code == 200 and "Vérifiez votre boîte mail" in html.unescape(answer.text)
    assert rows() == [] and mails() == [] and mail_server.messages == []


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"description": "Refaire <a href='http://x'>notre site</a>"}, "contient des balises HTML"),
        ({"association": "<b>Les Amis</b>"}, "« Nom de l'association » contient des balises HTML"),
        ({"description": "x" * 2001}, "compte 2001 caractères : 2000 au plus"),
        ({"association": "A" * 161}, "compte 161 caractères : 160 au plus"),
        ({"registration": "W12345"}, "W suivi de 9 chiffres"),
        ({"registration": "73282932000075"}, "clé de contrôle"),
        ({"contact_email": "lucie@"}, "n'a rien après le « @ »"),
        ({"contact_email": "Émilie.Schmitt@jardin.example"}, "avant le « @ » : la plupart des serveurs"),
        ({"budget": "12"}, "tranche de budget"),
        ({"example": "", "domain": ""}, "Choisissez le domaine"),
        ({"city": "Sélestat"}, "à quelle antenne rattacher « Sélestat »"),
        ({"branch": "ZZZ"}, "Choisissez une antenne de la liste"),
    ],
)
def test_a_bad_request_is_shown_again_with_the_reason_and_what_was_typed(
    site: TestClient, changes: dict[str, str], said: str
) -> None:
    answer = post(site, **changes)
    assert answer.status_code == 422 and said in html.unescape(answer.text)
    assert 'value="Lucie Roth"' in answer.text  # what was typed is kept, the refused value too
    assert all(str(escape(v)) in answer.text for k, v in changes.items() if v and k not in SELECTS)
    assert rows() == [] and mails() == []


def test_every_missing_field_is_said_at_once(site: TestClient) -> None:
    answer = site.post("/demande", data={"site_web": ""})
    assert answer.status_code == 422
    for said in ("« Nom de l'association » est vide", "Indiquez le numéro RNA", "« Ville » est vide",
                 "« Votre nom » est vide", "« Votre besoin » est vide", "Indiquez votre adresse e-mail",
                 "tranche de budget", "Choisissez le domaine"):  # fmt: skip
        assert said in html.unescape(answer.text), said


def test_a_city_the_branch_knows_of_and_a_chosen_branch_give_the_branch(site: TestClient) -> None:
    with unit_of_work() as s:
        from tests import factories as f

        f.branch(s, "MUL")
        s.flush()
        v = f.volunteer(s, f.branch(s, "COL", name="Colmar-Ribeauvillé"), city="Sélestat")
        assert v.id
    assert post(site, city="sélestat").status_code == 200  # a volunteer of COL lives there
    assert post(site, city="Inconnue", branch="MUL", contact_email="b@jardin.example").status_code == 200
    assert [r.payload["branch"] for r in rows()] == ["COL", "MUL"]


def test_an_oversized_body_is_refused(site: TestClient) -> None:
    answer = site.post("/demande", data={**GOOD, "description": "x" * 70_000})
    assert answer.status_code == 413 and "trop long" in html.unescape(answer.text) and rows() == []


def test_rate_limits_per_address_and_per_ip(site: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(3):
        assert post(site).status_code == 200
    fourth = post(site)
    assert fourth.status_code == 429 and "Plusieurs demandes de confirmation ont déjà été envoyées" in html.unescape(
        fourth.text
    )
    assert 'value="Les Amis du Jardin Partagé"' in fourth.text  # what was typed, kept
    assert len(rows()) == 3 and len(mails("confirm_address")) == 3
    public.reset_limits()
    monkeypatch.setattr(public, "PER_IP", public.parse("2/hour"))
    assert post(site, contact_email="a@jardin.example").status_code == 200
    assert post(site, contact_email="b@jardin.example").status_code == 200
    third = post(site, contact_email="c@jardin.example")
    assert third.status_code == 429 and "depuis votre connexion" in html.unescape(third.text) and len(rows()) == 5
    bad = post(site, contact_email="d@jardin.example", registration="W1")  # a refused form counts nothing
    assert bad.status_code == 422


def test_expired_unknown_and_purged_confirmation_links(site: TestClient, mail_server: Any) -> None:
    assert post(site).status_code == 200
    link = confirmation_path(mail_server, "lucie.roth@jardin.example")
    with unit_of_work() as s:
        row = s.scalar(select(PublicSubmission))
        assert row is not None
        row.expires_at = utcnow() - timedelta(minutes=1)
    for answer in (site.get(link), site.post(link)):
        assert answer.status_code == 410 and f"il sert {CONFIRM_HOURS} heures" in html.unescape(answer.text)
    assert rows()[0].confirmed_at is None
    unknown = site.get(link[:-3] + "abc")
    assert unknown.status_code == 400 and "n'est pas valide" in html.unescape(unknown.text)
    with unit_of_work() as s:
        assert purge_unconfirmed(s) == 1  # what the privacy-retention flow does
    assert rows() == [] and site.post(link).status_code == 400


# --- accepted and declined in Prefect (slow) ------------------------------------------------------


def deploy_new_request() -> None:
    from flows.new_request import new_request

    cast(RunnerDeployment, new_request.to_deployment(name="new-request")).apply()


def read_run(run_id: str) -> FlowRun:
    with get_client(sync_client=True) as c:
        return c.read_flow_run(UUID(run_id))


def run_until_suspended(run_id: str) -> FlowRun:
    """Execute the request's run in this process until it waits for the decision or ends; then send the mails."""
    from flows.new_request import new_request

    try:
        run_flow(new_request, flow_run=read_run(run_id), return_type="state")
    except BaseException as exc:  # the engine re-raises Pause/Abort in some versions
        if type(exc).__name__ not in ("Pause", "Abort"):
            raise
    send_pending(session_factory(), on_failure=notices.undelivered)
    return read_run(run_id)


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_association_asks_confirms_and_the_branch_lead_accepts(prefect_server, site, mail_server) -> None:
    d.deploy()
    deploy_new_request()
    assert post(site).status_code == 200
    link = confirmation_path(mail_server, "lucie.roth@jardin.example")
    confirmed = site.post(link)
    assert (
        confirmed.status_code == 200
        and "votre demande D-0001 est transmise à l'antenne de Strasbourg" in html.unescape(confirmed.text)
    )
    [row] = rows()
    assert row.status is SubmissionStatus.CONFIRMED and row.flow_run_id
    again = site.post(link)
    assert again.status_code == 409 and "déjà servi" in html.unescape(again.text)  # single use
    run = read_run(row.flow_run_id)
    assert run.name == "demande-D-0001" and set(run.tags) == {"antenne:STR", "demande"}
    assert run.parameters == {"request_id": row.id}  # an id, no personal data

    run = run_until_suspended(row.flow_run_id)
    assert run.state is not None and run.state.type == StateType.PAUSED
    drv = d.Driver(row.flow_run_id)
    form = drv.form()
    assert form["key"] == "decision"
    assert "Nouvelle demande D-0001 — Les Amis du Jardin Partagé" in form["description"]
    assert "Association nouvelle" in form["description"]
    assert form["schema"]["properties"]["passerelle"]["enum"] == ["", "C-2 · Jean Kieffer", "C-1 · Claire Muller"]
    assert form["schema"]["properties"]["titre"]["default"] == "Plan de communication"
    lead_mail = [m for m in mail_server.messages if m["X-Passerelles-Kind"] == "new_request"]
    assert [m["To"] for m in lead_mail] == ["jean.kieffer@pc.example"]  # the branch's lead, once confirmed
    assert row.flow_run_id in lead_mail[0].get_body(("plain",)).get_content()

    assert d.submit_form(row.flow_run_id, {"decision": "accepter : ouvrir la mission", "passerelle": "",
                                           "titre": "Plan de communication", "motif": ""})[0]  # fmt: skip
    run_until_suspended(row.flow_run_id)
    form = drv.form()
    assert form["key"] == "decision-essai-2" and "Choisissez la Passerelle" in form["description"]
    ok, _ = d.submit_form(row.flow_run_id, {"decision": "accepter : ouvrir la mission", "passerelle":
                          "C-1 · Claire Muller", "titre": "Plan de communication des 20 ans", "motif": "",
                          "entered_by": "Jean Kieffer <jean.kieffer@pc.example>"})  # fmt: skip
    assert ok
    run = run_until_suspended(row.flow_run_id)
    assert run.state is not None and run.state.is_completed()
    with unit_of_work() as s:
        m = s.scalar(select(Mission))
        assert m is not None and m.title == "Plan de communication des 20 ans" and m.coordinator.first_name == "Claire"
        assert m.association.registration == "W672012345" and m.association.contact_email == "lucie.roth@jardin.example"
        assert m.domain is not None and m.domain.code == "communication" and m.flow_run_id is None
        mission_id, reference = m.id, m.reference
        done = s.get(PublicSubmission, row.id)
        assert done is not None and done.status is SubmissionStatus.ACCEPTED and done.decided_by == "Jean Kieffer"
    mission_run_id = start_run(mission_id)  # the mission id is the key: the run the decision started
    lifecycle_run = read_run(mission_run_id)
    assert lifecycle_run.name == f"mission-{reference}" and lifecycle_run.parameters == {"mission_id": mission_id}
    told = [m for m in mail_server.messages if m["X-Passerelles-Kind"] == "request_accepted"]
    assert [m["To"] for m in told] == ["lucie.roth@jardin.example"] and reference in told[0]["Subject"]
    assert told[0]["Reply-To"] == "claire.muller@pc.example"
    # The mission's run, started: it goes to its first step.
    mission_run = d.Driver(mission_run_id)
    mission_run.run()
    assert mission_run.form()["key"] == "needs-analysis"

    # The same association asks again (its RNA, its name spelt otherwise): recognised; declined with a reason.
    public.reset_limits()
    assert post(site, association="AMIS DU JARDIN (les)", description="Un site internet.").status_code == 200
    confirmed = site.post(confirmation_path(mail_server, "lucie.roth@jardin.example"))
    assert confirmed.status_code == 200
    second = rows()[1]
    run_until_suspended(second.flow_run_id)
    form = d.Driver(second.flow_run_id).form()
    assert "Association déjà connue** : Les Amis du Jardin Partagé" in form["description"]
    assert d.submit_form(second.flow_run_id, {"decision": "décliner la demande", "passerelle": "", "titre": "x",
                                              "motif": "Nous manquons de bénévoles ce trimestre."})[0]  # fmt: skip
    assert run_until_suspended(second.flow_run_id).state.is_completed()  # type: ignore[union-attr]
    declined = [m for m in mail_server.messages if m["X-Passerelles-Kind"] == "request_declined"]
    assert "Nous manquons de bénévoles ce trimestre." in declined[0].get_body(("plain",)).get_content()
    assert associations() == 2  # the seed's and this one: not doubled
    assert rows()[1].status is SubmissionStatus.DECLINED
