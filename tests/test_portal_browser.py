"""The portal's pages in a real browser (Debian's Chromium driven by Playwright, phone-sized): the association
revises then approves its annonce, a volunteer applies, changes preferences, unsubscribes; tampered and expired
links. The portal is served by uvicorn on a free port, as `passerelles portal` does."""

from __future__ import annotations

import contextvars
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select

from models import Application, Channel, Mission, MissionStatus, PublicSubmission, SubmissionStatus, Volunteer
from models.db import unit_of_work
from models.settings import get_settings
from portal import public
from tasks import links
from tasks.links import Purpose
from tests import lifecycle_driver as d
from tests.test_browser import SHOTS, in_browser
from tests.test_portal import link_in
from tests.test_signup import annonce_mission, confirmation_path, set_status

pytestmark = pytest.mark.slow
PHONE = (390, 844)
DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@pytest.fixture
def portal_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The portal served on a free port; the links of mails point at it."""
    import uvicorn

    from portal.app import app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("PASSERELLES_PORTAL_URL", url)
    get_settings.cache_clear()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    # In a copy of the test's context: the Prefect settings of the test server (new threads see Prefect's root ones).
    thread = threading.Thread(target=contextvars.copy_context().run, args=(server.run,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(10)
    get_settings.cache_clear()


def shoot(page: Any, name: str, *, doc: bool = False) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    if doc:
        shutil.copy(SHOTS / f"{name}.png", DOCS / f"{name}.png")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_portal_pages_in_a_browser(prefect_server, app_db, mail_server, portal_url, monkeypatch) -> None:
    d.deploy()
    d.seed_small()
    mission_id, run_id = d.open_and_start()
    drv = d.Driver(run_id)
    drv.run()
    drv.resume(d.needs_analysis())
    first = portal_url + link_in(mail_server, "annonce_to_approve", Purpose.ANNOUNCEMENT)

    def revise(page: Any) -> None:
        page.goto(first)
        page.get_by_text("RECHERCHE BÉNÉVOLE").first.wait_for()
        page.get_by_label("Je demande des modifications").check()
        page.get_by_role("button", name="Envoyer ma réponse").click()
        page.get_by_text("« Vos remarques » est vide").wait_for()  # asked again, nothing sent
        page.get_by_label("Vos remarques").fill("Précisez que la mission peut se faire le soir.")
        shoot(page, "portail-annonce-association", doc=True)
        page.get_by_role("button", name="Envoyer ma réponse").click()
        page.get_by_text("vos remarques sont transmises").wait_for()

    in_browser(revise, PHONE)
    drv.run()
    assert drv.form()["key"] == "annonce-review-2"
    second = portal_url + link_in(mail_server, "annonce_to_approve", Purpose.ANNOUNCEMENT)

    def approve(page: Any) -> None:
        page.goto(second)
        page.get_by_label("J'approuve cette annonce").check()
        page.get_by_role("button", name="Envoyer ma réponse").click()
        page.get_by_text("votre approbation est transmise").wait_for()
        page.goto(first)  # the first version's link: answered already
        page.get_by_text("a déjà reçu une réponse (à réviser)").wait_for()

    in_browser(approve, PHONE)
    drv.run()
    with unit_of_work() as s:
        assert s.get(Mission, mission_id).status is MissionStatus.PUBLISHED  # type: ignore[union-attr]

    apply = portal_url + link_in(mail_server, "annonce", Purpose.APPLY, to="benevole2@exemple.fr")
    preferences = portal_url + link_in(mail_server, "annonce", Purpose.PREFERENCES, to="benevole3@exemple.fr")
    unsubscribe = portal_url + link_in(mail_server, "annonce", Purpose.UNSUBSCRIBE, to="benevole4@exemple.fr")
    one_click = portal_url + link_in(mail_server, "annonce", Purpose.UNSUBSCRIBE, to="benevole5@exemple.fr")
    token = apply.rsplit("/", 1)[1]
    tampered = apply[: -len(token)] + token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    old = int(time.time()) - 90 * 86400
    with monkeypatch.context() as patched:  # a link made 90 days ago
        patched.setattr(TimestampSigner, "get_timestamp", lambda self: old)
        expired = links.link(Purpose.APPLY, v=2, m=mission_id)

    def volunteer_pages(page: Any) -> None:
        page.goto(apply)
        page.get_by_role("button", name="Je suis intéressé(e)").wait_for()
        page.get_by_label("Un message pour la Passerelle").fill("Disponible le jeudi soir.")
        shoot(page, "portail-candidature", doc=True)
        page.get_by_role("button", name="Je suis intéressé(e)").click()
        page.get_by_text("votre candidature est enregistrée").wait_for()
        page.goto(apply)
        page.get_by_text("Candidature déjà enregistrée").wait_for()
        page.goto(preferences)
        page.get_by_label("J'accepte aussi les annonces de missions à distance").check()
        page.get_by_label("Peu disponible").check()
        page.get_by_label("Comptabilité associative").select_option("2")
        shoot(page, "portail-preferences", doc=True)
        page.get_by_role("button", name="Enregistrer mes préférences").click()
        page.get_by_text("Vos préférences sont enregistrées").wait_for()
        page.goto(unsubscribe)
        page.get_by_role("button", name="Me désinscrire").click()
        page.get_by_text("Vous êtes désinscrit(e)").wait_for()
        shoot(page, "portail-desinscription")
        response = page.request.post(one_click, form={"List-Unsubscribe": "One-Click"})  # the mail client's POST
        assert response.status == 200
        page.goto(tampered)
        page.get_by_text("Lien invalide").first.wait_for()
        shoot(page, "portail-lien-invalide", doc=True)
        page.goto(expired)
        page.get_by_text("Ce lien a expiré").wait_for()

    in_browser(volunteer_pages, PHONE)
    with unit_of_work() as s:
        app = s.scalar(select(Application).where(Application.mission_id == mission_id))
        assert app is not None and app.channel is Channel.LINK and app.message == "Disponible le jeudi soir."
        v3, v4, v5 = (s.get(Volunteer, i) for i in (3, 4, 5))
        assert v3 is not None and v3.consent_national and v3.availability.value == "limited"
        assert v4 is not None and v4.unsubscribed_at is not None
        assert v5 is not None and v5.unsubscribed_at is not None


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_volunteer_roadmap_and_bilan_pages_in_a_browser(prefect_server, app_db, mail_server, portal_url) -> None:
    """A retained volunteer agrees to the roadmap, then gives their bilan with their consent, on a phone."""
    from models import PartyAnswer

    d.deploy()
    d.seed_small()
    _, _, drv = d.published()
    drv.resume(d.applications("V-0002"))
    chosen = drv.choices("selected")[0]
    drv.resume(d.selection([chosen]))
    form = drv.form()
    drv.resume({k: v["default"] for k, v in form["schema"]["properties"].items() if "default" in v})  # sent
    agree = portal_url + link_in(mail_server, "roadmap_to_agree", Purpose.ROADMAP_AGREEMENT)

    def roadmap(page: Any) -> None:
        page.goto(agree)
        page.get_by_text("voici la feuille de route").wait_for()
        page.get_by_label("Je demande des modifications").check()
        page.get_by_role("button", name="Envoyer ma réponse").click()
        page.get_by_text("« Vos remarques » est vide").wait_for()  # asked again, nothing recorded
        page.get_by_label("Je suis d'accord avec cette feuille de route").check()
        shoot(page, "portail-feuille-de-route-benevole", doc=True)
        page.get_by_role("button", name="Envoyer ma réponse").click()
        page.get_by_text("votre accord est enregistré").wait_for()
        page.goto(agree)
        page.get_by_text("Vous avez déjà répondu").wait_for()

    in_browser(roadmap, PHONE)
    assert "✅ d'accord le" in drv.form()["description"]
    drv.resume(drv.agreed_roadmap())
    drv.resume(d.check_in(decision="mission terminée : passer au bilan"))
    bilan = portal_url + link_in(mail_server, "review_to_give_volunteer", Purpose.VOLUNTEER_REVIEW)

    def review(page: Any) -> None:
        page.goto(bilan)
        page.get_by_text("quel bilan en faites-vous").wait_for()
        page.get_by_label("4 / 5").check()
        page.get_by_label("J'accepte que Passerelles & Compétences publie ce témoignage").check()
        page.get_by_role("button", name="Envoyer mon bilan").click()
        page.get_by_text("Écrivez votre témoignage").wait_for()  # a consent to publish nothing: asked again
        page.get_by_label("Votre témoignage").fill("J'ai aidé une belle association.")
        shoot(page, "portail-bilan-benevole", doc=True)
        page.get_by_role("button", name="Envoyer mon bilan").click()
        page.get_by_text("Merci pour votre bilan").wait_for()

    in_browser(review, PHONE)
    with unit_of_work() as s:
        half = s.scalar(select(PartyAnswer).where(PartyAnswer.step == "review", PartyAnswer.party == "v2"))
        assert half is not None and (half.rating, half.comment) == (4, "J'ai aidé une belle association.")
        assert half.consent_at is not None and half.consent_wording.startswith("J'accepte")
    assert drv.form()["schema"]["properties"]["volunteer_rating"]["default"] == 4


# --- The public pages: a volunteer signs up, applies from an annonce's page, through a relay's link ----------------


def _fill_signup(page: Any, email: str) -> None:
    page.get_by_label("Prénom", exact=True).fill("Inès")
    page.get_by_label("Nom", exact=True).fill("Brunner")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Métier (facultatif)").fill("Cheffe de projet web")
    page.get_by_label("Ville").fill("Strasbourg")
    page.get_by_label("en soirée").check()
    page.get_by_label("J'accepte de recevoir par e-mail les annonces de mission de mon antenne.").check()


def _choose_competence(page: Any) -> None:
    page.get_by_text("Web et numérique").click()  # the domain's <details>
    page.get_by_label("Conception de site internet").select_option(label="expert")


def _confirm(page: Any, portal_url: str, mail_server: Any, email: str) -> None:
    deadline = time.monotonic() + 20  # the portal sends the confirmation mail right after its commit
    while time.monotonic() < deadline and not any(m["To"] == email for m in mail_server.messages):
        time.sleep(0.1)
    page.goto(portal_url + confirmation_path(mail_server, email))
    page.get_by_role("button", name="Je confirme mon adresse").click()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_volunteer_signs_up_in_a_browser(app_db, mail_server, portal_url) -> None:
    """/inscription on a phone: sent without a competence, asked again with what was typed kept; then sent,
    confirmed from the mail's link: the volunteer is recorded."""
    d.seed_small()
    public.reset_limits()
    email = "ines.brunner@exemple.fr"

    def signup(page: Any) -> None:
        page.goto(portal_url + "/inscription")
        _fill_signup(page, email)
        page.get_by_role("button", name="Je m'inscris").click()
        page.get_by_role("alert").get_by_text(
            "Choisissez au moins une compétence"
        ).wait_for()  # asked again, nothing kept
        assert page.get_by_label("Métier (facultatif)").input_value() == "Cheffe de projet web"
        assert page.get_by_label("en soirée").is_checked()
        _choose_competence(page)
        shoot(page, "portail-inscription", doc=True)
        page.get_by_role("button", name="Je m'inscris").click()
        page.get_by_text("Vérifiez votre boîte mail").wait_for()
        _confirm(page, portal_url, mail_server, email)
        page.get_by_text("votre inscription de bénévole est enregistrée").wait_for()

    in_browser(signup, PHONE)
    with unit_of_work() as s:
        v = s.scalar(select(Volunteer).where(Volunteer.email == email))
        assert v is not None and v.time_slots == "soirs" and v.consent_announcements and v.profession


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_visitor_applies_from_an_annonces_public_page_in_a_browser(app_db, mail_server, portal_url) -> None:
    """/missions/<reference>: the annonce, the form; applied and confirmed, the application is recorded; once the
    mission is cancelled the page says the annonce is no longer open."""
    d.seed_small()
    public.reset_limits()
    mission_id, reference = annonce_mission()
    email = "visiteur@exemple.fr"

    def apply(page: Any) -> None:
        page.goto(f"{portal_url}/missions")
        page.get_by_role("link", name="Refonte du site internet").click()
        page.get_by_text("L'association cherche un ou une bénévole web.").wait_for()
        _fill_signup(page, email)
        _choose_competence(page)
        page.get_by_label("Un message pour la Passerelle (facultatif)").fill("Disponible le soir.")
        shoot(page, "portail-annonce-publique", doc=True)
        page.get_by_role("button", name="Je m'inscris et je candidate").click()
        page.get_by_text("Vérifiez votre boîte mail").wait_for()
        _confirm(page, portal_url, mail_server, email)
        page.get_by_text(f"Votre candidature à la mission {reference}").wait_for()

    in_browser(apply, PHONE)
    with unit_of_work() as s:
        app = s.scalar(select(Application).where(Application.mission_id == mission_id))
        assert app is not None and app.channel is Channel.PUBLIC_PAGE and app.message == "Disponible le soir."
    set_status(mission_id, MissionStatus.CANCELLED)

    def gone(page: Any) -> None:
        page.goto(f"{portal_url}/missions/{reference}")
        page.get_by_text("Cette annonce n'est plus ouverte").first.wait_for()
        assert page.get_by_role("button", name="Je m'inscris et je candidate").count() == 0

    in_browser(gone, PHONE)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_stranger_signs_up_through_a_relays_link_and_applies_via_the_relay_in_a_browser(
    prefect_server, app_db, mail_server, portal_url
) -> None:
    """The acceptance of issue 23 (3): the annonce goes out; its relay forwards their link; a stranger opens it
    on a phone, signs up and applies, confirms; the application is « via » the relay in the Passerelle's form."""
    d.deploy()
    d.seed_small()
    public.reset_limits()
    with unit_of_work() as s:
        relay = s.scalar(select(Volunteer).where(Volunteer.email == "benevole3@exemple.fr"))
        assert relay is not None
        relay.is_relay = True
        relay_id = relay.id
    mission_id, _, drv = d.published()
    d.send_queued()
    forward = portal_url + link_in(mail_server, "annonce", Purpose.RELAY, to="benevole3@exemple.fr")
    email = "inconnue@exemple.fr"

    def stranger(page: Any) -> None:
        page.goto(forward)
        page.get_by_text("transmis par un relais").wait_for()
        _fill_signup(page, email)
        _choose_competence(page)
        page.get_by_label("Un message pour la Passerelle (facultatif)").fill("Prénom3 m'a transmis l'annonce.")
        shoot(page, "portail-relais", doc=True)
        page.get_by_role("button", name="Je m'inscris et je candidate").click()
        page.get_by_text("Vérifiez votre boîte mail").wait_for()
        _confirm(page, portal_url, mail_server, email)
        page.get_by_text("est enregistrée").first.wait_for()

    in_browser(stranger, PHONE)
    with unit_of_work() as s:
        app = s.scalar(select(Application).where(Application.mission_id == mission_id))
        assert app is not None and app.channel is Channel.RELAY and app.relayed_by_id == relay_id
    assert f"par un relais (V-{relay_id:04d} Prénom3 Nom3)" in drv.form()["description"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_association_asks_for_a_mission_in_a_browser(prefect_server, app_db, mail_server, portal_url) -> None:
    """/demande on a phone: sent with a wrong RNA number, asked again with the reason and what was typed kept;
    corrected, sent, confirmed from the mail's link; the branch lead accepts the « nouvelle demande » and the
    mission exists, its Passerelle assigned, the association told."""
    from tests.test_public_pages import deploy_new_request, run_until_suspended

    d.deploy()
    deploy_new_request()
    d.seed_small()
    public.reset_limits()
    email = "lucie.roth@jardin.example"

    def ask(page: Any) -> None:
        page.goto(f"{portal_url}/demande")
        page.get_by_label("Nom de l'association").fill("Les Amis du Jardin Partagé")
        page.get_by_label("Numéro RNA ou SIRET").fill("W12345")
        page.get_by_label("Ville").fill("Strasbourg")
        page.get_by_label("Budget annuel de fonctionnement").select_option(value="20000")
        page.get_by_label("Votre nom").fill("Lucie Roth")
        page.get_by_label("Votre adresse e-mail").fill(email)
        page.get_by_label("Un plan de communication").check()
        page.get_by_label("Décrivez votre besoin").fill("Nos 20 ans : un plan de communication pour le quartier.")
        page.get_by_role("button", name="Envoyer ma demande").click()
        page.get_by_role("alert").get_by_text("W suivi de 9 chiffres").wait_for()  # asked again, the reason said
        assert page.get_by_label("Nom de l'association").input_value() == "Les Amis du Jardin Partagé"
        assert "20 ans" in page.get_by_label("Décrivez votre besoin").input_value()
        assert not mail_server.messages  # nothing sent, nothing kept
        page.get_by_label("Numéro RNA ou SIRET").fill("W672012345")
        shoot(page, "portail-demande", doc=True)
        page.get_by_role("button", name="Envoyer ma demande").click()
        page.get_by_text("Vérifiez votre boîte mail").wait_for()
        _confirm(page, portal_url, mail_server, email)
        page.get_by_text("votre demande D-0001 est transmise à l'antenne de Strasbourg").wait_for()

    in_browser(ask, PHONE)
    with unit_of_work() as s:
        row = s.scalar(select(PublicSubmission))
        assert row is not None and row.status is SubmissionStatus.CONFIRMED and row.flow_run_id
        run_id = row.flow_run_id
    waiting = run_until_suspended(run_id).state
    assert waiting is not None and waiting.is_paused()  # the « nouvelle demande » waits for the branch lead
    lead_mail = [m for m in mail_server.messages if m["X-Passerelles-Kind"] == "new_request"]
    assert [m["To"] for m in lead_mail] == ["jean.kieffer@pc.example"]  # the branch lead, once confirmed only
    ok, said = d.submit_form(
        run_id,
        {
            "decision": "accepter : ouvrir la mission",
            "passerelle": "C-1 · Claire Muller",
            "titre": "Plan de communication",
            "motif": "",
        },
    )
    assert ok, said
    done = run_until_suspended(run_id).state
    assert done is not None and done.is_completed()
    with unit_of_work() as s:
        m = s.scalar(select(Mission))
        assert m is not None and m.coordinator.first_name == "Claire" and m.association.registration == "W672012345"
    told = [m for m in mail_server.messages if m["X-Passerelles-Kind"] == "request_accepted"]
    assert [m["To"] for m in told] == [email]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_behind_a_local_reverse_proxy_the_limit_per_ip_counts_each_visitor(
    app_db, mail_server, portal_url, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The portal as served (uvicorn) trusts X-Forwarded-For from a proxy on this machine (FORWARDED_ALLOW_IPS
    widens it): behind Caddy or nginx, one visitor over the limit does not shut the public forms for the others."""
    import httpx

    from tests.test_public_pages import GOOD

    d.seed_small()
    public.reset_limits()
    monkeypatch.setattr(public, "PER_IP", public.parse("2/hour"))

    def ask(visitor: str, n: int) -> int:
        data = {**GOOD, "contact_email": f"contact{n}@jardin.example"}
        return httpx.post(f"{portal_url}/demande", data=data, headers={"X-Forwarded-For": visitor}).status_code

    assert [ask("203.0.113.7", n) for n in range(3)] == [200, 200, 429]
    assert ask("198.51.100.23", 3) == 200  # another visitor through the same proxy
