"""Who may do what: the team's roles against the calls the Prefect UI makes (pure rules, no I/O).

The sign-in gateway classifies each call it proxies (`classify`), finds the branch the call touches (a mission
run's `antenne:` tag), and asks `may`. Reads are open to every signed-in member, except the runs of another
branch's missions for a Passerelle or a branch lead; every write is checked; a write this module does not know is
an admin's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from models.files import FileKind
from models.org import ROLE_LABELS, Role

SYSTEM_CLI = "système (ligne de commande sur le serveur)"
SYSTEM_RUN = "système (run lancé sans identité)"
NO_IDENTITY = "réponse sans identité (identifiant de service)"  # a resume sent past the gateway, naming nobody
MEMBER_TAG = "membre:"  # the tag the gateway puts on a flow run started by a member: `membre:C-12`
BRANCH_TAG = "antenne:"


class Act(StrEnum):
    """What a call does."""

    READ = "lire"
    ANSWER_STEP = "répondre à une étape"
    MANAGE_RUN = "changer l'état d'un run de mission"
    START = "lancer une action"
    ADMIN = "administrer"


@dataclass(frozen=True)
class Call:
    """A Prefect API call, as the gateway sees it: what it does and what it names."""

    act: Act
    flow_run_id: str = ""
    deployment_id: str = ""
    filters_runs: bool = False  # a read of many flow runs (filter, count, paginate, history): scoped by branch


# Which roles may start each deployment from the UI (Deployments → Run); not listed: admins only.
STARTERS: dict[str, frozenset[Role]] = {
    "request-mission": frozenset({Role.PASSERELLE, Role.BRANCH_LEAD, Role.ADMIN}),
    "regional-report": frozenset({Role.BRANCH_LEAD, Role.ADMIN}),
    "reassign-missions": frozenset({Role.BRANCH_LEAD, Role.ADMIN}),
    "confirm-social-post": frozenset({Role.SUPPORT, Role.PASSERELLE, Role.BRANCH_LEAD, Role.ADMIN}),
    "record-fee": frozenset({Role.SUPPORT, Role.ADMIN}),
    "correct-fee": frozenset({Role.SUPPORT, Role.ADMIN}),
    "update-volunteer": frozenset({Role.SUPPORT, Role.ADMIN}),
    "register-association": frozenset({Role.BRANCH_LEAD, Role.SUPPORT, Role.ADMIN}),
    "update-association": frozenset({Role.BRANCH_LEAD, Role.SUPPORT, Role.ADMIN}),
    "archive-association": frozenset({Role.BRANCH_LEAD, Role.SUPPORT, Role.ADMIN}),
}
# What the portal (its service token) may start: the run of an association's request once its contact confirmed
# their address (portal/requests.py); nothing else.
PORTAL_STARTS = frozenset({"new-request"})
BRANCH_SCOPED = frozenset({Role.PASSERELLE, Role.BRANCH_LEAD})  # they see and answer their branch's missions

_UUID = r"[0-9a-fA-F-]{36}"
_READ_ENDS = {"filter", "count", "paginate", "history", "lateness", "validate", "count-task-runs", "counts"}


def classify(method: str, path: str) -> Call:
    """What the call `method path` (path under /api) does."""
    method, path = method.upper(), path.lstrip("/")
    parts = [p for p in path.split("/") if p]
    run = re.fullmatch(rf"/?flow_runs/({_UUID})(/.*)?", path)
    if method in ("GET", "HEAD", "OPTIONS"):
        return Call(Act.READ, flow_run_id=run.group(1) if run else "")
    if method == "POST" and parts and (parts[-1] in _READ_ENDS or parts[0] == "ui" or path.startswith("events/")):
        scoped = bool(parts) and (parts[0] == "flow_runs" or parts[:2] == ["ui", "flow_runs"])
        return Call(Act.READ, filters_runs=scoped)
    if run and method == "POST" and run.group(2) == "/resume":
        return Call(Act.ANSWER_STEP, flow_run_id=run.group(1))
    if run and method == "POST" and run.group(2) == "/set_state":
        return Call(Act.MANAGE_RUN, flow_run_id=run.group(1))
    start = re.fullmatch(rf"/?deployments/({_UUID})/create_flow_run", path)
    if start and method == "POST":
        return Call(Act.START, deployment_id=start.group(1))
    return Call(Act.ADMIN)


def may(role: Role, act: Act, *, member_branch: str | None, run_branch: str | None, deployment: str = "") -> bool:
    """Whether a member of `role` (of `member_branch`) may do `act` on a run of `run_branch` (None: not a mission
    run) or start `deployment`."""
    if role is Role.ADMIN:
        return True
    if act is Act.READ:
        return run_branch is None or role not in BRANCH_SCOPED or run_branch == member_branch
    if act is Act.ANSWER_STEP:
        return run_branch is not None and role in BRANCH_SCOPED and run_branch == member_branch
    if act is Act.MANAGE_RUN:
        return run_branch is not None and role is Role.BRANCH_LEAD and run_branch == member_branch
    if act is Act.START:
        return role in STARTERS.get(deployment, frozenset())
    return False


def run_branch(tags: list[str]) -> str | None:
    """The branch code of a mission run, from its `antenne:` tag (None: not a mission run)."""
    return next((t.removeprefix(BRANCH_TAG) for t in tags if t.startswith(BRANCH_TAG)), None)


def member_of_tags(tags: list[str]) -> str:
    """`C-12` from the `membre:C-12` tag the gateway put on a run; empty if none."""
    return next((t.removeprefix(MEMBER_TAG) for t in tags if t.startswith(MEMBER_TAG)), "")


def refusal(act: Act, role: Role) -> str:
    """The French reason of a 403."""
    reasons = {
        Act.ANSWER_STEP: "Seule une Passerelle ou la responsable de l'antenne de la mission répond à ses étapes.",
        Act.MANAGE_RUN: "Seule la responsable de l'antenne de la mission (ou un admin) change l'état de son run.",
        Act.START: "Votre rôle ne permet pas de lancer cette action.",
        Act.READ: "Cette mission est suivie par une autre antenne.",
        Act.ADMIN: "Cette action est réservée aux administrateurs.",
    }
    return f"{reasons[act]} (Vous êtes : {ROLE_LABELS[role]}.)"


def may_read_file(role: Role, *, member_branch: str | None, kind: str, branches: tuple[str, ...]) -> str:
    """Empty when a member of `role` (of `member_branch`) may read a stored file (models/files.py) of `kind`
    covering `branches` (none: every branch), else the French reason of the refusal. An export lists people and
    fees: admins only, as the export-data action. A report counts: the national team (admins, support) reads every
    report; a Passerelle or a branch lead only a report of her own branch."""
    if role is Role.ADMIN:
        return ""
    if kind != FileKind.REPORT:
        return f"Les exports de données sont réservés aux administrateurs. (Vous êtes : {ROLE_LABELS[role]}.)"
    if role is Role.SUPPORT or (role in BRANCH_SCOPED and member_branch and branches == (member_branch,)):
        return ""
    return f"Ce rapport couvre d'autres antennes que la vôtre. (Vous êtes : {ROLE_LABELS[role]}.)"
