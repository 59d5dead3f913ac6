"""Who acts, in the database: one-time sign-in links, member sessions and personal tokens, the access log.

A secret (a link's, a session's, a token's) is 32 random bytes given once to its holder; only its SHA-256 is kept,
so the database alone lets nobody sign in. Every check reads the member's row, so a member who leaves
(deactivated) loses access at the next request.
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from models import AccessLog, Coordinator, MailStatus, MemberSession, OutboxMail, SignInLink
from models.base import utcnow
from models.org import ROLE_LABELS, Role
from models.permissions import SYSTEM_CLI, SYSTEM_RUN
from models.refusals import StepRefused
from tasks.compose import compose
from tasks.lookups import find_coordinator
from tasks.outbox import enqueue

LINK_MINUTES = 15
BROWSER_IDLE = timedelta(hours=8)
TOKEN_IDLE = timedelta(days=90)
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often
ACCESS_LOG_MONTHS = 12


class SignInRefused(StepRefused):
    """A sign-in link or session that lets nobody in; the French reason is shown, `who` is logged (in a
    transaction of its own: the refused one writes nothing)."""

    def __init__(self, reason: str, who: str = "?", coordinator_id: int | None = None) -> None:
        super().__init__(reason)
        self.who, self.coordinator_id = who, coordinator_id


@dataclass(frozen=True)
class Member:
    """A signed-in member, detached from any session: what the gateway and the command line need."""

    id: int
    email: str
    name: str
    role: Role
    branch: str | None  # the branch code; None for the national team
    session_id: int = 0

    @property
    def label(self) -> str:
        """How the audit names the member (the « Saisi par » label of before): `Claire Muller <claire@…>`."""
        return f"{self.name} <{self.email}>"

    @property
    def ref(self) -> str:
        """`C-12`: what the actions take as « by », and the gateway's `membre:` tag."""
        return f"C-{self.id}"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def member(c: Coordinator, session_id: int = 0) -> Member:
    """The detached view of a team member."""
    return Member(c.id, c.email, c.full_name, c.role, c.branch.code if c.branch else None, session_id)


def active_member(session: Session, email: str) -> Coordinator | None:
    """The active team member of that address (any case), if any."""
    return session.scalar(
        select(Coordinator).where(func.lower(Coordinator.email) == email.strip().lower(), Coordinator.active.is_(True))
    )


def showcase(session: Session) -> list[Coordinator]:
    """A few active members covering every role and two branches (the demo's one-click sign-in, the banner)."""
    members = session.scalars(select(Coordinator).where(Coordinator.active.is_(True)).order_by(Coordinator.id)).all()
    picked: list[Coordinator] = []
    for role in (Role.ADMIN, Role.SUPPORT, Role.BRANCH_LEAD):
        picked += [c for c in members if c.role is role][:1]
    branches: set[int | None] = set()
    for c in members:
        if c.role is Role.PASSERELLE and c.branch_id not in branches and len(branches) < 2:
            branches.add(c.branch_id)
            picked.append(c)
    return picked


def request_link(
    session: Session, email: str, *, base_url: str, purpose: str = "browser", ip: str = "", next_: str = "/"
) -> bool:
    """Mail a one-time sign-in link to `email` if it is an active member's (the outbox sends it after the commit);
    whether one was queued. The caller answers the same either way: nobody learns who is a member."""
    c = active_member(session, email)
    log(session, who=email.strip().lower()[:254], event="signin_link_asked" if c else "signin_unknown", ip=ip)
    if c is None:
        return False
    secret = secrets.token_urlsafe(32)
    row = SignInLink(
        coordinator_id=c.id,
        secret_hash=_hash(secret),
        purpose=purpose,
        expires_at=utcnow() + timedelta(minutes=LINK_MINUTES),
    )
    session.add(row)
    session.flush()
    url = f"{base_url.rstrip('/')}/connexion/lien?jeton={secret}"
    if next_ not in ("", "/"):
        url += f"&suite={quote(next_, safe='/')}"
    content = compose("signin_link", member=c, url=url, minutes=LINK_MINUTES, purpose=purpose)
    enqueue(session, mission_id=None, kind="signin_link", about=str(row.id), to=c.email, content=content)
    return True


def consume_link(session: Session, secret: str, *, ip: str = "") -> tuple[Coordinator, str]:
    """The member a sign-in link names and its purpose; the link is used up. SignInRefused (in French) if it is
    unknown, used, expired, or its member left (the caller logs it)."""
    row = session.scalar(select(SignInLink).where(SignInLink.secret_hash == _hash(secret)).with_for_update())
    c = session.get(Coordinator, row.coordinator_id) if row else None
    if row is None or c is None:
        reason = "Ce lien de connexion n'est pas valide. Demandez-en un nouveau."
    elif row.used_at is not None:
        reason = "Ce lien de connexion a déjà servi. Demandez-en un nouveau."
    elif row.expires_at < utcnow():
        reason = f"Ce lien de connexion a expiré (il sert {LINK_MINUTES} minutes). Demandez-en un nouveau."
    elif not c.active:
        reason = "Votre compte n'est plus actif : adressez-vous à un administrateur."
    else:
        row.used_at = utcnow()
        log(session, who=c.email, coordinator_id=c.id, event="signin_ok", ip=ip, detail=row.purpose)
        return c, row.purpose
    raise SignInRefused(reason, c.email if c else "?", c.id if c else None)


def open_session(session: Session, c: Coordinator, *, kind: str = "browser") -> str:
    """A new session (or personal token) for `c`; its secret, to give once."""
    secret = secrets.token_urlsafe(32)
    session.add(MemberSession(coordinator_id=c.id, secret_hash=_hash(secret), kind=kind))
    return secret


def session_member(session: Session, secret: str, *, kind: str = "browser") -> Member | None:
    """The member a session secret stands for, if the session is open, not idle too long, and the member active."""
    row = session.scalar(select(MemberSession).where(MemberSession.secret_hash == _hash(secret)))
    if row is None or row.kind != kind or row.ended_at is not None or not row.coordinator.active:
        return None
    now = utcnow()
    if now - row.last_seen_at > (TOKEN_IDLE if kind == "token" else BROWSER_IDLE):
        row.ended_at = now
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
    return member(row.coordinator, row.id)


def end_session(session: Session, secret: str) -> None:
    """Sign out: the session's secret no longer lets anyone in."""
    row = session.scalar(select(MemberSession).where(MemberSession.secret_hash == _hash(secret)))
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        log(session, who=row.coordinator.email, coordinator_id=row.coordinator_id, event="signout")


def end_sessions_of(session: Session, coordinator_id: int) -> int:
    """End every open session and token of a member (who leaves); how many."""
    rows = session.scalars(
        select(MemberSession).where(MemberSession.coordinator_id == coordinator_id, MemberSession.ended_at.is_(None))
    ).all()
    for row in rows:
        row.ended_at = utcnow()
    return len(rows)


def void_links_of(session: Session, coordinator_id: int) -> int:
    """Expire the sign-in links of a member not used yet (their address changed: they went to the old one); how
    many."""
    rows = session.scalars(
        select(SignInLink).where(
            SignInLink.coordinator_id == coordinator_id, SignInLink.used_at.is_(None), SignInLink.expires_at > utcnow()
        )
    ).all()
    for row in rows:
        row.expires_at = utcnow()
    return len(rows)


def log_edit(session: Session, who: Coordinator | None, label: str, *, event: str, target: str, detail: str) -> None:
    """A correction made by the team (the organisation's data, a fee, the schedule): who (the member, or `label`
    when it is the system), what and why, as a line of the access log."""
    log(
        session,
        who=who.email if who else label,
        coordinator_id=who.id if who else None,
        event=event,
        target=target,
        detail=detail,
    )


def log(
    session: Session,
    *,
    who: str,
    event: str,
    coordinator_id: int | None = None,
    method: str = "",
    path: str = "",
    target: str = "",
    status: int | None = None,
    ip: str = "",
    detail: str = "",
) -> None:
    """One line of the access log."""
    session.add(
        AccessLog(
            who=who[:254],
            event=event,
            coordinator_id=coordinator_id,
            method=method,
            path=path[:500],
            target=target[:200],
            status=status,
            ip=ip[:64],
            detail=detail,
        )
    )


def purge_access_log(session: Session, now: datetime | None = None) -> int:
    """Delete the access log's lines older than 12 months (the CNIL's recommendation: 6 months to a year)."""
    cutoff = (now or utcnow()) - timedelta(days=30 * ACCESS_LOG_MONTHS + 5)
    return session.execute(delete(AccessLog).where(AccessLog.at < cutoff)).rowcount or 0  # type: ignore[attr-defined]


def forget_sent_links(session: Session) -> int:
    """Blank the body of sign-in mails once sent: the outbox must not keep a usable link (only its hash is kept)."""
    return (
        session.execute(
            update(OutboxMail)
            .where(OutboxMail.kind == "signin_link", OutboxMail.status == MailStatus.SENT, OutboxMail.text_body != "")
            .values(text_body="", html_body="")
        ).rowcount  # type: ignore[attr-defined]
        or 0
    )


CSV_COLUMNS = ["date", "membre", "événement", "méthode", "chemin", "cible", "statut", "adresse IP", "détail"]


def access_log_csv(session: Session, *, since: datetime | None = None) -> str:
    """The access log as CSV (UTF-8, `;`-separated for the spreadsheets of French accountants), oldest first."""
    query = select(AccessLog).order_by(AccessLog.at, AccessLog.id)
    if since is not None:
        query = query.where(AccessLog.at >= since)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(CSV_COLUMNS)
    for r in session.scalars(query):
        writer.writerow(
            [
                r.at.isoformat(timespec="seconds"),
                r.who,
                r.event,
                r.method,
                r.path,
                r.target,
                r.status or "",
                r.ip,
                r.detail,
            ]
        )
    return out.getvalue()


def resolve_actor(session: Session, ref: str) -> tuple[str, Coordinator | None]:
    """The audit label and the member of an actor reference: `C-12` (a member: must be active) or a system label."""
    if ref in (SYSTEM_CLI, SYSTEM_RUN) or not ref:
        return ref or SYSTEM_RUN, None
    c = find_coordinator(session, ref)
    return f"{c.full_name} <{c.email}>", c


def actor_name(session: Session, ref: str) -> tuple[str, Coordinator | None]:
    """The name to record (the member's, or the system's label) and the member of an actor reference."""
    label, c = resolve_actor(session, ref)
    return (c.full_name if c else label), c


def require_role(c: Coordinator | None, *roles: Role, what: str) -> None:
    """Refuse (in French) when a named member lacks every role of `roles`; the system actor may do anything (it is
    the command line on the server, or a machine)."""
    if c is not None and c.role not in roles and c.role is not Role.ADMIN:
        raise StepRefused(f"{c.full_name} ({ROLE_LABELS[c.role]}) ne peut pas {what}.")
