"""Who may do what (pure rules), and the identity records on the database: sign-in links, sessions, tokens, the
access log and its retention, secrets refused at start, the link key rotated (no Prefect server needed)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import AccessLog, MemberSession, Role
from models.base import utcnow
from models.db import unit_of_work
from models.permissions import Act, classify, may, member_of_tags, run_branch
from models.refusals import StepRefused
from models.settings import check_secrets, get_settings, weak_secret
from tasks import identity, links, organisation
from tests import factories as f

RUN = "0b5e1b5c-1111-4a4a-9d9d-0123456789ab"


def test_calls_are_classified_and_unknown_writes_are_the_admins() -> None:
    assert classify("POST", f"/flow_runs/{RUN}/resume") == classify("post", f"flow_runs/{RUN}/resume")
    assert classify("POST", f"/flow_runs/{RUN}/resume").act is Act.ANSWER_STEP
    assert classify("POST", f"/flow_runs/{RUN}/set_state").act is Act.MANAGE_RUN
    assert classify("GET", f"/flow_runs/{RUN}").flow_run_id == RUN
    assert classify("POST", "/flow_runs/filter").filters_runs and classify("POST", "/flow_runs/filter").act is Act.READ
    assert classify("POST", "/ui/flow_runs/history").filters_runs
    assert classify("POST", "/events/filter").act is Act.READ and not classify("POST", "/events/filter").filters_runs
    assert classify("POST", f"/deployments/{RUN}/create_flow_run").act is Act.START
    for method, path in (("DELETE", f"/flow_runs/{RUN}"), ("PATCH", f"/deployments/{RUN}"), ("POST", "/automations/")):
        assert classify(method, path).act is Act.ADMIN


def test_roles_follow_the_branch_of_the_mission() -> None:
    def ok(role: Role, act: Act, run: str | None, deployment: str = "") -> bool:
        return may(role, act, member_branch="STR", run_branch=run, deployment=deployment)

    assert ok(Role.PASSERELLE, Act.ANSWER_STEP, "STR") and not ok(Role.PASSERELLE, Act.ANSWER_STEP, "MUL")
    assert not ok(Role.PASSERELLE, Act.ANSWER_STEP, None)  # only mission runs wait for a Passerelle
    assert not ok(Role.SUPPORT, Act.ANSWER_STEP, "STR") and ok(Role.ADMIN, Act.ANSWER_STEP, "MUL")
    assert ok(Role.BRANCH_LEAD, Act.MANAGE_RUN, "STR") and not ok(Role.PASSERELLE, Act.MANAGE_RUN, "STR")
    assert (
        not ok(Role.PASSERELLE, Act.READ, "MUL")
        and ok(Role.SUPPORT, Act.READ, "MUL")
        and ok(Role.PASSERELLE, Act.READ, None)
    )
    assert ok(Role.SUPPORT, Act.START, None, "record-fee") and not ok(Role.PASSERELLE, Act.START, None, "record-fee")
    assert ok(Role.BRANCH_LEAD, Act.START, None, "reassign-missions")
    assert not ok(Role.PASSERELLE, Act.START, None, "reassign-missions")
    assert not ok(Role.BRANCH_LEAD, Act.START, None, "set-fee-schedule") and ok(Role.ADMIN, Act.START, None, "x")
    assert not ok(Role.BRANCH_LEAD, Act.ADMIN, None)
    assert run_branch(["passerelle:claire", "antenne:STR"]) == "STR" and run_branch([]) is None
    assert member_of_tags(["administration", "membre:C-12"]) == "C-12" and member_of_tags([]) == ""


def test_placeholder_and_short_secrets_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert weak_secret("CHANGEZ-MOI") and weak_secret("passerelles-CHANGEZ-MOI-0123456789") and weak_secret("court")
    assert weak_secret("k3J9sQ0vXbT2mW8rL5yP1nZ7") == ""
    monkeypatch.setenv("PASSERELLES_SECRET_KEY", "CHANGEZ-MOI")
    monkeypatch.setenv("PREFECT_SERVER_API_AUTH_STRING", "passerelles:CHANGEZ-MOI")
    get_settings.cache_clear()
    try:
        refused = check_secrets(get_settings())
    finally:
        get_settings.cache_clear()
    assert "PASSERELLES_SECRET_KEY" in refused and "PREFECT_SERVER_API_AUTH_STRING" in refused
    assert refused.startswith("Secrets refusés, rien n'a démarré")


def test_a_rotated_link_key_still_reads_the_old_links(app_db, monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = "ancienne-cle-de-liens-0123456789abcdef", "nouvelle-cle-de-liens-0123456789abcdef"
    monkeypatch.setenv("PASSERELLES_SECRET_KEY", old)
    get_settings.cache_clear()
    mailed = links.token(links.Purpose.APPLY, v=1, m=2)
    monkeypatch.setenv("PASSERELLES_SECRET_KEY", new)
    get_settings.cache_clear()
    with pytest.raises(links.LinkRefused):
        links.read(links.Purpose.APPLY, mailed)  # a new key alone: the old links stop
    monkeypatch.setenv("PASSERELLES_PREVIOUS_SECRET_KEY", old)
    get_settings.cache_clear()
    try:
        assert links.read(links.Purpose.APPLY, mailed) == {"v": 1, "m": 2}  # during the grace period
        fresh = links.token(links.Purpose.APPLY, v=3, m=4)
        monkeypatch.delenv("PASSERELLES_PREVIOUS_SECRET_KEY")
        get_settings.cache_clear()
        assert links.read(links.Purpose.APPLY, fresh) == {"v": 3, "m": 4}  # new links use the new key
    finally:
        get_settings.cache_clear()


def test_links_sessions_and_tokens_on_the_database(app_db) -> None:
    with unit_of_work() as s:
        at = f.branch(s)
        claire = f.coordinator(s, at)
        f.coordinator(s, at, "Jean", "Kieffer", role=Role.BRANCH_LEAD)
    with unit_of_work() as s:
        assert not identity.request_link(s, "personne@exemple.fr", base_url="http://gw")
        assert identity.request_link(s, " Claire.Muller@PC.example ", base_url="http://gw", next_="/runs")
    with unit_of_work() as s:
        from models import OutboxMail

        mail = s.scalar(select(OutboxMail).where(OutboxMail.kind == "signin_link"))
        assert mail is not None and mail.to_address == "claire.muller@pc.example"
        secret = mail.text_body.split("jeton=")[1].split("&")[0]
        assert "suite=/runs" in mail.text_body
    with unit_of_work() as s:
        c, purpose = identity.consume_link(s, secret)
        assert (c.email, purpose) == ("claire.muller@pc.example", "browser")
        cookie = identity.open_session(s, c)
    with unit_of_work() as s, pytest.raises(identity.SignInRefused, match="déjà servi"):
        identity.consume_link(s, secret)
    with unit_of_work() as s:
        who = identity.session_member(s, cookie)
        assert who is not None and who.label == "Claire Muller <claire.muller@pc.example>" and who.branch == "STR"
        assert identity.session_member(s, cookie, kind="token") is None  # a browser cookie is no token
        token = identity.open_session(s, s.get(type(c), claire.id), kind="token")  # type: ignore[arg-type]
    with unit_of_work() as s:  # idle too long: the session ends
        row = s.scalar(select(MemberSession).where(MemberSession.kind == "browser"))
        assert row is not None
        row.last_seen_at = utcnow() - identity.BROWSER_IDLE - timedelta(minutes=1)
    with unit_of_work() as s:
        assert identity.session_member(s, cookie) is None
        assert identity.session_member(s, token, kind="token") is not None
    with unit_of_work() as s:  # she leaves: her token stops at once
        organisation.set_active(s, "claire.muller@pc.example", active=False, actor="test")
    with unit_of_work() as s:
        assert identity.session_member(s, token, kind="token") is None
        ended = s.scalar(select(func.count()).select_from(MemberSession).where(MemberSession.ended_at.is_not(None)))
        assert ended == 2
    with unit_of_work() as s:
        assert identity.resolve_actor(s, "système (ligne de commande sur le serveur)")[1] is None
        with pytest.raises(StepRefused):
            identity.resolve_actor(s, f"C-{claire.id}")  # a member who left acts no more


def test_the_access_log_is_kept_twelve_months_and_exported(app_db) -> None:
    with unit_of_work() as s:
        identity.log(s, who="claire.muller@pc.example", event="open_run", target=RUN)
        old = AccessLog(who="ancien@pc.example", event="signin_ok", at=utcnow() - timedelta(days=400))
        s.add(old)
    with unit_of_work() as s:
        assert identity.purge_access_log(s) == 1
        csv = identity.access_log_csv(s)
    lines = csv.strip().splitlines()
    assert lines[0] == "date;membre;événement;méthode;chemin;cible;statut;adresse IP;détail"
    assert len(lines) == 2 and "claire.muller@pc.example;open_run" in lines[1] and "ancien" not in csv


def test_a_volunteers_links_can_be_revoked(app_db) -> None:
    """A forwarded mail or a lost phone: every link signed before the revocation stops; new ones work."""
    with unit_of_work() as s:
        v = f.volunteer(s, f.branch(s))
        vid = v.id
    mailed = links.token(links.Purpose.PREFERENCES, v=vid)
    assert links.read(links.Purpose.PREFERENCES, mailed) == {"v": vid}
    time.sleep(1.1)  # links are signed to the second
    with unit_of_work() as s:
        from tasks.admin_actions import revoke_volunteer_links

        done = revoke_volunteer_links(s, f"V-{vid}", actor="système (ligne de commande sur le serveur)")
    assert "ne fonctionnent plus" in done.message
    with pytest.raises(links.LinkRefused, match="remplacé par un plus récent"):
        links.read(links.Purpose.PREFERENCES, mailed)
    time.sleep(1.1)
    assert links.read(links.Purpose.PREFERENCES, links.token(links.Purpose.PREFERENCES, v=vid)) == {"v": vid}
