"""Each party answers its own part (issue 21): a mission needing two volunteers, from the selection to the bilan,
on a real Prefect server and PostgreSQL, every outside answer through the portal's links as the people would.

Both retained volunteers agree to the roadmap by link and the association validates it: the search closes (the
reserve thanked once). At the check-in date the association and each volunteer are asked for their news, which
prefill the Passerelle's check-in; one volunteer withdraws and is replaced from the reserve, who agrees to the
roadmap sent again; both volunteers and the association give their bilan by link, consents stored. Links left
unanswered are reminded twice, then the Passerelle is told; bad inputs on the new links change nothing."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from models import Application, ApplicationStatus, Mission, MissionStatus, OutboxMail, PartyAnswer, Review
from models.base import utcnow
from models.db import unit_of_work
from tasks.links import Purpose, link
from tasks.outsiders import remind_outsiders, reminders_due
from tasks.steps.withdrawal import DECISION
from tests import lifecycle_driver as d

SEND = "la faire valider par l'association (lien par mail)"


def links(mail, kind: str, purpose: Purpose) -> dict[str, str]:
    """The portal path of the last `kind` mail's link, per recipient."""
    out = {}
    for m in mail.messages:
        if m["X-Passerelles-Kind"] == kind:
            found = re.search(rf"https?://\S+/{purpose.value}/\S+", m.get_body(("plain",)).get_content())
            assert found is not None
            out[str(m["To"])] = re.sub(r"^https?://[^/]+", "", found.group(0))
    return out


def kinds(mail) -> list[str]:
    return [m["X-Passerelles-Kind"] for m in mail.messages]


def statuses(mission_id: int) -> dict[int, str]:
    with unit_of_work() as s:
        q = select(Application.volunteer_id, Application.status).where(Application.mission_id == mission_id)
        return {v: str(st) for v, st in s.execute(q).tuples()}


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_volunteers_from_selection_to_bilan_each_answering_by_link(lifecycle) -> None:
    from portal.app import app
    from tasks.monitoring import send_reminders

    mail = lifecycle
    mission_id, run_id = d.open_and_start()
    drv = d.Driver(run_id)
    drv.run()
    drv.resume(d.needs_analysis(volunteers_needed=2))
    drv.resume(drv.shown_annonce())
    drv.resume(d.applications("V-0001\nV-0002\nV-0003"))
    labels = sorted(drv.choices("selected"))
    one, two, three = labels
    drv.resume(d.selection([one, two]))
    assert statuses(mission_id) == {1: "selected", 2: "selected", 3: "reserve"}

    # The roadmap as prefilled is sent: to the association and to each retained volunteer, each with their link.
    form = drv.form()
    assert form["key"] == "roadmap" and "feuille de route pas encore envoyée" in form["description"]
    drv.resume({k: v["default"] for k, v in form["schema"]["properties"].items() if "default" in v})
    to_agree = links(mail, "roadmap_to_agree", Purpose.ROADMAP_AGREEMENT)
    assert sorted(to_agree) == ["benevole1@exemple.fr", "benevole2@exemple.fr"]
    [to_validate] = links(mail, "roadmap_to_approve", Purpose.ROADMAP).values()
    with TestClient(app) as portal:
        first = to_agree["benevole1@exemple.fr"]
        page = html.unescape(portal.get(first).text)
        assert "Je suis d'accord avec cette feuille de route" in page and "Prénom1" in page
        # bad inputs: forged, another mission's, 10 kB, HTML, no choice — a French page, nothing written
        assert portal.get(first[:-4] + "abcd").status_code == 400
        other = re.sub(r"^https?://[^/]+", "", link(Purpose.ROADMAP_AGREEMENT, v=1, m=mission_id + 99, k="roadmap"))
        assert portal.post(other, data={"decision": "accord"}).status_code == 409
        assert portal.post(first, data={"decision": "modifier", "remarks": "x" * 10_000}).status_code == 422
        assert "balises HTML" in html.unescape(
            portal.post(first, data={"decision": "modifier", "remarks": "<b>non</b>"}).text
        )
        assert portal.post(first, data={"decision": "peut-être"}).status_code == 422
        assert portal.post(first, data={"decision": "accord"}).status_code == 200
        again = portal.post(first, data={"decision": "accord"})
        assert again.status_code == 409 and "déjà répondu" in html.unescape(again.text)
        form = drv.form()  # the Passerelle's form shows it at once, without a new key
        assert form["key"] == "roadmap-essai-2" and "✅ d'accord le" in form["description"]
        assert "Prénom2 Nom2 : pas encore répondu" in form["description"]

        # The Passerelle presses Resume on the waiting form as shown: it goes on waiting, the links still answer.
        drv.resume({k: v["default"] for k, v in form["schema"]["properties"].items() if "default" in v})
        assert drv.form()["key"] == "roadmap-essai-3"
        # The association validates; one volunteer is missing: the search stays open.
        assert portal.post(to_validate, data={"decision": "approuver"}).status_code == 200
        drv.run()
        form = drv.form()
        assert form["key"] == "roadmap-essai-4" and f"en attente de l'accord de {two}" in form["description"]
        assert kinds(mail).count("roadmap_to_agree") == 2  # waiting again sent nothing again
        assert statuses(mission_id)[3] == "reserve"
        # The second volunteer agrees: every agreement is in, the step is answered, the search closes.
        said = portal.post(to_agree["benevole2@exemple.fr"], data={"decision": "accord"})
        assert "la recherche est close" in said.text
        drv.run()
        assert drv.form()["key"] == "check-in-1"
        assert statuses(mission_id) == {1: "selected", 2: "selected", 3: "closed"}
        assert kinds(mail).count("search_closed") == 1 and kinds(mail).count("reserve") == 1

        # At the check-in date, each party is asked for its news, once however often the job runs.
        send_reminders.fn(today=d.today() + timedelta(days=31))
        send_reminders.fn(today=d.today() + timedelta(days=32))
        d.send_queued()
        news = links(mail, "check_in_news", Purpose.NEWS)
        assert sorted(news) == ["benevole1@exemple.fr", "benevole2@exemple.fr", "contact@restos.example"]
        assert kinds(mail).count("check_in_news") == 3
        assert portal.post(news["contact@restos.example"], data={"nouvelles": "bof"}).status_code == 422
        difficulty = {"nouvelles": "une difficulté", "commentaire": "Le bénévole 2 ne répond plus."}
        assert "informé(e)" in html.unescape(portal.post(news["contact@restos.example"], data=difficulty).text)
        assert portal.post(news["benevole1@exemple.fr"], data={"nouvelles": "ça avance"}).status_code == 200
        form = drv.form()
        assert form["key"] == "check-in-1"
        assert form["schema"]["properties"]["status"]["default"] == "à risque"  # the worst news given
        assert "Le bénévole 2 ne répond plus." in form["schema"]["properties"]["notes"]["default"]
        d.send_queued()
        assert "party_answered" in kinds(mail)  # the Passerelle told of the difficulty at once

        # Volunteer 2 withdraws at the check-in; volunteer 3, from the reserve, takes the place.
        answer = {k: v["default"] for k, v in form["schema"]["properties"].items() if "default" in v}
        drv.resume({**answer, "decision": DECISION, "withdrawn": [two]})
        assert drv.form()["key"] == "selection-retour-1"
        drv.resume(d.selection([three]))
        assert statuses(mission_id) == {1: "selected", 2: "withdrawn", 3: "selected"}
        form = drv.form()
        assert form["key"] == "roadmap-retour-1"
        drv.resume({k: v["default"] for k, v in form["schema"]["properties"].items() if "default" in v})
        again = links(mail, "roadmap_to_agree", Purpose.ROADMAP_AGREEMENT)
        assert again["benevole1@exemple.fr"] != first  # a new sending: agreed again
        assert "plus récente" in html.unescape(portal.get(first).text)
        withdrawn = portal.get(to_agree["benevole2@exemple.fr"])
        assert "plus) retenu(e)" in html.unescape(withdrawn.text)
        assert portal.post(again["benevole1@exemple.fr"], data={"decision": "accord"}).status_code == 200
        assert portal.post(again["benevole3@exemple.fr"], data={"decision": "accord"}).status_code == 200
        [validate] = [p for to, p in links(mail, "roadmap_to_approve", Purpose.ROADMAP).items()]
        assert portal.post(validate, data={"decision": "approuver"}).status_code == 200
        drv.run()
        form = drv.form()
        assert form["key"].startswith("check-in-2"), form["key"]
        drv.resume(d.check_in(decision="mission terminée : passer au bilan"))
        assert drv.form()["key"] == "review-retour-1"

        # Each party gives its half of the bilan by its link, with or without consenting to publish.
        bilans = links(mail, "review_to_give_volunteer", Purpose.VOLUNTEER_REVIEW)
        assert sorted(bilans) == ["benevole1@exemple.fr", "benevole3@exemple.fr"]  # not who withdrew
        [association] = links(mail, "review_to_give", Purpose.REVIEW).values()
        mine = {"note": "5", "refaire": "oui", "temoignage": "Une équipe formidable.", "publier": "oui"}
        assert portal.post(bilans["benevole1@exemple.fr"], data=mine).status_code == 200
        assert (
            portal.post(
                bilans["benevole3@exemple.fr"], data={"note": "3", "refaire": "non", "temoignage": "Trop court."}
            ).status_code
            == 200
        )
        assert (
            portal.post(
                association, data={"note": "4", "refaire": "oui", "temoignage": "Merci !", "publier": "oui"}
            ).status_code
            == 200
        )
    form = drv.form()
    properties = form["schema"]["properties"]
    assert properties["volunteer_rating"]["default"] == 4 and properties["association_rating"]["default"] == 4
    assert properties["volunteer_would_redo"]["default"] is False
    assert properties["testimony"]["default"] == "Merci !\n\nUne équipe formidable."  # only what may be published
    fr = drv.resume(
        {
            **{k: v["default"] for k, v in properties.items() if "default" in v},
            "decision": "enregistrer le bilan et terminer la mission",
            "consent_by_phone": [three],  # volunteer 3 agreed afterwards, on the phone
        }
    )
    assert fr.state is not None and fr.state.name == "Terminée"
    with unit_of_work() as s:
        assert s.get(Mission, mission_id).status is MissionStatus.COMPLETED  # type: ignore[union-attr]
        review = s.scalar(select(Review).where(Review.mission_id == mission_id))
        assert review is not None and (review.association_rating, review.volunteer_rating) == (4, 4)
        halves = {
            p.party: (p.rating, p.consent_at is not None, bool(p.consent_wording))
            for p in s.scalars(
                select(PartyAnswer).where(PartyAnswer.mission_id == mission_id, PartyAnswer.step == "review")
            )
        }
        assert halves == {"association": (4, True, True), "v1": (5, True, True), "v3": (3, True, True)}
        phone = s.scalar(
            select(PartyAnswer).where(
                PartyAnswer.mission_id == mission_id, PartyAnswer.party == "v3", PartyAnswer.step == "review"
            )
        )
        assert phone is not None and phone.comment == "Trop court." and "hors lien" in phone.consent_wording
        keys = list(s.scalars(select(OutboxMail.dedup_key).where(OutboxMail.mission_id == mission_id)))
    assert len(keys) == len(set(keys))  # no mail twice


def test_reminders_due_counts_whole_delays() -> None:
    now = utcnow()
    assert reminders_due(now, now, 5) == 0
    assert reminders_due(now - timedelta(days=4, hours=23), now, 5) == 0
    assert reminders_due(now - timedelta(days=5), now, 5) == 1
    assert reminders_due(now - timedelta(days=10), now, 5) == 2
    assert reminders_due(now - timedelta(days=40), now, 5) == 3  # then the Passerelle is told, and no more


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_link_left_unanswered_is_reminded_twice_then_the_passerelle_is_told(app_db) -> None:
    """The roadmap sent to a volunteer who does not answer: one reminder after 5 days, a second after 10, then the
    Passerelle is told once; nothing more however often the job runs, and nothing once they answered."""
    from tasks import parties, portal
    from tasks.steps import ROADMAP

    d.seed_small()
    with unit_of_work() as s:
        m = d.new_mission(s)
        m.status = MissionStatus.SELECTED
        s.flush()
        for vid in (1, 2):
            s.add(Application(mission_id=m.id, volunteer_id=vid, status=ApplicationStatus.SELECTED))
        s.flush()
        from tasks.steps.roadmap import ask_parties

        roadmap = d.roadmap()
        ask_parties(s, m, "roadmap-essai-2", roadmap, {"decision": SEND})
        mission_id = m.id
    with unit_of_work() as s:
        portal.answer_roadmap(s, 2, mission_id, "roadmap-essai-2", "accord", "")
    now = utcnow()
    for days in (1, 5, 6, 10, 11, 15, 16, 30):
        with unit_of_work() as s:
            remind_outsiders(s, now + timedelta(days=days))
    with unit_of_work() as s:
        rows = s.scalars(select(OutboxMail).where(OutboxMail.mission_id == mission_id)).all()
        reminders = sorted((r.to_address, r.dedup_key.rsplit(":", 1)[1]) for r in rows if r.kind == "party_reminder")
        silent = [r.to_address for r in rows if r.kind == "party_silent"]
        reminder = next(r for r in rows if r.kind == "party_reminder")
        assert parties.latest_sending(s, mission_id) == "roadmap-essai-2" and ROADMAP.key == "roadmap"
    # the association (validation) and volunteer 1 (agreement) reminded twice; volunteer 2 answered: nothing
    assert reminders == [
        ("benevole1@exemple.fr", "1"),
        ("benevole1@exemple.fr", "2"),
        ("contact@restos.example", "1"),
        ("contact@restos.example", "2"),
    ]
    assert silent == ["claire.muller@pc.example", "claire.muller@pc.example"]
    assert "/accord-feuille-de-route/" in reminder.text_body or "/feuille-de-route/" in reminder.text_body


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_bad_answers_on_the_news_and_bilan_links_change_nothing(app_db, monkeypatch) -> None:
    """Forged, expired, another mission's, 10 kB, HTML, not retained, twice: a French page, nothing written."""
    import time

    from itsdangerous.timed import TimestampSigner

    from portal.app import app

    d.seed_small()
    with unit_of_work() as s:
        m = d.new_mission(s)
        m.status = MissionStatus.IN_PROGRESS
        s.flush()
        s.add(Application(mission_id=m.id, volunteer_id=1, status=ApplicationStatus.SELECTED))
        s.add(Application(mission_id=m.id, volunteer_id=2, status=ApplicationStatus.CLOSED))
        mission_id = m.id

    def path(purpose: Purpose, **payload: object) -> str:
        return re.sub(r"^https?://[^/]+", "", link(purpose, **payload))

    news = path(Purpose.NEWS, v=1, m=mission_id, k="check-in-1")
    bilan = path(Purpose.VOLUNTEER_REVIEW, v=1, m=mission_id, k="review")
    old = int(time.time()) - 90 * 86400
    with monkeypatch.context() as patched:
        patched.setattr(TimestampSigner, "get_timestamp", lambda self: old)
        expired = path(Purpose.NEWS, v=1, m=mission_id, k="check-in-1")
    with TestClient(app) as portal:
        assert portal.get(news).status_code == 200
        refusals = [
            (portal.post(news[:-4] + "abcd", data={"nouvelles": "ça avance"}), 400, "invalide"),
            (portal.post(expired, data={"nouvelles": "ça avance"}), 410, "expiré"),
            (portal.post(path(Purpose.NEWS, v=2, m=mission_id, k="check-in-1"), data={}), 409, "retenu(e)"),
            (portal.post(path(Purpose.NEWS, v=1, m=mission_id + 1, k="check-in-1"), data={}), 409, "n'existe pas"),
            (portal.post(path(Purpose.NEWS, v=1, m=mission_id, k="check-in-7"), data={}), 409, "déjà fait"),
            (portal.post(news, data={"nouvelles": "ça avance", "commentaire": "x" * 10_000}), 422, "2000 au plus"),
            (portal.post(news, data={"nouvelles": "ça avance", "commentaire": "<script>"}), 422, "balises HTML"),
            (portal.post(bilan, data={"note": "6"}), 422, "de 1 à 5"),
            (portal.post(bilan, data={"note": "4", "temoignage": "<i>x</i>"}), 422, "balises HTML"),
        ]
        for response, status, said in refusals:
            assert response.status_code == status and said in html.unescape(response.text), (status, said)
        with unit_of_work() as s:
            assert s.scalars(select(PartyAnswer)).all() == []  # nothing written
        assert portal.post(news, data={"nouvelles": "c'est bloqué", "commentaire": "Pas d'accès"}).status_code == 200
        twice = portal.post(news, data={"nouvelles": "ça avance"})
        assert twice.status_code == 409 and "déjà enregistrées" in html.unescape(twice.text)
    with unit_of_work() as s:
        [answer] = s.scalars(select(PartyAnswer)).all()
        assert (answer.party, answer.answer, answer.comment) == ("v1", "c'est bloqué", "Pas d'accès")
        told = s.scalars(select(OutboxMail).where(OutboxMail.kind == "party_answered")).all()
        assert [t.to_address for t in told] == ["claire.muller@pc.example"]


def test_an_outsiders_words_show_as_text_in_a_form() -> None:
    from tasks.parties import as_text

    shown = as_text("Voir ![logo](http://ailleurs.example/pixel.png) **urgent** <img src=x>\nsuite")
    assert shown == r"Voir !\[logo\](http://ailleurs.example/pixel.png) \*\*urgent\*\* \<img src=x\> suite"
    assert as_text("Un site enfin à jour !") == "Un site enfin à jour !"
