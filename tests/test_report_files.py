"""A report's and an export's files, kept in the database by the real actions and served by the sign-in gateway's
app (in process, on SQLite and PostgreSQL, no Prefect server: the run's artifacts are tested in test_reports.py and
test_exports.py, the gateway's own process in test_gateway.py): signed out, to the sign-in page; a member of
another role or branch, a French 403 logged; the allowed member, the file, logged."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from gateway.app import COOKIE, app
from models import AccessLog, Role, StoredFile
from models.base import utcnow
from models.db import unit_of_work
from tasks import admin_actions as actions
from tasks import files, identity
from tasks.reports import build_report, store_report
from tests import factories as f
from tests import lifecycle_driver as d

TEAM = {
    "claire.muller@pc.example": "Passerelle, STR",
    "jean.kieffer@pc.example": "responsable, STR",
    "marie.meyer@pc.example": "Passerelle, MUL",
    "sophie.support@pc.example": "équipe support",
    "alain.dupont@pc.example": "admin",
}


@pytest.fixture
def team(app_db: object) -> Iterator[None]:
    d.seed_small()
    with unit_of_work() as s:
        mul = f.branch(s, "MUL")
        f.coordinator(s, mul, "Marie", "Meyer")
        f.coordinator(s, mul, "Sophie", "Support", role=Role.SUPPORT, branch_id=None)
        f.coordinator(s, mul, "Alain", "Dupont", role=Role.ADMIN, branch_id=None)
    yield


def client_of(email: str | None) -> TestClient:
    """The gateway's app, as `email` signed in (None: signed out)."""
    client = TestClient(app, follow_redirects=False)
    if email:
        with unit_of_work() as s:
            member = identity.active_member(s, email)
            assert member is not None
            client.cookies.set(COOKIE, identity.open_session(s, member))
    return client


def path_of(url: str) -> str:
    assert url.startswith("http://127.0.0.1:4200/fichiers/"), url  # the gateway's public address
    return urlsplit(url).path


def logged(event: str) -> set[tuple[str, str]]:
    with unit_of_work() as s:
        return {(r.who, r.target) for r in s.scalars(select(AccessLog).where(AccessLog.event == event))}


def test_a_branch_report_is_read_by_its_branch_and_the_national_team(team: None) -> None:
    with unit_of_work() as s:
        report = build_report(s, branch_codes=["STR"], start=date(2026, 1, 1), end=date(2026, 12, 31))
        stored = store_report(s, report, actor="C-2")
    page, sheet = path_of(stored.html_url), path_of(stored.csv_url)

    signed_out = client_of(None).get(page)
    assert signed_out.status_code == 303 and signed_out.headers["location"] == f"/connexion?suite={page}"
    for email in ("jean.kieffer@pc.example", "claire.muller@pc.example", "sophie.support@pc.example"):
        r = client_of(email).get(page)
        assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8", TEAM[email]
        assert "Strasbourg" in r.text and "<svg" in r.text
        assert "sandbox" in r.headers["content-security-policy"]  # no script of a file runs on the team's origin
    r = client_of("marie.meyer@pc.example").get(page)
    assert r.status_code == 403
    assert "Ce rapport couvre d'autres antennes que la vôtre. (Vous êtes : Passerelle.)" in html.unescape(r.text)
    r = client_of("alain.dupont@pc.example").get(sheet)
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbfRubrique;")
    assert r.headers["content-disposition"].startswith("attachment;")
    assert client_of("jean.kieffer@pc.example").get(page.replace(".html", ".csv")).status_code == 404  # not its name
    assert logged("download_rapport") >= {
        ("jean.kieffer@pc.example", "rapport-STR-2026-01-01_2026-12-31.html"),
        ("alain.dupont@pc.example", "rapport-STR-2026-01-01_2026-12-31.csv"),
    }
    assert logged("refused") == {("marie.meyer@pc.example", "rapport-STR-2026-01-01_2026-12-31.html")}

    # A report of two branches, or the national one: the national team only
    with unit_of_work() as s:
        national = store_report(
            s, build_report(s, branch_codes=[], start=date(2026, 1, 1), end=date(2026, 12, 31)), actor="C-2"
        )
    assert client_of("jean.kieffer@pc.example").get(path_of(national.html_url)).status_code == 403
    assert client_of("sophie.support@pc.example").get(path_of(national.html_url)).status_code == 200


def test_an_export_is_an_admins_and_every_download_is_logged(team: None) -> None:
    with unit_of_work() as s:
        admin = identity.active_member(s, "alain.dupont@pc.example")
        assert admin is not None
        ref = f"C-{admin.id}"
    done = actions.perform(
        lambda s: actions.export_data(
            s, "missions", branches=["STR"], start=date(2026, 1, 1), end=date(2026, 12, 31), actor=ref
        )
    )
    assert done.url and done.url in done.message
    path = path_of(done.url)
    for email in ("jean.kieffer@pc.example", "sophie.support@pc.example", "claire.muller@pc.example"):
        r = client_of(email).get(path)
        assert r.status_code == 403, TEAM[email]
        assert "Les exports de données sont réservés aux administrateurs." in html.unescape(r.text)
    r = client_of("alain.dupont@pc.example").get(path)
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbfR\xc3\xa9f\xc3\xa9rence;")
    assert r.headers["content-disposition"] == "attachment; filename*=UTF-8''missions-STR-2026-01-01_2026-12-31.csv"
    assert logged("download_export") == {("alain.dupont@pc.example", "missions-STR-2026-01-01_2026-12-31.csv")}
    assert len(logged("refused")) == 3
    with unit_of_work() as s:
        row = s.scalars(select(StoredFile)).one()
        assert (row.created_by, row.kind) == (ref, "export")

    # Kept 12 months, like the access log
    with unit_of_work() as s:
        assert files.purge_files(s, utcnow() + timedelta(days=300)) == 0
        assert files.purge_files(s, utcnow() + timedelta(days=400)) == 1
        assert s.scalar(select(func.count()).select_from(StoredFile)) == 0
    assert client_of("alain.dupont@pc.example").get(path).status_code == 404
