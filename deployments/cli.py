"""The `passerelles` command: one entry point, each sub-command implemented beside what it drives.

Each sub-command is `module:function`, called with the remaining arguments; it parses them itself and returns
an exit code. Imports are lazy so that `passerelles --help` stays fast.
"""

from __future__ import annotations

import importlib
import os
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "stack": ("deployments.stack:main", "démarre toute la pile locale (PostgreSQL, Prefect, workers, SMTP, démo)"),
    "db-upgrade": ("deployments.admin:db_upgrade", "met le schéma de la base à jour (Alembic)"),
    "seed": ("deployments.demo:main", "charge les données de démonstration (idempotent)"),
    "import-volunteers": ("deployments.admin:import_volunteers_command", "importe ou met à jour des bénévoles"),
    "start-mission": ("deployments.admin:start_mission", "ouvre une mission et démarre son flow"),
    "apply": ("deployments.admin:apply", "enregistre la candidature d'un bénévole à une mission"),
    "init": ("deployments.admin:init", "prépare une installation : schéma, référentiels, déploiements Prefect"),
    "branch": ("deployments.organisation_cli:branch", "crée, modifie, liste les antennes"),
    "team": ("deployments.organisation_cli:team", "l'équipe : ajouter, changer de rôle, désactiver un membre"),
    "association": ("deployments.organisation_cli:association", "enregistre, liste les associations"),
    "volunteer": ("deployments.organisation_cli:volunteer", "un bénévole : disponibilité, consentements, archivage"),
    "social-posted": ("deployments.organisation_cli:social_posted", "confirme la publication d'une annonce"),
    "fees": (
        "deployments.organisation_cli:fees",
        "cotisations : lister, noter payée ou exonérée, corriger, relancer, barème",
    ),
    "erase-volunteer": ("deployments.organisation_cli:erase_volunteer", "efface un bénévole (RGPD) ; stats gardées"),
    "warm": ("deployments.warm:main", "lanceur chaud des runs : serve (processus chaud) ou run (un run)"),
    "portal": ("portal.app:main", "sert le portail public des liens signés (bénévoles, associations)"),
    "reassign": ("deployments.organisation_cli:reassign", "confie une mission (ou toutes celles d'une Passerelle)"),
    "move-mission": ("deployments.organisation_cli:move_mission", "confie une mission à une autre antenne"),
    "gateway": ("gateway.app:main", "sert la passerelle de connexion de l'équipe devant l'interface Prefect"),
    "login": ("deployments.identity_cli:login", "agit sous votre nom en ligne de commande (jeton personnel)"),
    "logout": ("deployments.identity_cli:logout", "révoque votre jeton ; les commandes agiront comme le système"),
    "whoami": ("deployments.identity_cli:whoami", "dit sous quel nom les commandes agissent"),
    "export": ("deployments.organisation_cli:export", "exporte missions, candidatures ou cotisations en CSV (tableur)"),
    "access-log": ("deployments.identity_cli:access_log", "exporte le journal des accès (CSV, admins)"),
}


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a sub-command."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        width = max(map(len, COMMANDS))
        lines = [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
        print("usage: passerelles COMMANDE [options]\n\nCommandes :\n" + "\n".join(lines))
        if args and args[0] not in ("-h", "--help"):
            print(f"\nCommande inconnue : « {args[0]} ».", file=sys.stderr)
            return 2
        return 0
    # Prefect reads its own PREFECT_API_URL; ours fills it in when it is not set (before Prefect is imported).
    from models.settings import VAR, get_settings, service_credential

    os.environ.setdefault("PREFECT_API_URL", get_settings().prefect_api_url)
    # On the server, the command line reaches the Prefect server with the machines' credential of this installation;
    # never the portal, which answers through the gateway with its own narrow token.
    if args[0] != "portal" and "PREFECT_API_AUTH_STRING" not in os.environ and (VAR / "prefect_service_key").exists():
        os.environ["PREFECT_API_AUTH_STRING"] = service_credential()
    target, _ = COMMANDS[args[0]]
    module, func = target.split(":")
    return int(getattr(importlib.import_module(module), func)(args[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
