"""Drive the demo missions of a running `make run` stack to their end, every form submitted exactly as prefilled.

    make run                                   # in another terminal, or in the background with its output to a log
    .venv/bin/python bench/stack_check.py      # --kill-worker to SIGKILL a worker once, mid-step

Acceptance point of issue 21: « a form submitted with its prefill as it is moves every demo mission on ». The
script signs in at the gateway as a demo admin the way a person does (a one-time link mailed to var/mail, opened,
a personal token shown), then, with Prefect's own client through the gateway (`PREFECT_API_URL=<gateway>/api`,
the token as `PREFECT_API_KEY`: the client sends it as Bearer and handles the CSRF tokens, the audit names the
member), in rounds:

1. lists every suspended mission run, reads its waiting form (the `run_input` description and schema, as the
   Prefect UI does), submits the schema's defaults unchanged, and waits until the run is asked something else
   (another step, or the same step with the mission's status changed), ends, or is asked the same step again —
   the last is « waits again », with the note the form then shows on top;
2. answers the parties' links of the kept mails (var/mail/*.eml) on the portal, each page posted as shown (a
   bilan's rating, which no page preselects, is the party's own 5/5): the annonce and roadmap to validate, a
   retained volunteer's agreement, a check-in's news, each half of the bilan; a mission waiting for applications
   gets them from its annonce mails, as many as it needs volunteers, plus one for the reserve;

until every mission run has ended or a round moves nothing. Then it prints the figures: missions and their final
status, forms submitted (all as prefilled), accepted, refused (with their French reasons), waits-again notes,
outbox rows against .eml files (by Message-ID: no mail twice), and runs whose state does not match their
mission's status. With `--kill-worker`, once a run is mid-step after a submission, its worker's process group is
killed with SIGKILL (the stack restarts the worker, the automations reschedule the run) and the run must come
back to a form or an end. It writes only what a Passerelle and the parties would (the forms, the links).
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import html
import html.parser
import json
import os
import re
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import httpx
from itsdangerous import URLSafeTimedSerializer
from prefect import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.responses import SetStateStatus
from prefect.exceptions import PrefectHTTPStatusError
from prefect.input.run_input import keyset_from_paused_state
from prefect.settings import PREFECT_API_KEY, PREFECT_API_URL, temporary_settings
from prefect.utilities.asyncutils import run_coro_as_sync
from sqlalchemy import func, select

from models import Mission, MissionStatus, OutboxMail, Role
from models.db import unit_of_work
from models.org import Coordinator
from models.settings import VAR, get_settings
from tasks.runs import LIFECYCLE
from tasks.steps.base import asked_key

ROOT = Path(__file__).resolve().parent.parent
FINISHED = "mission terminée : passer au bilan"  # the check-in's decision that --finish chooses
PORTAL_PATHS = ("annonce", "feuille-de-route", "accord-feuille-de-route", "bilan", "bilan-benevole", "point")
LINK = re.compile(r"https?://[^\s\"'<>]+")


def log(*parts: object) -> None:
    print(time.strftime("%H:%M:%S"), *parts, flush=True)


# --- mails -------------------------------------------------------------------------------------------------------


@dataclass
class Mail:
    path: Path
    message_id: str
    to: str
    subject: str
    links: list[str]


def read_mails(maildir: Path) -> list[Mail]:
    """The kept mails, oldest first, with the links of their text part."""
    mails = []
    for path in sorted(maildir.glob("*.eml"), key=lambda p: p.stat().st_mtime):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
        links = list(dict.fromkeys(u.rstrip(".,;)»") for u in LINK.findall(text)))
        mails.append(Mail(path, str(msg["Message-ID"] or ""), str(msg["To"] or ""), str(msg["Subject"] or ""), links))
    return mails


def link_payload(url: str) -> dict[str, Any]:
    """What a portal link says (mission `m`, volunteer `v`, suspend key `k`), read without checking its signature:
    only to route it; the portal checks it."""
    token = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    _, payload = URLSafeTimedSerializer("unused").loads_unsafe(token)
    return payload if isinstance(payload, dict) else {}


# --- signing in --------------------------------------------------------------------------------------------------


def personal_token(gateway: str, member: str, maildir: Path, timeout: float = 120) -> str:
    """Sign in as `member` for a personal token, as a person does: ask for the link, open the mail, use it."""
    before = {p.name for p in maildir.glob("*.eml")}
    with httpx.Client(base_url=gateway, timeout=30) as http:
        r = http.post("/connexion", data={"email": member, "pour": "token"})
        r.raise_for_status()
        deadline = time.monotonic() + timeout
        jeton = ""
        while not jeton:
            if time.monotonic() > deadline:
                raise TimeoutError(f"pas de lien de connexion pour {member} dans {maildir}")
            time.sleep(1)
            for m in read_mails(maildir):
                if m.path.name not in before and member in m.to:
                    for url in m.links:
                        if "/connexion/lien" in url:
                            jeton = re.sub(r".*[?&]jeton=([^&]+).*", r"\1", url)
        r = http.post("/connexion/lien", data={"jeton": jeton, "suite": "/"})
        r.raise_for_status()
        found = re.search(r"<p[^>]*>\s*([A-Za-z0-9_\-]{40,})\s*</p>", r.text)
        if not found:
            raise RuntimeError("jeton personnel introuvable dans la page : " + r.text[:500])
        return found.group(1)


def kept_token(gateway: str, member: str, maildir: Path) -> str:
    """A personal token of `member`, kept in var/ (mode 600) between runs: the gateway allows three sign-in links
    per address per quarter of an hour."""
    path = VAR / f"stack_check_token.{member}"
    if path.exists():
        token = path.read_text().strip()
        if httpx.get(f"{gateway}/moi", headers={"Authorization": f"Bearer {token}"}).status_code == 200:
            return token
    token = personal_token(gateway, member, maildir)
    path.touch(mode=0o600)
    path.write_text(token)
    return token


def demo_admin() -> str:
    with unit_of_work() as s:
        email_ = s.scalar(
            select(Coordinator.email).where(Coordinator.role == Role.ADMIN, Coordinator.active).order_by(Coordinator.id)
        )
    assert email_, "aucun administrateur actif dans les données de démonstration"
    return str(email_)


# --- forms -------------------------------------------------------------------------------------------------------


def prefilled(schema: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The answer the form shows (each property's default), and the required properties that have none."""
    answer, missing = {}, []
    for name, prop in schema.get("properties", {}).items():
        if "default" in prop:
            answer[name] = prop["default"]
        elif name in schema.get("required", []):
            missing.append(name)
    return answer, missing


@dataclass
class Form:
    key: str
    description: str
    schema: dict[str, Any]


async def read_form(client: Any, fr: FlowRun) -> Form:
    """The waiting form, as the UI reads it (the run's inputs may show a moment after its Suspended state)."""
    assert fr.state is not None
    keyset = keyset_from_paused_state(fr.state)
    for attempt in range(30):
        try:
            description = json.loads(await client.read_flow_run_input(fr.id, keyset["description"]))
            schema = json.loads(await client.read_flow_run_input(fr.id, keyset["schema"]))
            return Form(fr.state.state_details.pause_key or "", description, schema)
        except PrefectHTTPStatusError as exc:
            if exc.response.status_code != 404 or attempt == 29:
                raise
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


def top_note(description: str) -> str:
    """The note or refusal the form shows on top when it is asked again (its first quoted paragraph)."""
    for raw in description.splitlines():
        line = raw.strip()
        if line.startswith((">", "**Refus")) or "⚠" in line:
            return line.lstrip("> ").strip()[:400]
    return description.strip().splitlines()[0][:400] if description.strip() else ""


# --- the portal's pages ------------------------------------------------------------------------------------------


class FormParser(html.parser.HTMLParser):
    """The first <form> of a page and the values it shows: what a browser posts when the button is pressed."""

    def __init__(self) -> None:
        super().__init__()
        self.found = self.inside = False
        self.fields: dict[str, str] = {}
        self.radios: dict[str, list[str]] = {}
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.found:
            self.found = self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind == "radio":
                self.radios.setdefault(a["name"], []).append(a.get("value", ""))
                if "checked" in a:
                    self.fields[a["name"]] = a.get("value", "")
            elif kind == "checkbox":
                if "checked" in a:
                    self.fields[a["name"]] = a.get("value", "on")
            elif kind not in ("submit", "button"):
                self.fields[a["name"]] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self.fields[a["name"]] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        if tag == "form":
            self.inside = False


def page_text(html_: str) -> str:
    main = re.search(r"<main.*?</main>", html_, re.S)
    text = re.sub(r"<[^>]+>", " ", main.group(0) if main else html_)
    return html.unescape(re.sub(r"\s+", " ", text)).strip()[:300]


@dataclass
class PortalAnswer:
    url: str
    status: int
    said: str


def answer_link(http: httpx.Client, url: str, extra: dict[str, str] | None = None) -> PortalAnswer | None:
    """Open a portal link and post its form as shown (`extra`: what the party must choose itself); None if the
    page has no form (already answered, or nothing to answer)."""
    r = http.get(url)
    parser = FormParser()
    parser.feed(r.text)
    if r.status_code != 200 or not parser.found:
        return None
    fields = dict(parser.fields)
    for name in parser.radios:
        if name not in fields and extra and name in extra:
            fields[name] = extra[name]
    r = http.post(url, data=fields)
    return PortalAnswer(url, r.status_code, page_text(r.text))


# --- the run -----------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    submitted: int = 0
    as_prefilled: int = 0
    accepted: int = 0
    moved_on: int = 0
    refused: list[tuple[int, str, str]] = field(default_factory=list)  # mission, key, reason (server or step)
    waits_again: list[tuple[int, str, str]] = field(default_factory=list)  # mission, key, note shown
    missing_defaults: list[tuple[int, str, list[str]]] = field(default_factory=list)
    portal: Counter[str] = field(default_factory=Counter)
    portal_refused: list[tuple[str, int, str]] = field(default_factory=list)
    applied: int = 0
    kill: str = ""
    stalls: Counter[int] = field(default_factory=Counter)  # forms in a row that waited again, no party answering
    parked: dict[int, str] = field(default_factory=dict)  # missions no longer driven, and why
    followed: set[int] = field(default_factory=set)  # missions whose check-in as shown went on (--finish)


def mission_status(mission_id: int) -> str:
    with unit_of_work() as s:
        m = s.get(Mission, mission_id)
        return m.status.value if m else "?"


def mission_of(fr: FlowRun) -> int:
    return int(fr.parameters.get("mission_id", 0))


async def mission_runs(client: Any, states: list[StateType] | None = None) -> list[FlowRun]:
    runs: list[FlowRun] = []
    while True:
        page = await client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[LIFECYCLE])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=states)))
            if states
            else None,
            limit=200,
            offset=len(runs),
        )
        runs += page
        if len(page) < 200:
            return runs


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def crash_victims(pid: int, stack_pid: int) -> tuple[list[int], str]:
    """The process groups a crash of the worker running flow-run process `pid` takes down: the run's (forked by
    the warm launcher in a session of its own, or the worker's child) and the worker's; only processes of our own
    stack. Empty if `pid` is not one of ours."""
    try:
        chain = [pid]
        while chain[-1] not in (stack_pid, 1):
            chain.append(_parent(chain[-1]))
        if chain[-1] != stack_pid or len(chain) < 3:
            return [], ""
        top = chain[-2]  # the stack's child: a worker, or a warm launcher serving one
        if "worker start" in _cmdline(top):
            return [os.getpgid(top)], f"worker {top} (et son run {pid})"
        sock = re.search(r"--socket (\S+)", _cmdline(top))
        for child in Path("/proc").iterdir():
            if child.name.isdigit() and _parent(int(child.name)) == stack_pid:
                env = (child / "environ").read_bytes()
                if sock and f"PASSERELLES_WARM_SOCKET={sock.group(1)}".encode() in env.split(b"\0"):
                    worker = int(child.name)
                    return [os.getpgid(pid), os.getpgid(worker)], f"worker {worker} et son run {pid}"
    except (OSError, ValueError):
        pass
    return [], ""


def stack_process() -> int:
    """The `passerelles stack` process of this checkout (the one that owns the workers)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        args = [a for a in cmd if a and not a.endswith(b"python") and not a.endswith(b"python3")]
        if len(args) > 1 and args[0].endswith(b"passerelles") and args[1] == b"stack" and cwd == str(ROOT):
            return int(proc.name)
    raise RuntimeError(f"pas de processus « passerelles stack » lancé dans {ROOT}")


async def wait_moved(client: Any, run_id: UUID, key: str, timeout: float, kill: dict[str, Any] | None) -> FlowRun:
    """Wait until the run is no longer suspended under `key` and not mid-step: suspended again, or ended."""
    deadline = time.monotonic() + timeout
    while True:
        fr = await client.read_flow_run(run_id)
        st = fr.state
        if kill is not None and st is not None and st.type == StateType.RUNNING and fr.infrastructure_pid:
            pid = int(str(fr.infrastructure_pid).rsplit(":", 1)[-1])
            groups, who = crash_victims(pid, kill["stack"])
            if groups:
                for group in groups:
                    os.killpg(group, signal.SIGKILL)
                kill["done"] = f"{who} tués (SIGKILL) : run {run_id}, mission {kill['mission']}, après « {key} »"
                log("SIGKILL", kill["done"])
                deadline = time.monotonic() + max(timeout, 600)  # crash detection, then the rescheduled run
                kill = None
        if st is not None and st.is_final():
            return fr
        if st is not None and st.type == StateType.PAUSED and (st.state_details.pause_key or "") != key:
            return fr
        if time.monotonic() > deadline:
            return fr
        await asyncio.sleep(1.0)


async def submit_round(client: Any, tally: Tally, args: argparse.Namespace, kill: dict[str, Any]) -> int:
    """Submit every waiting form as prefilled; the number of forms that moved their mission on."""
    moved = 0
    for fr in sorted(await mission_runs(client, [StateType.PAUSED]), key=mission_of):
        mission_id = mission_of(fr)
        if mission_id in tally.parked:
            continue
        form = await read_form(client, fr)
        answer, missing = prefilled(form.schema)
        if missing:
            tally.missing_defaults.append((mission_id, form.key, missing))
        before = mission_status(mission_id)
        finish = args.finish and form.key.startswith("check-in") and mission_id in tally.followed
        if finish:  # the one change made to a form: this mission's check-in as shown went on already
            answer["decision"] = FINISHED
        result = await client.resume_flow_run(fr.id, run_input=answer)
        tally.submitted += 1
        tally.as_prefilled += 0 if finish else 1
        if result.status != SetStateStatus.ACCEPT:
            reason = str(getattr(result.details, "reason", "") or result.status)
            tally.refused.append((mission_id, form.key, reason))
            log(f"M{mission_id} « {form.key} » REFUSÉ par le serveur : {reason}")
            continue
        tally.accepted += 1
        arm = None
        if args.kill_worker and not kill.get("done"):
            arm = kill
            kill.update(mission=mission_id)
        after_run = await wait_moved(client, fr.id, form.key, args.timeout, arm)
        after = mission_status(mission_id)
        st = after_run.state
        new_key = (st.state_details.pause_key or "") if st is not None and st.type == StateType.PAUSED else ""
        what = st.name if st is not None else "?"
        if st is not None and st.type == StateType.PAUSED and new_key == form.key:
            log(f"M{mission_id} « {form.key} » toujours suspendu après {args.timeout:.0f} s ({what})")
            tally.waits_again.append((mission_id, form.key, "toujours suspendu sous la même clé"))
            continue
        if new_key and asked_key(new_key) == asked_key(form.key) and after == before:
            note = top_note((await read_form(client, after_run)).description)
            refused = "Saisie refusée" in note
            (tally.refused if refused else tally.waits_again).append((mission_id, form.key, note))
            log(f"M{mission_id} « {form.key} » → « {new_key} » (même étape, {after}) : {note}")
            tally.stalls[mission_id] += 1
            if tally.stalls[mission_id] >= 2:  # as shown twice, nobody outside answering: it waits for a person
                tally.parked[mission_id] = f"« {asked_key(form.key)} » tel quel attend : {note}"
            continue
        if st is not None and not st.is_final() and st.type != StateType.PAUSED:
            log(f"M{mission_id} « {form.key} » → état {what} après {args.timeout:.0f} s ({after})")
            tally.waits_again.append((mission_id, form.key, f"état {what} après le délai"))
            continue
        moved += 1
        tally.moved_on += 1
        tally.stalls[mission_id] = 0
        log(f"M{mission_id} « {form.key} » ({before}) → « {new_key or what} » ({after})")
        if form.key.startswith("check-in") and new_key.startswith("check-in") and args.finish:
            tally.followed.add(mission_id)
        elif form.key.startswith("check-in") and new_key.startswith("check-in"):
            # As shown, a check-in goes on to the next one until the roadmap's end date: moved on, and it would
            # only go on so; the mission is followed no further.
            tally.parked[mission_id] = f"en cours : « {form.key} » tel quel → « {new_key} » (suivi jusqu'à la fin "
            tally.parked[mission_id] += "de la feuille de route)"
    return moved


def portal_round(tally: Tally, args: argparse.Namespace, used: set[str], open_missions: set[int]) -> int:
    """Answer the parties' unused links of the open missions, oldest mail first; how many answers went in."""
    answered = 0
    with httpx.Client(timeout=60, follow_redirects=True) as http:
        mails = read_mails(args.maildir)
        applications: dict[int, list[str]] = {}
        for m in mails:
            for url in m.links:
                path = urlsplit(url).path.strip("/").split("/")
                if len(path) != 2 or url in used:
                    continue
                payload = link_payload(url)
                mission_id = payload.get("m")
                if mission_id not in open_missions:
                    continue
                if path[0] == "candidature":
                    applications.setdefault(mission_id, []).append(url)
                    continue
                if path[0] not in PORTAL_PATHS:
                    continue
                used.add(url)
                got = answer_link(http, url, extra={"note": "5"})
                if got is None:
                    continue
                answered += 1
                tally.portal[path[0]] += 1
                tally.stalls[mission_id] = 0
                if got.status >= 400:
                    tally.portal_refused.append((url, got.status, got.said))
                log(f"M{mission_id} portail /{path[0]} ({m.to}) → {got.status} {got.said[:160]}")
        for mission_id, urls in applications.items():
            with unit_of_work() as s:
                mission = s.get(Mission, mission_id)
                need = (mission.volunteers_needed or 1) + 1 if mission else 0
                waiting = mission is not None and mission.status is MissionStatus.PUBLISHED
            if not waiting:
                continue
            have = sum(
                1
                for u in used
                if u.startswith(f"{args.portal}/candidature/") and link_payload(u).get("m") == mission_id
            )
            for url in urls[: max(0, need - have)]:
                used.add(url)
                r = http.get(url)
                parser = FormParser()
                parser.feed(r.text)
                if not parser.found:
                    continue
                fields = dict(parser.fields) | {"message": "Je suis disponible (vérification de la pile)."}
                r = http.post(url, data=fields)
                tally.applied += 1
                answered += 1
                log(f"M{mission_id} candidature → {r.status_code} {page_text(r.text)[:120]}")
    return answered


def figures(tally: Tally, args: argparse.Namespace, runs: list[FlowRun]) -> int:
    """Print the figures; the exit status (1 if a mission is left open, a form refused or a mail went twice)."""
    ids = sorted({mission_of(r) for r in runs})
    by_run = {mission_of(r): r for r in sorted(runs, key=lambda r: r.created or 0)}
    with unit_of_work() as s:
        missions = {m.id: m for m in s.scalars(select(Mission).where(Mission.id.in_(ids)))}
        outbox = Counter(s.scalars(select(OutboxMail.status)))
        outbox_ids = Counter(s.scalars(select(OutboxMail.message_id)))
        unsent = s.scalar(select(func.count()).select_from(OutboxMail).where(OutboxMail.status != "sent"))
    mails = read_mails(args.maildir)
    by_id = Counter(m.message_id for m in mails)
    twice = {k: n for k, n in by_id.items() if n > 1}
    print("\n=== Figures ===")
    print(f"Missions suivies par un run : {len(ids)}")
    status = Counter(m.status.value for m in missions.values())
    print("  statut final : " + ", ".join(f"{k} {n}" for k, n in status.most_common()))
    wrong = []
    for mission_id in ids:
        m, fr = missions[mission_id], by_run[mission_id]
        st = fr.state.name if fr.state else "?"
        final = fr.state is not None and fr.state.is_final()
        if m.status.is_open == final:
            wrong.append(f"M{mission_id} : run « {st} », mission « {m.status.value} »")
        print(f"  M{mission_id:<5} {m.reference} run « {st} » / « {m.status.value} »")
    print(
        f"Formulaires soumis : {tally.submitted} (tels que préremplis : {tally.as_prefilled}), acceptés par le "
        f"serveur {tally.accepted}, ont fait avancer la mission {tally.moved_on}"
    )
    print(f"Refusés : {len(tally.refused)}")
    for mission_id, key, reason in tally.refused:
        print(f"  M{mission_id} « {key} » : {reason}")
    print(f"Attendent encore (même étape) : {len(tally.waits_again)}")
    for mission_id, key, note in tally.waits_again:
        print(f"  M{mission_id} « {key} » : {note}")
    for mission_id, key, missing in tally.missing_defaults:
        print(f"  M{mission_id} « {key} » : champs requis sans valeur préremplie {missing}")
    print(
        f"Portail : {dict(tally.portal)}, candidatures {tally.applied}, réponses en erreur {len(tally.portal_refused)}"
    )
    for url, code, said in tally.portal_refused:
        print(f"  {code} {url[:80]}… : {said}")
    print(
        f"Outbox : {sum(outbox.values())} lignes {dict(outbox)}, non envoyées {unsent}; Message-ID en double dans "
        f"l'outbox : {sum(1 for n in outbox_ids.values() if n > 1)}"
    )
    print(f"Fichiers .eml : {len(mails)}, Message-ID distincts {len(by_id)}, reçus deux fois : {len(twice)}")
    print(f"Missions laissées où le formulaire tel quel ne peut plus les faire avancer : {len(tally.parked)}")
    for mission_id, why in sorted(tally.parked.items()):
        print(f"  M{mission_id} : {why}")
    print(f"Worker tué : {tally.kill or 'non'}")
    print(f"Run et mission en désaccord : {len(wrong)}")
    for w in wrong:
        print("  " + w)
    still_open = [i for i in ids if missions[i].status.is_open]
    print(f"Missions encore ouvertes : {len(still_open)} {still_open}")
    stuck = [i for i in still_open if i not in tally.parked]
    return 1 if stuck or tally.refused or twice or wrong else 0


def main(argv: list[str]) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", default=settings.public_base_url.rstrip("/"))
    parser.add_argument("--portal", default=settings.portal_url.rstrip("/"))
    parser.add_argument("--maildir", type=Path, default=settings.maildir)
    parser.add_argument("--member", default="", help="membre qui répond (défaut : le premier administrateur)")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--timeout", type=float, default=180, help="secondes pour qu'un run reparte")
    parser.add_argument("--mail-wait", type=float, default=70, help="secondes d'attente des mails à chaque tour")
    parser.add_argument(
        "--finish",
        action="store_true",
        help="une fois qu'un point de suivi tel quel a poursuivi la mission, choisir « passer au bilan » au suivant "
        "(le seul champ changé ; compté à part) pour mener la mission jusqu'à son bilan",
    )
    parser.add_argument("--kill-worker", action="store_true", help="tuer un worker (SIGKILL) au milieu d'une étape")
    args = parser.parse_args(argv)
    member = args.member or demo_admin()
    token = kept_token(args.gateway, member, args.maildir)
    log(f"connecté(e) à {args.gateway} comme {member} (jeton personnel)")
    tally = Tally()
    kill: dict[str, Any] = {"stack": stack_process()} if args.kill_worker else {}
    used: set[str] = set()

    with temporary_settings(updates={PREFECT_API_URL: f"{args.gateway}/api", PREFECT_API_KEY: token}):

        async def all_runs() -> list[FlowRun]:
            async with get_client() as client:
                return await mission_runs(client)

        async def one_round() -> int:
            async with get_client() as client:
                return await submit_round(client, tally, args, kill)

        idle = 0
        runs: list[FlowRun] = []
        for n in range(1, args.rounds + 1):
            runs = run_coro_as_sync(all_runs()) or []
            open_ = {mission_of(r) for r in runs if r.state is not None and not r.state.is_final()}
            open_ -= set(tally.parked)
            if not open_:
                break
            log(f"--- tour {n} : {len(open_)} run(s) en cours")
            moved = run_coro_as_sync(one_round()) or 0
            if kill.get("done"):
                tally.kill = kill["done"]
            time.sleep(args.mail_wait)  # the send-mails deployment runs every minute
            moved += portal_round(tally, args, used, open_)
            idle = 0 if moved else idle + 1
            if idle >= 3:
                log("trois tours sans rien faire avancer : arrêt")
                break
        runs = run_coro_as_sync(all_runs()) or []
    return figures(tally, args, runs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
