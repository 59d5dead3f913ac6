"""Administrative sub-commands: installation, schema upgrade, opening a mission, recording an application,
importing volunteers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from models.db import upgrade
from models.settings import get_settings


def db_upgrade(argv: list[str]) -> int:
    """`passerelles db-upgrade`: migrate the configured database to the latest schema."""
    argparse.ArgumentParser(prog="passerelles db-upgrade", description="Met le schéma à jour.").parse_args(argv)
    upgrade()
    print(f"Base à jour : {_shown_url()}")
    return 0


def init(argv: list[str]) -> int:
    """`passerelles init`: a real installation, with no demo data: schema, reference data, Prefect registration."""
    parser = argparse.ArgumentParser(
        prog="passerelles init",
        description="Prépare une installation : schéma de la base, taxonomie des compétences et barème des "
        "cotisations, puis pool de workers, déploiements et automatisations sur le serveur Prefect.",
    )
    parser.add_argument("--sans-prefect", action="store_true", help="ne prépare que la base de données")
    args = parser.parse_args(argv)
    from models.db import unit_of_work
    from models.reference_data import ensure_reference_data

    upgrade()
    with unit_of_work() as session:
        ensure_reference_data(session)
    print(f"Base prête (schéma et référentiels) : {_shown_url()}")
    if args.sans_prefect:
        return 0
    from deployments.register import POOL, register

    try:
        ids = register()
    except Exception as exc:  # an unreachable server, bad credentials: say so in French, the base stays ready
        print(f"Serveur Prefect injoignable ({get_settings().prefect_api_url}) : {exc}", file=sys.stderr)
        return 1
    print(f"Prefect prêt : pool « {POOL} », {len(ids)} déploiements, automatisations de reprise.")
    from tasks.recovery import restore_ended_runs

    restored = restore_ended_runs()  # runs of closed missions turned Crashed before issue 19's fix
    if restored:
        print(f"Runs de missions closes remis dans leur état final : {len(restored)}.")
    print(f"Démarrez les workers : prefect worker start --pool {POOL}")
    return 0


def _shown_url() -> str:
    from sqlalchemy.engine import make_url

    from models.db import resolve_url

    return make_url(resolve_url(get_settings().database_url)).render_as_string(hide_password=True)


def start_mission(argv: list[str]) -> int:
    """`passerelles start-mission`: open a mission for an association and start its lifecycle run."""
    parser = argparse.ArgumentParser(prog="passerelles start-mission", description="Ouvre une mission et la suit.")
    parser.add_argument("--association", required=True, help="nom exact de l'association")
    parser.add_argument("--passerelle", required=True, help="e-mail ou numéro (C-12) de la Passerelle")
    parser.add_argument("--titre", required=True, help="intitulé de la mission")
    parser.add_argument("--demande", default="", help="la demande de l'association, dans ses mots")
    args = parser.parse_args(argv)
    from flows.request_mission import open_and_start
    from models.refusals import StepRefused

    try:
        result = open_and_start(args.association, args.passerelle, args.titre, args.demande)
    except StepRefused as exc:
        print(f"Refusé : {exc}", file=sys.stderr)
        return 1
    print(f"Mission {result['reference']} ouverte ; run {result['flow_run_id']}")
    print(f"Formulaire : {get_settings().public_base_url}/runs/flow-run/{result['flow_run_id']}")
    return 0


def apply(argv: list[str]) -> int:
    """`passerelles apply REF BENEVOLE`: record the application of a volunteer who answered by mail."""
    parser = argparse.ArgumentParser(
        prog="passerelles apply", description="Enregistre la candidature d'un bénévole (une seule par mission)."
    )
    parser.add_argument("reference", help="référence de la mission, par exemple STR-2026-014")
    parser.add_argument("benevole", help="e-mail ou numéro (V-0042) du bénévole")
    parser.add_argument("--message", default="", help="ce que le bénévole a écrit")
    parser.add_argument("--relais", default="", help="le bénévole relais par qui il a connu l'annonce (V-0012…)")
    args = parser.parse_args(argv)
    from models import Channel
    from models.db import unit_of_work
    from models.refusals import StepRefused
    from tasks.lookups import find_mission, find_volunteer
    from tasks.matching import rank_applicants
    from tasks.missions import record_application

    try:
        with unit_of_work() as session:
            mission = find_mission(session, args.reference)
            volunteer = find_volunteer(session, args.benevole)
            relay = find_volunteer(session, args.relais) if args.relais.strip() else None
            _, created = record_application(
                session, mission, volunteer, channel=Channel.EMAIL, message=args.message, relayed_by=relay
            )
            rank_applicants(session, mission)
            label, ref = volunteer.label, mission.reference
    except StepRefused as exc:
        print(f"Refusé : {exc}", file=sys.stderr)
        return 1
    if created:
        print(f"Candidature de {label} enregistrée pour {ref}.")
    else:
        print(f"{label} avait déjà candidaté à {ref} : rien de changé.")
    return 0


def import_volunteers_command(argv: list[str]) -> int:
    """`passerelles import-volunteers FICHIER.csv [--antenne CODE] [--encodage cp1252] [--rapport rejets.csv]
    [--essai]`: new volunteers added, known ones (by e-mail) updated; `--essai` shows the diff and writes nothing."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from models.db import unit_of_work
    from tasks.volunteer_csv import ImportRefused
    from tasks.volunteer_import import import_volunteers, write_rejects

    parser = argparse.ArgumentParser(
        prog="passerelles import-volunteers", description="Importe des bénévoles depuis un fichier CSV."
    )
    parser.add_argument("fichier", type=Path, help="fichier CSV (séparateur ; ou ,)")
    parser.add_argument("--antenne", help="code de l'antenne des lignes sans colonne antenne (ex. STR)")
    parser.add_argument("--encodage", default="utf-8", help="encodage du fichier (défaut utf-8 ; Excel : cp1252)")
    parser.add_argument("--rapport", type=Path, help="écrit les lignes rejetées, avec leur motif, dans ce CSV")
    parser.add_argument("--essai", action="store_true", help="montre ce que l'import ferait, sans rien écrire")
    args = parser.parse_args(argv)
    console = Console(soft_wrap=True)
    try:
        data = args.fichier.read_bytes()
    except OSError as exc:
        console.print(f"Impossible de lire « {args.fichier} » : {exc.strerror}.", style="red", markup=False)
        return 2
    try:
        with (
            unit_of_work() as session,
            Progress(
                TextColumn("Import des bénévoles"), BarColumn(), MofNCompleteColumn(), console=console, transient=True
            ) as bar,
        ):
            task = bar.add_task("import", total=None)
            report = import_volunteers(
                session,
                data,
                default_branch_code=args.antenne,
                encoding=args.encodage,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                dry_run=args.essai,
            )
    except ImportRefused as exc:
        console.print("Fichier refusé, rien n'a été importé.", style="red")
        console.print(str(exc), markup=False, highlight=False)
        return 2
    except SQLAlchemyError as exc:
        console.print("Erreur de la base de données, rien n'a été importé.", style="red")
        console.print(str(getattr(exc, "orig", None) or exc).splitlines()[0], markup=False, highlight=False)
        return 2
    if args.essai:
        console.print("Essai : rien n'a été écrit. Voici ce que l'import ferait.", style="bold")
    console.print(f"Lignes lues : {report.rows_read}")
    console.print(f"Nouveaux bénévoles : {report.imported}")
    console.print(f"Bénévoles modifiés : {len(report.changed)}")
    for changed in report.changed:
        fields = " ; ".join(f"{name} : {old} → {new}" for name, old, new in changed.fields)
        console.print(f"  ligne {changed.line} : {changed.label} — {fields}", highlight=False, markup=False)
    console.print(f"Bénévoles inchangés : {report.unchanged}")
    console.print(f"Lignes rejetées : {len(report.rejected)}")
    for row in report.rejected:
        console.print(f"  ligne {row.line} : {row.reason}", highlight=False, markup=False)
    if args.rapport:
        write_rejects(report, args.rapport)
        console.print(f"Lignes rejetées écrites dans {args.rapport} (colonne « motif »).")
    return 1 if report.rejected else 0
