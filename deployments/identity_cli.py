"""`passerelles login|logout|whoami|access-log|gateway`: the command line acts as a named member, or as the system.

`passerelles login` keeps a personal token (obtained after a sign-in link: the gateway's page
`/connexion?pour=token`) in `~/.config/passerelles/jeton` (mode 600, or `PASSERELLES_TOKEN`); each command that
acts then names that member in the audit and checks their role. Without a token, a command run on the server is
recorded as « système (ligne de commande sur le serveur) ».
"""

from __future__ import annotations

import getpass
import os
import sys
from datetime import datetime
from pathlib import Path

from deployments.arguments import Parser
from models.db import unit_of_work
from models.permissions import SYSTEM_CLI
from models.settings import get_settings
from tasks import identity

TOKEN_FILE = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "passerelles" / "jeton"


class NotSignedIn(Exception):
    """The kept token no longer signs anyone in (expired, revoked, the member left)."""


def _token() -> str:
    if os.environ.get("PASSERELLES_TOKEN"):
        return os.environ["PASSERELLES_TOKEN"].strip()
    return TOKEN_FILE.read_text().strip() if TOKEN_FILE.exists() else ""


def cli_actor() -> str:
    """`C-12` for the member whose token is kept, else the system label; NotSignedIn (French) if the kept token
    no longer works, rather than acting as the system unawares."""
    token = _token()
    if not token:
        return SYSTEM_CLI
    with unit_of_work() as s:
        who = identity.session_member(s, token, kind="token")
    if who is None:
        raise NotSignedIn(
            "Votre jeton personnel ne fonctionne plus (expiré, révoqué, ou compte désactivé) : « passerelles login » "
            "pour en mettre un nouveau, ou « passerelles logout » pour agir comme le système."
        )
    return who.ref


def login(argv: list[str]) -> int:
    """Keep a personal token for the next commands."""
    parser = Parser(prog="passerelles login", description="Agit sous votre nom en ligne de commande.")
    parser.add_argument("--jeton", help="le jeton affiché après le lien de connexion (sinon demandé)")
    args = parser.parse_args(argv)
    url = f"{get_settings().public_base_url.rstrip('/')}/connexion?pour=token"
    token = args.jeton or getpass.getpass(f"Ouvrez {url}, suivez le lien reçu par mail, puis collez le jeton : ")
    with unit_of_work() as s:
        who = identity.session_member(s, token.strip(), kind="token")
    if who is None:
        print("Jeton refusé : inconnu, expiré ou révoqué. Demandez-en un nouveau.", file=sys.stderr)
        return 1
    TOKEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(TOKEN_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token.strip())
    print(f"Connecté(e) : {who.label}. Les commandes agiront sous votre nom.")
    return 0


def logout(argv: list[str]) -> int:
    """Revoke the kept token."""
    Parser(prog="passerelles logout", description="Révoque votre jeton personnel.").parse_args(argv)
    token = _token()
    if token:
        with unit_of_work() as s:
            identity.end_session(s, token)
    TOKEN_FILE.unlink(missing_ok=True)
    print("Jeton révoqué. Les commandes agiront comme « système (ligne de commande sur le serveur) ».")
    return 0


def whoami(argv: list[str]) -> int:
    """Who the next commands act as."""
    Parser(prog="passerelles whoami").parse_args(argv)
    try:
        ref = cli_actor()
    except NotSignedIn as exc:
        print(exc, file=sys.stderr)
        return 1
    with unit_of_work() as s:
        print(identity.resolve_actor(s, ref)[0])
    return 0


def access_log(argv: list[str]) -> int:
    """Export the access log as CSV (admins; on the server, the system)."""
    parser = Parser(prog="passerelles access-log", description="Exporte le journal des accès (CSV).")
    parser.add_argument("--depuis", type=datetime.fromisoformat, help="date de début (AAAA-MM-JJ)")
    parser.add_argument("--sortie", type=Path, help="fichier CSV (défaut : la sortie standard)")
    args = parser.parse_args(argv)
    try:
        ref = cli_actor()
    except NotSignedIn as exc:
        print(exc, file=sys.stderr)
        return 1
    with unit_of_work() as s:
        label, who = identity.resolve_actor(s, ref)
        if who is not None and who.role.value != "admin":
            print("Refusé : le journal des accès est réservé aux administrateurs.", file=sys.stderr)
            return 1
        since = args.depuis.astimezone() if args.depuis else None
        body = identity.access_log_csv(s, since=since)
        identity.log(s, who=who.email if who else label, coordinator_id=who.id if who else None,
                     event="access_log_export", detail="ligne de commande")  # fmt: skip
    if args.sortie:
        args.sortie.write_text(body, encoding="utf-8")
        print(f"Journal des accès écrit dans {args.sortie}.")
    else:
        sys.stdout.write(body)
    return 0
