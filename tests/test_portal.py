"""The public portal: signed links, volunteers applying and unsubscribing, bad inputs answered in French with
nothing written. The app runs in-process (its real ASGI stack) on the real test databases."""

from __future__ import annotations

import base64
import html
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from itsdangerous.timed import TimestampSigner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Application, Channel, ConsentRecord, MailStatus, Mission, MissionStatus, OutboxMail, Volunteer
from models.base import utcnow
from models.db import session_factory, unit_of_work
from tasks import links
from tasks.links import LinkRefused, Purpose
from tasks.outbox import send_pending
from tests import lifecycle_driver as d

# --- links (pure) ---------------------------------------------------------------------------------


def test_links_are_signed_per_purpose_and_expire(app_db, monkeypatch: pytest.MonkeyPatch) -> None:
    token = links.token(Purpose.APPLY, v=3, m=7)
    assert links.read(Purpose.APPLY, token) == {"v": 3, "m": 7}
    payload = token.split(".")[0]  # ids only, no name or address: {"v":3,"m":7}
    assert json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))) == {"v": 3, "m": 7}
    with pytest.raises(LinkRefused, match="invalide"):
        links.read(Purpose.UNSUBSCRIBE, token)  # made for another purpose
    with pytest.raises(LinkRefused, match="invalide"):
        links.read(Purpose.APPLY, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    with pytest.raises(LinkRefused, match="incomplet"):
        links.read(Purpose.APPLY, "x" * 1001)
    old = int(time.time()) - 61 * 86400  # made 61 days ago: past the 60 days of a mission link
    with monkeypatch.context() as patched:
        patched.setattr(TimestampSigner, "get_timestamp", lambda self: old)
        stale, unsubscribe = links.token(Purpose.APPLY, v=3, m=7), links.token(Purpose.UNSUBSCRIBE, v=3)
    with pytest.raises(LinkRefused) as exc:
        links.read(Purpose.APPLY, stale)
    assert exc.value.expired and "expiré" in exc.value.reason
    assert links.read(Purpose.UNSUBSCRIBE, unsubscribe) == {"v": 3}  # an old mail's unsubscribe link still works


# --- the app on a real database -------------------------------------------------------------------


@pytest.fixture
def portal(app_db) -> Iterator[TestClient]:
    from portal.app import app

    d.seed_small()
    with TestClient(app) as client:
        yield client


def published_mission(s: Session) -> Mission:
    """A mission whose annonce is out (the state the lifecycle leaves it in), in the caller's transaction."""
    m = d.new_mission(s)
    m.status, m.published_at = MissionStatus.PUBLISHED, utcnow()
    s.flush()
    return m


def path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def apply_url(v: int, m: int) -> str:
    return path(links.link(Purpose.APPLY, v=v, m=m))


def applications(mission_id: int) -> int:
    with unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(Application).where(Application.mission_id == mission_id)) or 0


def test_a_volunteer_applies_once_by_link(portal: TestClient) -> None:
    with unit_of_work() as s:
        mission_id = published_mission(s).id
    url = apply_url(2, mission_id)
    page = portal.get(url)
    assert page.status_code == 200 and "Je suis intéressé(e)" in page.text and "Refonte du site" in page.text
    assert (
        page.headers["Referrer-Policy"] == "no-referrer"
        and "default-src 'none'" in page.headers["Content-Security-Policy"]
    )
    done = portal.post(url, data={"message": "Disponible le jeudi."})
    assert done.status_code == 200 and "votre candidature est enregistrée" in done.text
    again = portal.post(url, data={"message": "Encore moi"})
    assert "déjà enregistrée" in again.text and "déjà enregistrée" in portal.get(url).text
    with unit_of_work() as s:
        app = s.scalar(select(Application).where(Application.mission_id == mission_id))
        assert app is not None and app.channel is Channel.LINK and app.message == "Disponible le jeudi."
        assert app.score is not None  # ranked at once: the Passerelle's form shows it in order
        told = s.scalars(select(OutboxMail).where(OutboxMail.kind == "application_received")).all()
        assert [m.to_address for m in told] == ["claire.muller@pc.example"]
        assert "Disponible le jeudi." in told[0].text_body


def _bad_requests(mission_id: int, closed_id: int) -> list[tuple[str, str, str, dict[str, Any], int, str]]:
    """(case, method, path, form, status, French words on the page): ≥ 15 ways to misuse the portal."""
    good = apply_url(2, mission_id)
    token = good.rsplit("/", 1)[1]
    tampered = token[:-3] + ("abc" if not token.endswith("abc") else "xyz")
    return [
        ("signature altérée", "GET", f"/candidature/{tampered}", {}, 400, "Lien invalide"),
        ("lien tronqué", "POST", f"/candidature/{token[:20]}", {"message": "x"}, 400, "Lien invalide"),
        ("autre usage (désinscription)", "GET", f"/desinscription/{token}", {}, 400, "Lien invalide"),
        ("autre usage (annonce)", "POST", f"/annonce/{token}", {"decision": "approuver"}, 400, "Lien invalide"),
        ("lien démesuré", "GET", f"/candidature/{'a' * 1200}", {}, 400, "incomplet"),
        ("bénévole inconnu", "POST", apply_url(99_999, mission_id), {"message": ""}, 409, "aucun bénévole"),
        ("mission inconnue", "POST", apply_url(2, 99_999), {"message": ""}, 409, "n'existe pas"),
        ("mission close", "POST", apply_url(2, closed_id), {"message": ""}, 409, "n'est plus ouverte"),
        ("mission close (page)", "GET", apply_url(2, closed_id), {}, 409, "n'est plus ouverte"),
        (
            "identifiant d'un autre type",
            "POST",
            path(links.link(Purpose.APPLY, v="2", m=mission_id)),
            {},
            409,
            "aucun bénévole",
        ),
        ("message trop long", "POST", good, {"message": "é" * 2001}, 422, "2000 au plus"),
        ("HTML dans le message", "POST", good, {"message": "<script>alert(1)</script>"}, 422, "balises HTML"),
        (
            "lien d'annonce sans étape",
            "GET",
            path(links.link(Purpose.ANNOUNCEMENT, m=mission_id, k="roadmap")),
            {},
            400,
            "Lien invalide",
        ),
        (
            "désinscription, bénévole inconnu",
            "POST",
            path(links.link(Purpose.UNSUBSCRIBE, v=99_999)),
            {},
            409,
            "aucun bénévole",
        ),
        ("page inconnue", "GET", "/candidature", {}, 404, ""),
    ]


def test_bad_inputs_get_a_french_page_and_write_nothing(portal: TestClient) -> None:
    with unit_of_work() as s:
        mission_id = published_mission(s).id
        closed = d.new_mission(s, "Mission close")
        closed.status = MissionStatus.CANCELLED
        closed_id = closed.id
    cases = _bad_requests(mission_id, closed_id)
    assert len(cases) >= 15
    for case, method, url, data, status, words in cases:
        r = portal.request(method, url, data=data or None)
        text = html.unescape(r.text)
        assert r.status_code == status, case
        assert words in text, case
        if status == 409:
            assert "Rien n'a été modifié" in text, case
    big = portal.post(
        apply_url(2, mission_id),
        content=b"message=" + b"x" * 70_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert big.status_code == 413 and "trop long" in big.text
    # a message refused comes back in the form, kept, with the reason
    kept = portal.post(apply_url(2, mission_id), data={"message": "<b>Bonjour</b>"})
    assert "&lt;b&gt;Bonjour&lt;/b&gt;" in kept.text and "<b>Bonjour" not in kept.text
    assert applications(mission_id) == applications(closed_id) == 0
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMail)) == 0
        assert s.scalar(select(func.count()).select_from(Volunteer).where(Volunteer.unsubscribed_at.is_not(None))) == 0
    # an archived volunteer is told to contact the branch
    with unit_of_work() as s:
        v = s.get(Volunteer, 3)
        assert v is not None
        v.archived_at = utcnow()
    r = portal.post(apply_url(3, mission_id), data={"message": ""})
    assert r.status_code == 409 and "archivée" in r.text and applications(mission_id) == 0


def test_unsubscribe_one_click_and_nothing_mailed_afterwards(portal: TestClient, mail_server) -> None:
    from tasks import notices

    with unit_of_work() as s:
        mission_id = published_mission(s).id
        v = s.get(Volunteer, 2)
        assert v is not None and v.consent_announcements
        notices.search_closed(s, s.get(Mission, mission_id), [2, 3])  # type: ignore[arg-type]
    with unit_of_work() as s:
        queued = s.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()
        assert all(m.list_unsubscribe.startswith("http://127.0.0.1:8300/desinscription/") for m in queued)
        url = path(next(m.list_unsubscribe for m in queued if m.to_address == "benevole2@exemple.fr"))
    page = portal.get(url)
    assert page.status_code == 200 and "Me désinscrire" in page.text and "benevole2@exemple.fr" in page.text
    # what a mail client sends (RFC 8058): no page, no confirmation
    r = portal.post(
        url, content=b"List-Unsubscribe=One-Click", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 200 and "désinscrit" in r.text
    assert "déjà désinscrit" in portal.get(url).text
    assert portal.post(url).status_code == 200  # a second click changes nothing
    with unit_of_work() as s:
        v = s.get(Volunteer, 2)
        assert v is not None and v.unsubscribed_at is not None and not v.consent_announcements
        kinds = sorted((c.kind.value, c.granted, c.source.value) for c in s.scalars(select(ConsentRecord)))
        assert kinds == [("announcements", False, "link"), ("national", False, "link")]
    send_pending(session_factory())
    received = [m["To"] for m in mail_server.messages]
    assert received == ["benevole3@exemple.fr"]  # queued before the click, never sent to the one who left
    header = mail_server.messages[0]
    assert header["List-Unsubscribe"].startswith("<http://127.0.0.1:8300/desinscription/")
    assert header["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    with unit_of_work() as s:
        status = dict(s.execute(select(OutboxMail.to_address, OutboxMail.status)).tuples().all())
    assert status == {"benevole2@exemple.fr": MailStatus.SUPPRESSED, "benevole3@exemple.fr": MailStatus.SENT}


def test_preferences_by_link_are_applied_all_or_nothing_and_recorded(portal: TestClient) -> None:
    from models import VolunteerCompetence, VolunteerEvent

    url = path(links.link(Purpose.PREFERENCES, v=1))
    page = html.unescape(portal.get(url).text)
    assert "Vos préférences" in page and "J'accepte de recevoir par e-mail" in page and "Conception de site" in page
    base = {"annonces": "oui", "disponibilite": "available", "c:site-web": "2"}
    refused = [
        ({**base, "national": "oui", "annonces": ""}, "cochez aussi"),
        ({**base, "disponibilite": "toujours"}, "disponibilité"),
        ({**base, "c:inconnue": "2"}, "inconnu"),
        ({**base, "c:site-web": "7"}, "inconnu"),
    ]
    for fields, words in refused:
        r = portal.post(url, data=fields)
        assert (
            r.status_code == 422 and words in html.unescape(r.text) and "Rien n'a été modifié" in html.unescape(r.text)
        )
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(VolunteerEvent)) == 0
    r = portal.post(
        url,
        data={
            "annonces": "oui",
            "national": "oui",
            "disponibilite": "limited",
            "c:site-web": "3",
            "c:comptabilite": "1",
        },
    )
    text = html.unescape(r.text)
    assert r.status_code == 200 and "Vos préférences sont enregistrées" in text and "peu disponible" in text
    same = {"annonces": "oui", "national": "oui", "disponibilite": "limited", "c:site-web": "3", "c:comptabilite": "1"}
    assert "Vos préférences sont confirmées" in html.unescape(portal.post(url, data=same).text)
    with unit_of_work() as s:
        v = s.get(Volunteer, 1)
        assert v is not None and v.consent_national and v.availability.value == "limited"
        levels = dict(
            s.execute(
                select(VolunteerCompetence.competence_id, VolunteerCompetence.level).where(
                    VolunteerCompetence.volunteer_id == 1
                )
            )
            .tuples()
            .all()
        )
        assert sorted(levels.values()) == [1, 3]
        events = s.scalars(select(VolunteerEvent).order_by(VolunteerEvent.id)).all()
        assert len(events) == 2 and events[0].source.value == "link" and events[0].actor == "Prénom1 Nom1"
        assert events[1].changes == {"changes": ["préférences confirmées"]}  # news from them: their data is kept
        assert any("compétence ajoutée" in c for c in events[0].changes["changes"])
        consents = s.scalars(select(ConsentRecord)).all()
        assert [(c.kind.value, c.granted, c.wording_version) for c in consents] == [("national", True, "2026-12")]


# --- the association answers the suspended step itself --------------------------------------------


def link_in(mail_server, kind: str, purpose: Purpose, *, to: str = "") -> str:
    """The portal path of the last `kind` mail's link (to `to`)."""
    mails = [m for m in mail_server.messages if m["X-Passerelles-Kind"] == kind and (not to or m["To"] == to)]
    assert mails, f"no {kind} mail"
    found = re.search(rf"https?://\S+/{purpose.value}/\S+", mails[-1].get_body(("plain",)).get_content())
    assert found is not None
    return path(found.group(0))


@pytest.mark.slow
def test_association_approves_by_link_and_volunteers_apply(lifecycle) -> None:
    """The annonce is mailed to the association; its revision request and then its approval resume the run with no
    one in the Prefect UI; the audit names the association. Volunteers apply from the annonce mail."""
    import threading

    from models import AuditEvent
    from portal.app import app

    mail = lifecycle
    mission_id, run_id = d.open_and_start()
    drv = d.Driver(run_id)
    drv.run()
    drv.resume(d.needs_analysis())
    assert drv.form()["key"] == "annonce-review-1"
    url = link_in(mail, "annonce_to_approve", Purpose.ANNOUNCEMENT, to="contact@restos.example")
    with TestClient(app) as portal:
        page = html.unescape(portal.get(url).text)
        assert "RECHERCHE BÉNÉVOLE" in page and "Envoyer ma réponse" in page
        r = portal.post(url, data={"decision": "reviser", "remarks": ""})  # a revision says what to change
        assert r.status_code == 422 and "« Vos remarques » est vide" in html.unescape(r.text)
        r = portal.post(url, data={"decision": "reviser", "remarks": "Mentionnez nos horaires."})
        assert r.status_code == 200 and "remarques sont transmises" in r.text
        assert "déjà reçu une réponse" not in portal.get(url).text  # the run is still to replay it
        drv.run()  # the worker's replay
        assert drv.form()["key"] == "annonce-review-2"
        assert "déjà reçu une réponse (à réviser)" in html.unescape(portal.get(url).text)
        assert "Mentionnez nos horaires." in drv.form()["description"]

        # version 2: the Passerelle (UI) and the association (link) answer at once; one answer is applied
        first, url = url, link_in(mail, "annonce_to_approve", Purpose.ANNOUNCEMENT)
        assert url != first  # a link per version
        text = drv.form()["schema"]["properties"]["text"]["default"]
        ui_answer = d.annonce(text)
        results: dict[str, Any] = {}
        barrier = threading.Barrier(2)

        def by_ui() -> None:
            barrier.wait()
            results["ui"] = d.submit_form(run_id, ui_answer)[0]

        def by_link() -> None:
            barrier.wait()
            results["link"] = "Réponse enregistrée" in portal.post(url, data={"decision": "approuver"}).text

        import contextvars

        threads = [threading.Thread(target=contextvars.copy_context().run, args=(f,)) for f in (by_ui, by_link)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results.values()) == [False, True], results
        drv.run()
        assert drv.form()["key"] == "applications-1"
        loser = html.unescape(portal.get(url).text)
        assert "déjà reçu une réponse (approuvée)" in loser
        with unit_of_work() as s:
            events = s.scalars(
                select(AuditEvent).where(AuditEvent.mission_id == mission_id, AuditEvent.action == "annonce")
            ).all()
            actors = {e.step_key: e.actor for e in events}
            assert actors["annonce-review-1"] == "Les Restos du Quartier (association)"
            assert len([k for k in actors if k.startswith("annonce-review-2")]) == 1
            assert s.get(Mission, mission_id).status is MissionStatus.PUBLISHED  # type: ignore[union-attr]

        # the annonce mails carry the volunteer's own links; one click applies
        annonce = next(m for m in mail.messages if m["X-Passerelles-Kind"] == "annonce")
        assert annonce["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        to = annonce["To"]
        apply = link_in(mail, "annonce", Purpose.APPLY, to=to)
        assert portal.post(apply, data={"message": "Je connais WordPress."}).status_code == 200
        assert "déjà enregistrée" in portal.post(apply, data={"message": ""}).text
    form = drv.form()  # the form waiting for the Passerelle shows it already, ranked, with its channel
    assert form["key"] == "applications-1" and "Je connais WordPress." in form["description"]
    assert "lien de l'annonce" in form["description"]
    drv.resume(d.applications(decision="attendre d'autres candidatures"))
    form = drv.form()
    assert form["key"] == "applications-2" and "Je connais WordPress." in form["description"]
    assert [m["To"] for m in mail.messages if m["X-Passerelles-Kind"] == "application_received"] == [
        "claire.muller@pc.example"
    ]


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_association_validates_the_roadmap_and_gives_its_bilan_by_link(lifecycle) -> None:
    """The Passerelle sends the roadmap; the association asks for changes, then validates the next sending, which
    closes the search; at the end it gives its own bilan, which the Passerelle completes."""
    from models import AuditEvent, PartyAnswer, Review
    from portal.app import app

    mail = lifecycle
    mission_id, _, drv = d.published()
    drv.resume(d.applications("V-0002"))
    chosen = drv.form()["schema"]["properties"]["selected"]["items"]["enum"][0]
    drv.resume(d.selection([chosen]))
    assert drv.form()["key"] == "roadmap"
    send = "la faire valider par l'association (lien par mail)"
    drv.resume(d.roadmap(decision=send, validated_by_association=False))
    form = drv.form()
    assert form["key"] == "roadmap-essai-2" and "En attente" in form["description"]
    assert form["schema"]["properties"]["objectives"]["default"][0]["objective"] == "Maquette validée"  # kept
    first = link_in(mail, "roadmap_to_approve", Purpose.ROADMAP, to="contact@restos.example")
    with TestClient(app) as portal:
        page = html.unescape(portal.get(first).text)
        assert "Maquette validée" in page and "Je valide cette feuille de route" in page
        assert portal.post(first, data={"decision": "reviser", "remarks": ""}).status_code == 422
        assert (
            "remarques sont transmises"
            in portal.post(first, data={"decision": "reviser", "remarks": "Ajoutez une formation."}).text
        )
        drv.run()
        form = drv.form()
        assert form["key"] == "roadmap-essai-3" and "Ajoutez une formation." in form["description"]
        drv.resume(d.roadmap(decision=send, validated_by_association=False, notes="Formation ajoutée"))
        second = link_in(mail, "roadmap_to_approve", Purpose.ROADMAP)
        assert second != first and "plus récente" in html.unescape(portal.get(first).text)
        assert (
            "validation de la feuille de route est transmise"
            in portal.post(second, data={"decision": "approuver"}).text
        )
        drv.run()
        form = drv.form()  # the association validated; the retained volunteer has not agreed yet
        assert form["key"] == "roadmap-essai-5" and "en attente de l'accord de V-0002" in form["description"]
        agree = link_in(mail, "roadmap_to_agree", Purpose.ROADMAP_AGREEMENT)
        assert "Formation ajoutée" in html.unescape(portal.get(agree).text)  # the roadmap as last sent
        said = portal.post(agree, data={"decision": "accord"})
        assert said.status_code == 200 and "la recherche est close" in said.text
        drv.run()
        assert drv.form()["key"] == "check-in-1"
        assert "déjà validée" in html.unescape(portal.get(agree).text)
        with unit_of_work() as s:
            assert s.get(Mission, mission_id).status is MissionStatus.IN_PROGRESS  # type: ignore[union-attr]
            actor = s.scalar(
                select(AuditEvent.actor).where(AuditEvent.mission_id == mission_id, AuditEvent.action == "roadmap")
            )
            assert actor == "Les parties, par leurs liens (automatique)"  # the last agreement closed it
        assert "déjà reçu une réponse" in html.unescape(portal.get(second).text)

        drv.resume(d.check_in(decision="mission terminée : passer au bilan"))
        assert drv.form()["key"] == "review"
        bilan = link_in(mail, "review_to_give", Purpose.REVIEW, to="contact@restos.example")
        assert portal.post(bilan, data={"note": "9"}).status_code == 422  # 1 to 5
        no_text = portal.post(bilan, data={"note": "4", "publier": "oui"})  # a consent to publish nothing
        assert no_text.status_code == 422 and "Écrivez votre témoignage" in html.unescape(no_text.text)
        given = {"note": "4", "refaire": "oui", "temoignage": "Un site enfin à jour !", "publier": "oui"}
        assert "Merci pour votre bilan" in portal.post(bilan, data=given).text
        assert "déjà enregistré" in html.unescape(portal.post(bilan, data=given).text)  # once
        form = drv.form()  # the same form, written again: the half shows, its values prefilled
        assert (
            form["key"] == "review"
            and "4/5, referait — « Un site enfin à jour ! » (publication acceptée)" in (form["description"])
        )
        assert "V-0002" in form["description"] and "pas encore répondu" in form["description"]
        properties = form["schema"]["properties"]
        assert properties["association_rating"]["default"] == 4
        assert properties["testimony"]["default"] == "Un site enfin à jour !"
        mine = link_in(mail, "review_to_give_volunteer", Purpose.VOLUNTEER_REVIEW)
        assert "Referiez-vous une mission" in html.unescape(portal.get(mine).text)
        said = {"note": "5", "refaire": "oui", "temoignage": "J'ai beaucoup appris."}  # not for publication
        assert "Merci pour votre bilan" in portal.post(mine, data=said).text
    form = drv.form()
    properties = form["schema"]["properties"]
    assert properties["volunteer_rating"]["default"] == 5
    assert properties["testimony"]["default"] == "Un site enfin à jour !"  # only what may be published
    assert "« J'ai beaucoup appris. » (publication non autorisée)" in form["description"]
    fr = drv.resume(
        {
            **{k: v["default"] for k, v in properties.items() if "default" in v},
            "decision": "enregistrer le bilan et terminer la mission",
            "cancel_reason": "",
        }
    )
    assert fr.state is not None and fr.state.name == "Terminée"
    with unit_of_work() as s:
        review = s.scalar(select(Review).where(Review.mission_id == mission_id))
        assert review is not None and (review.association_rating, review.volunteer_rating) == (4, 5)
        consents = {
            p.party: (p.consent_at is not None, p.consent_wording[:20])
            for p in s.scalars(
                select(PartyAnswer).where(PartyAnswer.mission_id == mission_id, PartyAnswer.step == "review")
            )
        }
        assert consents == {"association": (True, "J'accepte que Passer"), "v2": (False, "")}
        assert review.testimony == "Un site enfin à jour !"


def test_a_volunteer_downloads_everything_held_about_them_from_the_preferences(portal: TestClient) -> None:
    """Right of access (RGPD art. 15): a signed link on the preferences page gives a JSON file of the profile,
    consents, applications and missions; a link made for another purpose, or for someone erased, gives nothing."""
    from tasks.privacy import erase_volunteer

    with unit_of_work() as s:
        m = published_mission(s)
        s.add(Application(mission_id=m.id, volunteer_id=1, channel=Channel.LINK, message="Disponible le mardi"))
        s.add(ConsentRecord(volunteer_id=1, kind="announcements", granted=True, source="import"))
        reference = m.reference
    page = html.unescape(portal.get(path(links.link(Purpose.PREFERENCES, v=1))).text)
    found = re.search(r'href="([^"]*/mes-donnees/[^"]+)"', page)
    assert found and "droit d'accès" in page
    r = portal.get(path(found.group(1)))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.headers["content-disposition"] == 'attachment; filename="mes-donnees-V-0001.json"'
    data = json.loads(r.content.decode("utf-8"))
    assert data["profil"]["prenom"] == "Prénom1" and data["profil"]["email"] == "benevole1@exemple.fr"
    assert data["competences"] and data["competences"][0]["competence"] == "Conception de site internet"
    [consent] = data["consentements"]
    assert consent["donne"] and consent["texte"].startswith("J'accepte de recevoir par e-mail")
    [application] = data["candidatures"]
    assert application["mission"] == reference and application["message"] == "Disponible le mardi"
    assert application["statut"] == "Reçue" and data["missions"] == []  # not retained (yet)

    wrong = portal.get(path(links.link(Purpose.PREFERENCES, v=1)).replace("/preferences/", "/mes-donnees/"))
    assert wrong.status_code == 400 and "Lien invalide" in html.unescape(wrong.text)
    with unit_of_work() as s:
        erase_volunteer(s, "V-0001", reason="demande du 7 décembre 2026")
    gone = portal.get(path(found.group(1)))
    assert gone.status_code == 409 and "a été effacée" in html.unescape(gone.text)
