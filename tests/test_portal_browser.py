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

from models import Application, Channel, Mission, MissionStatus, Volunteer
from models.db import unit_of_work
from models.settings import get_settings
from tasks import links
from tasks.links import Purpose
from tests import lifecycle_driver as d
from tests.test_browser import SHOTS, in_browser
from tests.test_portal import link_in

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
