"""`passerelles stack`: the whole system on one machine, on embedded defaults.

It starts PostgreSQL from its pip wheel (data under var/pgdata) for the application database and the Prefect
server, migrates and seeds the demo data, starts the Prefect server with its UI, a local SMTP server that keeps
every mail as an .eml file under var/mail, registers the work pool, deployments and automations, and starts two
Prefect workers; starts the runs of the demo's open missions so that some wait at each step; prints where to
click. Ctrl-C stops everything in order (workers first, once no run is mid-step), and the next start picks the
missions up again.

`PASSERELLES_DATABASE_URL` (application) and `PREFECT_SERVER_DATABASE_CONNECTION_URL` (Prefect) point either at an
external PostgreSQL instead; `PASSERELLES_SMTP_HOST` at a real SMTP server (the local one is then not started).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from deployments.arguments import Parser
from deployments.local import (
    EmbeddedPostgres,
    MailServer,
    Portal,
    PrefectServer,
    Worker,
)
from models.settings import EMBEDDED, VAR, check_secrets, get_settings, portal_token, service_credential


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def main(argv: list[str]) -> int:
    """Start the stack and wait for Ctrl-C."""
    parser = Parser(prog="passerelles stack", description="Démarre toute la pile locale.")
    parser.add_argument("--port", type=int, default=4200, help="port de l'interface (la passerelle de connexion)")
    parser.add_argument("--smtp-port", type=int, default=8025, help="port du serveur SMTP local")
    parser.add_argument("--workers", type=int, default=2, help="nombre de workers Prefect (défaut : 2)")
    parser.add_argument("--demo-runs", type=int, default=12, help="nombre de missions de démo à suivre par un run")
    args = parser.parse_args(argv)
    settings = get_settings()
    portal_port = urlsplit(settings.portal_url).port or 8300
    server_port = urlsplit(settings.prefect_upstream_url).port or args.port + 1
    local_smtp = settings.smtp_host in ("127.0.0.1", "localhost")
    for port in (args.port, server_port, portal_port, *([args.smtp_port] if local_smtp else [])):
        if not _port_free(port):
            print(f"Le port {port} est déjà pris : une pile tourne-t-elle déjà ? (--port)", file=sys.stderr)
            return 2

    postgres = EmbeddedPostgres(settings.pgdata)
    uses_embedded = settings.database_url == EMBEDDED or "PREFECT_SERVER_DATABASE_CONNECTION_URL" not in os.environ
    if uses_embedded:
        print(f"1/5 PostgreSQL embarqué ({settings.pgdata})…")
        postgres.start()
    refused = check_secrets(settings)
    if refused:
        print(refused, file=sys.stderr)
        return 2
    prefect_db = os.environ.get("PREFECT_SERVER_DATABASE_CONNECTION_URL") or postgres.url("prefect", "asyncpg")
    public = os.environ.setdefault("PASSERELLES_PUBLIC_BASE_URL", f"http://127.0.0.1:{args.port}")
    server = PrefectServer(
        home=VAR / "prefect", port=server_port, database_url=prefect_db, auth=service_credential(), public_url=public
    )
    os.environ.update(server.env())
    os.environ["PASSERELLES_PREFECT_UPSTREAM_URL"] = server.ui_url
    os.environ["PASSERELLES_PREFECT_API_URL"] = server.api_url
    if local_smtp:
        os.environ["PASSERELLES_SMTP_PORT"] = str(args.smtp_port)
    get_settings.cache_clear()
    settings = get_settings()

    from deployments import demo

    print("2/5 Base de données : migration et données de démonstration…")
    demo.main([])
    print(f"3/5 Serveur Prefect sur {server.ui_url} (premier démarrage : ~20 s)…")
    server.start(log=VAR / "prefect-server.log")
    mail = MailServer(port=args.smtp_port, folder=settings.maildir).start() if local_smtp else None
    where = f"mails gardés dans {settings.maildir}" if mail else "serveur externe"
    print(f"4/5 SMTP {settings.smtp_host}:{settings.smtp_port}, {where}")
    from deployments.register import POOL, register

    register()
    workers = [Worker(f"worker-{i}", VAR / f"worker-{i}.log", pool=POOL).start() for i in range(1, args.workers + 1)]
    portal = Portal(  # the portal answers the parties' steps through the gateway, with its own narrow token
        portal_port,
        VAR / "portal.log",
        env={"PREFECT_API_URL": f"{public}/api", "PREFECT_API_KEY": portal_token()},
        drop=("PREFECT_API_AUTH_STRING", "PREFECT_SERVER_API_AUTH_STRING"),
    )
    gateway = Portal(
        args.port,
        VAR / "gateway.log",
        command="gateway",
        env={"PASSERELLES_DEMO_SIGNIN": os.environ.get("PASSERELLES_DEMO_SIGNIN", "true")},
    ).start()
    portal.start()
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        print("\nArrêt : on laisse finir les étapes en cours…")
        from deployments.demo.runs import wait_until_quiet

        wait_until_quiet(timeout=30)
        portal.stop()
        gateway.stop()
        for w in workers:
            w.stop()
        if mail:
            mail.stop()
        server.stop()
        if uses_embedded:
            postgres.stop()
        print("Tout est arrêté. Relancez la même commande pour reprendre les missions où elles en étaient.")

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        from deployments.demo.runs import start_demo_runs

        print(f"5/5 {len(workers)} workers sur le pool « {POOL} » ; runs des missions de démonstration…")
        started = start_demo_runs(limit=args.demo_runs)
        if started:
            print(f"    {started} mission(s) de démonstration suivie(s) par un run.")
        else:
            print("    Les runs des missions reprennent où ils en étaient.")
        _print_where_to_click(public, settings.portal_url, settings.maildir, VAR)
        while not stopping:
            dead = [w for w in workers if not w.alive()]
            for w in dead:  # a worker that died is replaced; its runs are recovered by the automations
                print(f"Le worker {w.name} s'est arrêté (voir {w.log}) : il est relancé.")
                w.start()
            for app in (portal, gateway):
                if not app.alive():
                    name = {"portal": "Le portail", "gateway": "La passerelle de connexion"}[app.command]
                    print(f"{name} s'est arrêté(e) (voir {app.log}) : relancé(e).")
                    app.start()
            time.sleep(1)
    except Exception:
        stop()
        raise
    return 0


def _demo_members() -> str:
    from models.db import unit_of_work
    from models.org import ROLE_LABELS
    from tasks.identity import showcase

    with unit_of_work() as s:
        return "\n".join(
            f"    {c.email:<46} {ROLE_LABELS[c.role]}{f' ({c.branch.code})' if c.branch else ''}" for c in showcase(s)
        )


def _print_where_to_click(ui: str, portal: str, maildir: Path, var: Path) -> None:
    print(f"""
Passerelles est prêt.
  Connexion de l'équipe ........ {ui}/connexion   (lien de connexion par mail, dans {maildir} ;
                                 en démonstration, un clic suffit). Membres de la démo :
{_demo_members()}
  Interface Prefect ............ {ui}
  Missions qui attendent ....... {ui}/runs?state=Suspended   (« Suspended » = un formulaire vous attend)
  Ouvrir une mission ........... {ui}/deployments  → request-mission → Run → Custom run
  Rapport régional ............. {ui}/deployments  → regional-report → Run
  Portail (liens des mails) .... {portal}   (bénévoles : candidature, désinscription ; associations : annonce)
  Pages publiques du portail ... {portal}/inscription   (un bénévole s'inscrit)
                                 {portal}/missions   (les annonces ouvertes : on y candidate, en s'inscrivant)
                                 {portal}/demande   (une association demande une mission)
  Mails envoyés (fichiers .eml)  {maildir}
  Journaux ..................... {var}/worker-*.log, {var}/prefect-server.log, {var}/portal.log, {var}/gateway.log
Pour répondre à une étape : ouvrez le run « mission-… », bouton « Resume » (ou menu ⋮ → Resume), remplissez,
validez. Ctrl-C arrête tout proprement.
""")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
