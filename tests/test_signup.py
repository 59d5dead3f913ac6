"""Volunteers come in from outside (issue 23, deliver 2, 4 and 3): they sign up on `/inscription`; they read a
published annonce's public page (`/missions/<reference>`) and apply from it, signing up on the way; they follow a
relay's forwarding link and apply « via » that relay. All through the double opt-in of `/confirmation/<secret>`;
every bad input answered in French with what was typed kept and nothing written. The app runs in-process (its
real ASGI stack) on the real test databases (SQLite and PostgreSQL); mails go through the outbox to a real SMTP
server; the relay's path runs a real mission run on a real Prefect server."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import func, select

from models import (
    Announcement,
    AnnouncementStatus,
    Application,
    ApplicationStatus,
    Channel,
    ConsentKind,
    ConsentRecord,
    ConsentSource,
    Mission,
    MissionStatus,
    OutboxMail,
    PublicSubmission,
    SubmissionStatus,
    Volunteer,
    VolunteerCompetence,
    VolunteerEvent,
)
from models.base import utcnow
from models.db import unit_of_work
from models.volunteer import CONSENT_VERSION
from portal import public
from tasks import links, notices
from tasks.links import Purpose
from tasks.report_rendering import render_csv
from tasks.reports import build_report
from tests import lifecycle_driver as d
from tests.test_portal import link_in, path, published_mission

GOOD = {
    "first_name": "Inès",
    "last_name": "Brunner",
    "email": "Ines.Brunner@exemple.fr",
    "phone": "",
    "profession": "Cheffe de projet web",
    "city": "Strasbourg",
    "branch": "",
    "c:site-web": "3",
    "c:wordpress": "2",
    "dispo:soirs": "oui",
    "dispo:distance": "oui",
    "annonces": "oui",
    "national": "oui",
    "site_web": "",
}
ADDRESS = "ines.brunner@exemple.fr"
ANNONCE_TEXT = "RECHERCHE BÉNÉVOLE — Refonte du site internet\nL'association cherche un ou une bénévole web."


@pytest.fixture
def site(app_db, mail_server) -> Iterator[TestClient]:
    from portal.app import app

    d.seed_small()
    public.reset_limits()
    with TestClient(app) as client:
        yield client
    public.reset_limits()


def submissions() -> list[PublicSubmission]:
    with unit_of_work() as s:
        found = list(s.scalars(select(PublicSubmission).order_by(PublicSubmission.id)))
        s.expunge_all()
        return found


def outbox(kind: str = "") -> list[OutboxMail]:
    with unit_of_work() as s:
        found = [m for m in s.scalars(select(OutboxMail).order_by(OutboxMail.id)) if not kind or m.kind == kind]
        s.expunge_all()
        return found


def volunteers() -> int:
    with unit_of_work() as s:
        return int(s.scalar(select(func.count()).select_from(Volunteer)) or 0)


def confirmation_path(mail_server: Any, to: str = ADDRESS) -> str:
    sent = [m for m in mail_server.messages if m["X-Passerelles-Kind"] == "confirm_address" and m["To"] == to]
    assert sent, f"no confirmation mail to {to}"
    found = re.search(r"https?://[^/\s]+(/confirmation/\S+)", sent[-1].get_body(("plain",)).get_content())
    assert found is not None
    return found.group(1)


def confirmation_text(mail_server: Any, to: str = ADDRESS) -> str:
    sent = [m for m in mail_server.messages if m["X-Passerelles-Kind"] == "confirm_address" and m["To"] == to]
    return str(sent[-1]["Subject"]) + "\n" + sent[-1].get_body(("plain",)).get_content()


def said(answer: Any) -> str:
    return html.unescape(answer.text)


def shown_again(answer: Any, typed: dict[str, str]) -> None:
    """The form came back with what was typed (text fields, ticked boxes, chosen levels)."""
    for name, value in typed.items():
        if name.startswith("c:") and value in ("1", "2", "3") and 'id="c-' + name[2:] + '"' in answer.text:
            block = answer.text.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
            assert f'value="{value}" selected' in block, name
        elif name in ("first_name", "last_name", "phone", "profession", "city", "email") and value:
            assert f'value="{escape(value)}"' in answer.text, name


def test_the_confirmation_mail_says_what_is_confirmed() -> None:
    from tasks.compose import compose

    p = {"known": True, "reference": "STR-2026-014", "title": "Refonte du site internet"}
    mail = compose(
        "confirm_address", form_kind="candidature", url="http://p/confirmation/x", hours=48, name="Inès", p=p
    )
    assert mail.subject == "Confirmez votre candidature à la mission STR-2026-014"
    assert "candidaté sur notre site à la mission STR-2026-014 « Refonte du site internet »" in mail.text
    assert "déjà inscrite chez nous" in mail.text and "http://p/confirmation/x" in mail.text
    mail = compose("confirm_address", form_kind="inscription", url="http://p/c", hours=48, name="", p={"known": 0})
    assert "Confirmez votre inscription de bénévole" in mail.subject and "déjà inscrite" not in mail.text


# --- 2. Volunteers sign up --------------------------------------------------------------------------


def test_the_signup_form_offers_the_taxonomy_time_slots_and_the_consents_wording(site: TestClient) -> None:
    page = site.get("/inscription")
    assert page.status_code == 200
    for shown in (
        "Web et numérique",
        "Conception de site internet",
        'name="c:site-web"',
        "expert",
        "en soirée",
        "le week-end",
        "à distance",
        "J'accepte de recevoir par e-mail les annonces de mission",
        'name="site_web"',
        'class="hp"',
        "Strasbourg",
    ):
        assert shown in said(page), shown
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_a_signup_is_kept_apart_until_confirmed_then_the_volunteer_is_recorded(
    site: TestClient, mail_server: Any
) -> None:
    before = volunteers()
    sent = site.post("/inscription", data=GOOD)
    assert sent.status_code == 200 and "Vérifiez votre boîte mail" in said(sent) and ADDRESS in said(sent)
    [row] = submissions()
    assert row.status is SubmissionStatus.AWAITING and row.payload["competences"] == {"site-web": 3, "wordpress": 2}
    assert row.payload["time_slots"] == ["soirs", "distance"] and row.payload["branch"] == "STR"
    assert volunteers() == before and [m.kind for m in outbox()] == ["confirm_address"]  # nothing else
    mail = confirmation_text(mail_server)
    assert "Confirmez votre inscription de bénévole" in mail and "déjà inscrite" not in mail
    link = confirmation_path(mail_server)
    shown = site.get(link)
    assert "Je confirme mon adresse" in said(shown) and "pour votre inscription" in said(shown)
    assert volunteers() == before  # opening the link (a mail client may) confirms nothing
    done = site.post(link)
    assert done.status_code == 200 and "Bienvenue Inès : votre inscription de bénévole est enregistrée" in said(done)
    with unit_of_work() as s:
        v = s.scalar(select(Volunteer).where(Volunteer.email == ADDRESS))
        assert v is not None and (v.first_name, v.last_name, v.phone) == ("Inès", "Brunner", "")
        assert v.time_slots == "soirs,distance" and v.profession == "Cheffe de projet web" and v.city == "Strasbourg"
        assert v.consent_announcements and v.consent_national and v.reachable
        levels = dict(
            s.execute(
                select(VolunteerCompetence.competence_id, VolunteerCompetence.level).where(
                    VolunteerCompetence.volunteer_id == v.id
                )
            )
            .tuples()
            .all()
        )
        assert sorted(levels.values()) == [2, 3]
        consents = s.scalars(select(ConsentRecord).where(ConsentRecord.volunteer_id == v.id)).all()
        assert {(c.kind, c.granted, c.source, c.wording_version) for c in consents} == {
            (ConsentKind.ANNOUNCEMENTS, True, ConsentSource.SIGNUP, CONSENT_VERSION),
            (ConsentKind.NATIONAL, True, ConsentSource.SIGNUP, CONSENT_VERSION),
        }
        [event] = s.scalars(select(VolunteerEvent).where(VolunteerEvent.volunteer_id == v.id)).all()
        assert event.source is ConsentSource.SIGNUP and "inscription en ligne" in event.actor
        row_after = s.get(PublicSubmission, row.id)
        assert row_after is not None and row_after.volunteer_id == v.id
    again = site.post(link)
    assert again.status_code == 409 and "déjà servi" in said(again) and volunteers() == before + 1


def test_a_known_address_updates_its_owner_only_once_confirmed(site: TestClient, mail_server: Any) -> None:
    """benevole2 signs up again with other details: nothing changes until the mail's link is confirmed; the mail
    says the address is known, the page what changed, the record keeps it."""
    with unit_of_work() as s:
        v = s.scalar(select(Volunteer).where(Volunteer.email == "benevole2@exemple.fr"))
        assert v is not None
        v.unsubscribed_at, v.consent_announcements = utcnow(), False
        vid = v.id
    typed = {
        **GOOD,
        "email": "Benevole2@exemple.fr",
        "first_name": "Prénom2",
        "last_name": "Nom2",
        "c:site-web": "1",
        "national": "",
        "dispo:distance": "",
    }
    assert site.post("/inscription", data=typed).status_code == 200
    with unit_of_work() as s:
        v = s.get(Volunteer, vid)
        assert v is not None and v.time_slots == "" and v.profession == "" and v.unsubscribed_at is not None
    assert "déjà inscrite chez nous" in confirmation_text(mail_server, "benevole2@exemple.fr")
    done = site.post(confirmation_path(mail_server, "benevole2@exemple.fr"))
    text = said(done)
    assert done.status_code == 200 and "votre fiche de bénévole est mise à jour" in text
    for change in (
        "métier : (vide) → Cheffe de projet web",
        "disponibilités : en soirée",
        "Site WordPress (confirmé)",
        "Conception de site internet : notions",
        "annonces de l'antenne : oui",
        "réinscrit(e) aux mails",
    ):
        assert change in text, change
    with unit_of_work() as s:
        v = s.get(Volunteer, vid)
        assert v is not None and v.time_slots == "soirs" and v.unsubscribed_at is None
        assert v.consent_national  # unticked on a sign-up is no withdrawal (the preferences page withdraws)
        events = s.scalars(select(VolunteerEvent).where(VolunteerEvent.volunteer_id == vid)).all()
        assert [e.source for e in events] == [ConsentSource.SIGNUP]
        assert "métier : (vide) → Cheffe de projet web" in events[0].changes["changes"]
    assert volunteers() == 6  # the seed's: not doubled


def test_an_archived_volunteer_signing_up_again_is_told_to_ask_the_branch(site: TestClient, mail_server: Any) -> None:
    with unit_of_work() as s:
        v = s.scalar(select(Volunteer).where(Volunteer.email == "benevole3@exemple.fr"))
        assert v is not None
        v.archived_at = utcnow()
    assert site.post("/inscription", data={**GOOD, "email": "benevole3@exemple.fr"}).status_code == 200
    link = confirmation_path(mail_server, "benevole3@exemple.fr")
    answer = site.post(link)
    assert answer.status_code == 409 and "archivée" in said(answer) and "Rien n'a été enregistré" in said(answer)
    assert submissions()[0].confirmed_at is None  # nothing written: the link still says the same


def test_a_filled_honeypot_keeps_nothing(site: TestClient, mail_server: Any) -> None:
    answer = site.post("/inscription", data={**GOOD, "site_web": "http://spam.example"})
    assert answer.status_code == 200 and "Vérifiez votre boîte mail" in said(answer)
    assert submissions() == [] and outbox() == [] and mail_server.messages == []


SIGNUP_REFUSALS = [
    ({"first_name": "<b>Inès</b>"}, "« Prénom » contient des balises HTML"),
    ({"profession": "Dev <script>x</script>"}, "« Métier » contient des balises HTML"),
    ({"last_name": "B" * 81}, "« Nom » compte 81 caractères : 80 au plus"),
    ({"profession": "p" * 121}, "« Métier » compte 121 caractères : 120 au plus"),
    ({"email": "ines@"}, "n'a rien après le « @ »"),
    ({"email": ""}, "Indiquez votre adresse e-mail"),
    ({"c:astrologie": "2"}, "La compétence « astrologie » n'est pas dans notre liste"),
    ({"c:site-web": "7"}, "Le niveau choisi pour « Conception de site internet » est inconnu"),
    ({"c:site-web": "0", "c:wordpress": "0"}, "Choisissez au moins une compétence"),
    ({"dispo:la-nuit": "oui"}, "Une disponibilité du formulaire est inconnue"),
    ({"annonces": ""}, "Les annonces nationales s'ajoutent à celles de votre antenne"),
    ({"branch": "ZZZ"}, "Choisissez une antenne de la liste"),
    ({"city": "Sélestat"}, "à quelle antenne rattacher « Sélestat »"),
    ({"city": ""}, "Choisissez votre antenne, ou indiquez votre ville"),
]


@pytest.mark.parametrize(("changes", "reason"), SIGNUP_REFUSALS)
def test_a_bad_signup_is_shown_again_with_the_reason_and_what_was_typed(
    site: TestClient, changes: dict[str, str], reason: str
) -> None:
    typed = {**GOOD, **changes}
    answer = site.post("/inscription", data=typed)
    assert answer.status_code == 422 and reason in said(answer), said(answer)[:3000]
    shown_again(answer, typed)
    assert 'name="dispo:soirs" value="oui" checked' in answer.text
    assert submissions() == [] and outbox() == []


def test_signup_rate_limits_and_an_oversized_body(site: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(3):
        assert site.post("/inscription", data=GOOD).status_code == 200
    fourth = site.post("/inscription", data=GOOD)
    assert fourth.status_code == 429 and "Plusieurs demandes de confirmation ont déjà été envoyées" in said(fourth)
    shown_again(fourth, GOOD)
    public.reset_limits()
    monkeypatch.setattr(public, "PER_IP", public.parse("1/hour"))
    assert site.post("/inscription", data={**GOOD, "email": "a@exemple.fr"}).status_code == 200
    over = site.post("/inscription", data={**GOOD, "email": "b@exemple.fr"})
    assert over.status_code == 429 and "depuis votre connexion" in said(over)
    assert len(submissions()) == 4
    big = site.post("/inscription", data={**GOOD, "profession": "x" * 70_000})
    assert big.status_code == 413 and "trop long" in said(big) and len(submissions()) == 4


def test_an_expired_signup_link_records_nobody(site: TestClient, mail_server: Any) -> None:
    before = volunteers()
    assert site.post("/inscription", data=GOOD).status_code == 200
    link = confirmation_path(mail_server)
    with unit_of_work() as s:
        row = s.scalar(select(PublicSubmission))
        assert row is not None
        row.expires_at = utcnow() - timedelta(minutes=1)
    answer = site.post(link)
    assert answer.status_code == 410 and "a expiré" in said(answer) and volunteers() == before
    assert site.get(link[:-4] + "abcd").status_code == 400


def test_a_confirmed_signup_keeps_no_copy_of_the_person_and_erasure_reaches_it(
    site: TestClient, mail_server: Any
) -> None:
    from tasks.privacy import erase_volunteer

    mission_id, reference = annonce_mission()
    assert site.post(f"/missions/{reference}", data={**GOOD, "message": "Disponible le soir."}).status_code == 200
    assert site.post(confirmation_path(mail_server)).status_code == 200
    [row] = submissions()
    assert not {"first_name", "last_name", "email", "phone", "city", "profession", "message"} & set(row.payload)
    assert row.payload["mission_id"] == mission_id and row.volunteer_id is not None
    with unit_of_work() as s:
        erasure = erase_volunteer(s, f"V-{row.volunteer_id:04d}", reason="demande de la personne")
        assert erasure.rows["public_submission"] == 1
    assert submissions() == []


# --- 4. A public page per published annonce -----------------------------------------------------------------------


def annonce_mission(status: MissionStatus = MissionStatus.PUBLISHED) -> tuple[int, str]:
    """A mission whose approved annonce is out (the state the lifecycle leaves it in): (id, reference)."""
    with unit_of_work() as s:
        m = published_mission(s)
        s.add(Announcement(mission_id=m.id, round=1, text=ANNONCE_TEXT, status=AnnouncementStatus.APPROVED))
        m.status = status
        s.flush()
        return m.id, m.reference


def set_status(mission_id: int, status: MissionStatus) -> None:
    with unit_of_work() as s:
        m = s.get(Mission, mission_id)
        assert m is not None
        m.status = status


def applications_of(mission_id: int) -> list[Application]:
    with unit_of_work() as s:
        found = list(s.scalars(select(Application).where(Application.mission_id == mission_id)))
        s.expunge_all()
        return found


def test_the_public_page_shows_the_annonce_and_nobodys_personal_data(site: TestClient) -> None:
    mission_id, reference = annonce_mission()
    page = site.get(f"/missions/{reference}")
    text = said(page)
    assert page.status_code == 200 and "L'association cherche un ou une bénévole web." in text
    assert "Les Restos du Quartier" in text and reference in text and "Je m'inscris et je candidate" in text
    for personal in ("Paul Weber", "contact@restos.example", "Claire", "claire.muller", "Muller"):
        assert personal not in text, personal  # the association's contact, the Passerelle: nobody
    assert 'name="message"' in text and 'option value="STR" selected' in page.text  # the mission's branch
    assert site.get(f"/missions/{reference.lower()}").status_code == 200
    listed = site.get("/missions")
    assert listed.status_code == 200 and f'href="/missions/{reference}"' in listed.text
    with unit_of_work() as s:
        m = s.get(Mission, mission_id)
        assert m is not None
        assert links.annonce_url(reference) in notices.social_text(s, m)  # the social networks' post gives it


def test_a_stranger_applies_from_the_public_page_once_their_address_is_confirmed(
    site: TestClient, mail_server: Any
) -> None:
    mission_id, reference = annonce_mission()
    before = volunteers()
    sent = site.post(f"/missions/{reference}", data={**GOOD, "message": "Disponible le soir."})
    assert sent.status_code == 200 and "Vérifiez votre boîte mail" in said(sent)
    assert volunteers() == before and applications_of(mission_id) == []
    assert [m.kind for m in outbox()] == ["confirm_address"]  # the Passerelle hears of nothing yet
    mail = confirmation_text(mail_server)
    assert f"Confirmez votre candidature à la mission {reference}" in mail
    link = confirmation_path(mail_server)
    assert "votre inscription et votre candidature" in said(site.get(link))
    done = site.post(link)
    assert done.status_code == 200, said(done)
    assert "Bienvenue Inès" in said(done) and f"Votre candidature à la mission {reference}" in said(done)
    [app] = applications_of(mission_id)
    assert app.channel is Channel.PUBLIC_PAGE and app.status is ApplicationStatus.RECEIVED
    assert app.message == "Disponible le soir." and app.relayed_by_id is None and app.score is not None
    assert [m.kind for m in outbox()] == ["confirm_address", "application_received"]  # the Passerelle told
    with unit_of_work() as s:
        v = s.get(Volunteer, app.volunteer_id)
        assert v is not None and v.email == ADDRESS and v.consent_announcements
    assert site.post(link).status_code == 409 and len(applications_of(mission_id)) == 1


def test_an_application_from_the_page_after_the_selection_is_in_reserve(site: TestClient, mail_server: Any) -> None:
    mission_id, reference = annonce_mission(MissionStatus.SELECTED)
    assert site.post(f"/missions/{reference}", data=GOOD).status_code == 200
    assert site.post(confirmation_path(mail_server)).status_code == 200
    [app] = applications_of(mission_id)
    assert app.status is ApplicationStatus.RESERVE and app.channel is Channel.PUBLIC_PAGE
    assert {"application_received", "reserve"} <= {m.kind for m in outbox()}


def test_a_known_volunteer_applying_from_the_page_is_recognised(site: TestClient, mail_server: Any) -> None:
    mission_id, reference = annonce_mission()
    typed = {**GOOD, "email": "benevole2@exemple.fr", "first_name": "Prénom2", "last_name": "Nom2"}
    assert site.post(f"/missions/{reference}", data=typed).status_code == 200
    assert "déjà inscrite chez nous" in confirmation_text(mail_server, "benevole2@exemple.fr")
    done = site.post(confirmation_path(mail_server, "benevole2@exemple.fr"))
    assert done.status_code == 200 and "votre fiche de bénévole est mise à jour" in said(done)
    [app] = applications_of(mission_id)
    with unit_of_work() as s:
        v = s.get(Volunteer, app.volunteer_id)
        assert v is not None and v.email == "benevole2@exemple.fr"
    assert volunteers() == 6


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"message": "Voici <a href='http://x'>mon site</a>"}, "« Votre message » contient des balises HTML"),
        ({"message": "m" * 2001}, "« Votre message » compte 2001 caractères : 2000 au plus"),
        ({"email": "ines@"}, "n'a rien après le « @ »"),
        ({"c:astrologie": "3"}, "La compétence « astrologie » n'est pas dans notre liste"),
        ({"first_name": "<i>Inès</i>"}, "« Prénom » contient des balises HTML"),
    ],
)
def test_a_bad_application_from_the_page_is_shown_again_and_keeps_nothing(
    site: TestClient, changes: dict[str, str], reason: str
) -> None:
    mission_id, reference = annonce_mission()
    typed = {**GOOD, "message": "Disponible le soir.", **changes}
    answer = site.post(f"/missions/{reference}", data=typed)
    assert answer.status_code == 422 and reason in said(answer)
    assert escape(typed["message"][:4000]) in answer.text and "L'association cherche un ou une bénévole" in said(answer)
    shown_again(answer, typed)
    assert submissions() == [] and outbox() == [] and applications_of(mission_id) == []


def test_an_oversized_application_is_refused(site: TestClient) -> None:
    _, reference = annonce_mission()
    answer = site.post(f"/missions/{reference}", data={**GOOD, "message": "x" * 70_000})
    assert answer.status_code == 413 and "trop long" in said(answer) and submissions() == []


def test_the_page_s_honeypot_and_rate_limit(site: TestClient, mail_server: Any) -> None:
    _, reference = annonce_mission()
    robot = site.post(f"/missions/{reference}", data={**GOOD, "site_web": "x"})
    assert robot.status_code == 200 and submissions() == [] and mail_server.messages == []
    for _ in range(3):
        assert site.post(f"/missions/{reference}", data=GOOD).status_code == 200
    fourth = site.post(f"/missions/{reference}", data=GOOD)
    assert fourth.status_code == 429 and "Plusieurs demandes de confirmation" in said(fourth)
    shown_again(fourth, GOOD)
    assert len(submissions()) == 3


@pytest.mark.parametrize(
    ("status", "said_", "code"),
    [
        (MissionStatus.CANCELLED, "elle a été annulée", 410),
        (MissionStatus.IN_PROGRESS, "la recherche est close", 410),
        (MissionStatus.COMPLETED, "la recherche est close", 410),
    ],
)
def test_the_page_is_gone_when_the_search_closes_or_the_mission_is_cancelled(
    site: TestClient, status: MissionStatus, said_: str, code: int
) -> None:
    mission_id, reference = annonce_mission()
    set_status(mission_id, status)
    for answer in (site.get(f"/missions/{reference}"), site.post(f"/missions/{reference}", data=GOOD)):
        assert (
            answer.status_code == code and "Cette annonce n'est plus ouverte" in said(answer) and said_ in said(answer)
        )
        assert "Je m'inscris et je candidate" not in said(answer)
    assert submissions() == [] and reference not in site.get("/missions").text


def test_an_annonce_never_published_has_no_page(site: TestClient) -> None:
    with unit_of_work() as s:
        m = d.new_mission(s)  # requested: no annonce yet
        reference = m.reference
    assert site.get(f"/missions/{reference}").status_code == 404
    assert site.get("/missions/STR-1999-999").status_code == 404
    answer = site.post(f"/missions/{reference}", data=GOOD)
    assert answer.status_code == 404 and "Annonce introuvable" in said(answer) and submissions() == []


def test_an_annonce_closed_before_the_confirmation_keeps_the_signup_only(site: TestClient, mail_server: Any) -> None:
    mission_id, reference = annonce_mission()
    assert site.post(f"/missions/{reference}", data=GOOD).status_code == 200
    set_status(mission_id, MissionStatus.CANCELLED)
    done = site.post(confirmation_path(mail_server))
    assert done.status_code == 200 and "ne reçoit plus de candidatures" in said(done) and "Bienvenue" in said(done)
    assert applications_of(mission_id) == [] and volunteers() == 7


def test_an_expired_application_link_records_nothing(site: TestClient, mail_server: Any) -> None:
    mission_id, reference = annonce_mission()
    assert site.post(f"/missions/{reference}", data=GOOD).status_code == 200
    with unit_of_work() as s:
        row = s.scalar(select(PublicSubmission))
        assert row is not None
        row.expires_at = utcnow() - timedelta(hours=1)
    answer = site.post(confirmation_path(mail_server))
    assert answer.status_code == 410 and applications_of(mission_id) == [] and volunteers() == 6


# --- 3. Relays --------------------------------------------------------------------------------------------------


def relay_path(relay_id: int, mission_id: int) -> str:
    return path(links.link(Purpose.RELAY, r=relay_id, m=mission_id))


def test_a_stranger_follows_a_relays_link_signs_up_and_applies_via_that_relay(
    site: TestClient, mail_server: Any
) -> None:
    mission_id, reference = annonce_mission()
    with unit_of_work() as s:
        relay = s.scalar(select(Volunteer).where(Volunteer.email == "benevole3@exemple.fr"))
        assert relay is not None
        relay.is_relay = True
        relay_id = relay.id
    url = relay_path(relay_id, mission_id)
    page = site.get(url)
    assert page.status_code == 200 and "transmis par un relais" in said(page) and reference in said(page)
    assert "Prénom3" not in said(page) and "benevole3" not in said(page)  # the relay is not named
    assert site.post(url, data={**GOOD, "message": "De la part de Prénom3."}).status_code == 200
    assert applications_of(mission_id) == []
    assert site.post(confirmation_path(mail_server)).status_code == 200
    [app] = applications_of(mission_id)
    assert app.channel is Channel.RELAY and app.relayed_by_id == relay_id and app.status is ApplicationStatus.RECEIVED
    with unit_of_work() as s:
        today = d.today()
        report = build_report(s, branch_codes=["STR"], start=today - timedelta(days=1), end=today + timedelta(days=1))
    assert report.applications.by_channel == (("par un relais", 1),)
    assert report.applications.by_relay == ((f"V-{relay_id:04d}", 1),)
    csv_text = render_csv(report)
    assert f"Candidatures venues par un relais (annonces diffusées sur la période);V-{relay_id:04d};Candidatures;1" in (
        csv_text
    )
    assert "Prénom3" not in csv_text  # the report names nobody


def test_a_relay_following_their_own_link_applies_as_themselves(site: TestClient, mail_server: Any) -> None:
    mission_id, _ = annonce_mission()
    typed = {**GOOD, "email": "benevole3@exemple.fr", "first_name": "Prénom3", "last_name": "Nom3"}
    assert site.post(relay_path(3, mission_id), data=typed).status_code == 200
    assert site.post(confirmation_path(mail_server, "benevole3@exemple.fr")).status_code == 200
    [app] = applications_of(mission_id)
    assert app.volunteer_id == 3 and app.relayed_by_id is None and app.channel is Channel.PUBLIC_PAGE


@pytest.mark.parametrize(
    ("changes", "reason", "status"),
    [
        ({"message": "<script>alert(1)</script>"}, "« Votre message » contient des balises HTML", 422),
        ({"c:nope": "1"}, "La compétence « nope » n'est pas dans notre liste", 422),
        ({"email": "pas-une-adresse"}, "n'a pas de « @ »", 422),
        ({"message": "x" * 70_000}, "trop long", 413),
    ],
)
def test_a_bad_form_sent_from_a_relays_link_keeps_nothing(
    site: TestClient, changes: dict[str, str], reason: str, status: int
) -> None:
    mission_id, _ = annonce_mission()
    answer = site.post(relay_path(3, mission_id), data={**GOOD, **changes})
    assert answer.status_code == status and reason in said(answer)
    if status == 422:
        shown_again(answer, {**GOOD, **changes})
        assert "transmis par un relais" in said(answer)
    assert submissions() == [] and outbox() == [] and applications_of(mission_id) == []
    robot = site.post(relay_path(3, mission_id), data={**GOOD, "site_web": "spam"})
    assert robot.status_code == 200 and submissions() == []


def test_bad_relay_links(site: TestClient) -> None:
    mission_id, _ = annonce_mission()
    url = relay_path(3, mission_id)
    token = url.rsplit("/", 1)[1]
    tampered = url[: -len(token)] + token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    other_purpose = "/relais/" + links.token(Purpose.APPLY, v=3, m=mission_id)
    for bad in (tampered, other_purpose):
        for answer in (site.get(bad), site.post(bad, data=GOOD)):
            assert answer.status_code == 400 and "Lien invalide" in said(answer)
    set_status(mission_id, MissionStatus.IN_PROGRESS)
    closed = site.get(url)
    assert closed.status_code == 410 and "Cette annonce n'est plus ouverte" in said(closed)
    assert submissions() == []


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_relays_annonce_mail_carries_their_link_a_stranger_applies_via_the_relay(
    prefect_server, site, mail_server
) -> None:
    """The whole path on a real mission run: the annonce diffused, the relay's mail carries their forwarding link
    (the others' the public page), the social post mail the public page; a stranger follows the relay's link,
    signs up and applies, confirms: the application is recorded « via » the relay, the applications form waiting
    for the Passerelle shows it, the report counts it by relay."""
    d.deploy()
    with unit_of_work() as s:
        relay = s.scalar(select(Volunteer).where(Volunteer.email == "benevole3@exemple.fr"))
        assert relay is not None
        relay.is_relay = True
        relay_id = relay.id
    mission_id, _, drv = d.published()
    d.send_queued()
    assert drv.form()["key"] == "applications-1"
    forward = link_in(mail_server, "annonce", Purpose.RELAY, to="benevole3@exemple.fr")
    with unit_of_work() as s:
        m = s.get(Mission, mission_id)
        assert m is not None
        reference = m.reference
    others = [x for x in mail_server.messages if x["X-Passerelles-Kind"] == "annonce" and x["To"] != relay.email]
    assert others and all("/relais/" not in x.get_body(("plain",)).get_content() for x in others)
    assert all(links.annonce_url(reference) in x.get_body(("plain",)).get_content() for x in others)
    social = [x for x in mail_server.messages if x["X-Passerelles-Kind"] == "social_post"]
    assert social and links.annonce_url(reference) in social[0].get_body(("plain",)).get_content()

    assert site.post(forward, data={**GOOD, "message": "Prénom3 m'a parlé de vous."}).status_code == 200
    done = site.post(confirmation_path(mail_server))
    assert done.status_code == 200 and f"Votre candidature à la mission {reference}" in said(done)
    [app] = applications_of(mission_id)
    assert app.channel is Channel.RELAY and app.relayed_by_id == relay_id
    assert f"par un relais (V-{relay_id:04d} Prénom3 Nom3)" in drv.form()["description"]  # rewritten at once
    with unit_of_work() as s:
        today = d.today()
        report = build_report(s, branch_codes=["STR"], start=today - timedelta(days=1), end=today + timedelta(days=1))
    assert report.applications.by_relay == ((f"V-{relay_id:04d}", 1),)
