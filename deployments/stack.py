"""`passerelles stack`: the whole system on one machine, on embedded defaults.

It migrates and seeds the SQLite database under var/, starts the Prefect server with its UI (SQLite under
var/prefect), a local SMTP server that keeps every mail as an .eml file under var/mail, and the serving process;
starts the runs of the demo's open missions so that some wait at each step; prints where to click. Ctrl-C stops
everything in order (serving first, once no run is mid-step), and the next start picks the missions up again.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from deployments.local import MailServer, PrefectServer, stop_process
from models.settings import VAR, get_settings


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def main(argv: list[str]) -> int:
    """Start the stack and wait for Ctrl-C."""
    parser = argparse.ArgumentParser(prog="passerelles stack", description="Démarre toute la pile locale.")
    parser.add_argument("--port", type=int, default=4200, help="port du serveur Prefect et de son interface")
    parser.add_argument("--smtp-port", type=int, default=8025, help="port du serveur SMTP local")
    parser.add_argument("--demo-runs", type=int, default=12, help="nombre de missions de démo à suivre par un run")
    args = parser.parse_args(argv)
    for port in (args.port, args.smtp_port):
        if not _port_free(port):
            print(
                f"Le port {port} est déjà pris : une pile tourne-t-elle déjà ? (--port / --smtp-port)", file=sys.stderr
            )
            return 2

    server = PrefectServer(home=VAR / "prefect", port=args.port)
    os.environ.update(server.env())
    os.environ.setdefault("PASSERELLES_PUBLIC_BASE_URL", server.ui_url)
    os.environ["PASSERELLES_PREFECT_API_URL"] = server.api_url
    os.environ["PASSERELLES_SMTP_PORT"] = str(args.smtp_port)
    get_settings.cache_clear()
    settings = get_settings()

    from deployments import demo

    print("1/4 Base de données : migration et données de démonstration…")
    demo.main([])
    print(f"2/4 Serveur Prefect sur {server.ui_url} (premier démarrage : ~20 s)…")
    server.start(log=VAR / "prefect-server.log")
    mail = MailServer(port=args.smtp_port, folder=settings.maildir).start()
    print(f"3/4 Serveur SMTP local sur 127.0.0.1:{args.smtp_port}, mails gardés dans {settings.maildir}")
    log_path = VAR / "serve.log"
    log_file = log_path.open("ab")
    serving = subprocess.Popen(
        [sys.executable, "-m", "deployments.cli", "serve", "--recover"],
        env=dict(os.environ),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        print("\nArrêt : on laisse finir les étapes en cours…")
        from deployments.demo_runs import wait_until_quiet

        wait_until_quiet(timeout=30)
        stop_process(serving, timeout=30)
        mail.stop()
        server.stop()
        print("Tout est arrêté. Relancez la même commande pour reprendre les missions où elles en étaient.")

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        from deployments.demo_runs import start_demo_runs, wait_for_deployments

        print("4/4 Déploiements et runs des missions de démonstration…")
        wait_for_deployments(timeout=120, serving=serving)
        started = start_demo_runs(limit=args.demo_runs)
        if started:
            print(f"    {started} mission(s) de démonstration suivie(s) par un run.")
        else:
            print("    Les runs des missions reprennent où ils en étaient.")
        _print_where_to_click(server.ui_url, settings.maildir, log_path)
        while not stopping:
            if serving.poll() is not None:
                print(f"Le processus de service s'est arrêté (code {serving.returncode}) ; voir {log_path}")
                stop()
                return 1
            time.sleep(0.5)
    except Exception:
        stop()
        raise
    return 0


def _print_where_to_click(ui: str, maildir: Path, log: Path) -> None:
    print(f"""
Passerelles est prêt.
  Interface Prefect ............ {ui}
  Missions qui attendent ....... {ui}/runs?state=Suspended   (« Suspended » = un formulaire vous attend)
  Ouvrir une mission ........... {ui}/deployments  → request-mission → Run → Custom run
  Rapport régional ............. {ui}/deployments  → regional-report → Run
  Mails envoyés (fichiers .eml)  {maildir}
  Journal du service ........... {log}
Pour répondre à une étape : ouvrez le run « mission-… », bouton « Resume » (ou menu ⋮ → Resume), remplissez,
validez. Ctrl-C arrête tout proprement.
""")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
