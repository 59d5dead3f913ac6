"""Hardening of what people outside reach (issue 22's security review, the parts that stand without the gateway):
a body counted as it streams, kept mails readable by their owner only."""

from __future__ import annotations

import smtplib
import stat
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from deployments.local import MailServer
from models import Application
from models.db import unit_of_work
from tasks.links import Purpose, link
from tests import lifecycle_driver as d


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_chunked_body_is_cut_as_it_streams(app_db) -> None:
    from portal.app import app

    d.seed_small()
    with unit_of_work() as s:
        mission_id = d.new_mission(s).id
    url = link(Purpose.APPLY, v=1, m=mission_id).split("://", 1)[1].split("/", 1)[1]

    def body() -> Iterator[bytes]:  # no Content-Length: 20 MB announced by nothing
        yield b"message="
        for _ in range(320):
            yield b"x" * 65_536

    with TestClient(app) as portal:
        r = portal.post("/" + url, content=body(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code in (409, 413) and "trop long" in r.text
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Application)) == 0


def test_kept_mails_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    server = MailServer(folder=tmp_path / "mail").start()
    try:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "a@pc.example", "b@exemple.fr", "Données personnelles"
        msg.set_content("Bonjour")
        with smtplib.SMTP("127.0.0.1", server.port) as smtp:
            smtp.send_message(msg)
    finally:
        server.stop()
    [kept] = list((tmp_path / "mail").glob("*.eml"))
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
