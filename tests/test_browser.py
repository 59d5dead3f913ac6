"""The Passerelle's path in a real browser: headless Chromium (Debian's) driven by Playwright, on a test stack."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models import Announcement, Mission, MissionStatus
from models.db import unit_of_work
from tests import lifecycle_driver as d

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LOCAL = ("http://127.0.0.1", "http://localhost", "data:", "blob:", "about:")
SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


def in_browser(steps: Callable[[Any], None], viewport: tuple[int, int] = (1400, 1000)) -> None:
    """Run `steps(page)` in headless Chromium, on a thread of its own.

    Playwright's sync API keeps an event loop running on its thread, where Prefect's sync calls would turn into
    coroutines; the Prefect calls of the test stay on the main thread.
    """
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[BaseException] = []
    outside: list[str] = []

    def run() -> None:
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
                page.set_default_timeout(30_000)
                # The stack is private: the UI must not call any outside host (the v2 UI calls an analytics one).
                page.on("request", lambda r: None if r.url.startswith(LOCAL) else outside.append(r.url))
                try:
                    steps(page)
                finally:
                    browser.close()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    assert outside == [], f"the UI called outside hosts: {outside}"


# The browser's path does not depend on the application's dialect: once, on the production one.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_passerelle_resumes_a_mission_from_its_form_and_reads_the_dashboards(
    prefect_server, app_db, mail_server
) -> None:
    d.deploy()
    d.seed_small()
    mission_id, run_id = d.open_and_start()
    drv = d.Driver(run_id)
    drv.run()
    drv.resume(d.needs_analysis())
    assert drv.form()["key"] == "annonce-review-1"
    ui = prefect_server.ui_url
    with unit_of_work() as s:
        reference = s.get(Mission, mission_id).reference  # type: ignore[union-attr]

    def answer_the_form(page: Any) -> None:
        # Find the suspended mission among the runs and open it.
        page.goto(f"{ui}/runs")
        page.get_by_text(f"mission-{reference}").first.click()
        page.wait_for_url(f"**/runs/flow-run/{run_id}")
        page.get_by_text("Suspended").first.wait_for()
        # Open the form, fill it as a Passerelle would, submit.
        page.get_by_role("button", name="Resume").first.click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Validation de l'annonce").first.wait_for()
        text = dialog.locator("textarea").nth(0)
        assert "RECHERCHE BÉNÉVOLE" in text.input_value()
        text.fill(text.input_value() + "\nMerci de votre aide !")
        dialog.locator("textarea").nth(1).fill("Validée par téléphone avec M. Weber.")
        page.screenshot(path=str(SHOTS / "formulaire-annonce.png"), full_page=True)
        dialog.get_by_role("button", name="Submit").click()
        dialog.wait_for(state="hidden")

    in_browser(answer_the_form)

    # The server took the answer; the run replays (here, in this process) and the mission moves on.
    assert drv.state().type.value == "SCHEDULED"
    drv.run()
    with unit_of_work() as s:
        assert s.get(Mission, mission_id).status is MissionStatus.PUBLISHED  # type: ignore[union-attr]
        annonce = s.scalar(select(Announcement).where(Announcement.mission_id == mission_id))
        assert annonce.text.endswith("Merci de votre aide !")  # type: ignore[union-attr]
        assert annonce.remarks == "Validée par téléphone avec M. Weber."  # type: ignore[union-attr]

    from flows.monitoring import branch_dashboard

    branch_dashboard()

    def read_the_dashboards(page: Any) -> None:
        # The mission card: its key lists the versions, newest first; open the newest.
        page.goto(f"{ui}/artifacts/key/mission-{reference.lower()}")
        page.get_by_text(f"Fiche mission {reference}").first.wait_for()
        page.get_by_role("link").filter(has_text=re.compile(r"^[0-9a-f]{8}$")).first.click()
        page.get_by_text("Annonce diffusée").first.wait_for()
        page.get_by_text("Les Restos du Quartier").first.wait_for()
        page.screenshot(path=str(SHOTS / "fiche-mission.png"), full_page=True)
        # The branch dashboard shows the open mission and its step.
        page.goto(f"{ui}/artifacts/key/antenne-str-missions-ouvertes")
        page.get_by_role("link").filter(has_text=re.compile(r"^[0-9a-f]{8}$")).first.click()
        page.get_by_text(reference).first.wait_for()
        page.get_by_text("Candidatures").first.wait_for()
        page.screenshot(path=str(SHOTS / "tableau-antenne.png"), full_page=True)

    in_browser(read_the_dashboards)
