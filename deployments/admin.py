"""Administrative sub-commands: schema upgrade, opening a mission, recording an application."""

from __future__ import annotations

import argparse
import sys

from models.db import upgrade
from models.settings import get_settings


def db_upgrade(argv: list[str]) -> int:
    """`passerelles db-upgrade`: migrate the configured database to the latest schema."""
    argparse.ArgumentParser(prog="passerelles db-upgrade", description="Met le schéma à jour.").parse_args(argv)
    upgrade()
    print(f"Base à jour : {get_settings().database_url}")
    return 0


def start_mission(argv: list[str]) -> int:
    """`passerelles start-mission`: open a mission for an association and start its lifecycle run."""
    parser = argparse.ArgumentParser(prog="passerelles start-mission", description="Ouvre une mission et la suit.")
    parser.add_argument("--association", required=True, help="nom exact de l'association")
    parser.add_argument("--passerelle", required=True, help="e-mail ou numéro (C-12) de la Passerelle")
    parser.add_argument("--titre", required=True, help="intitulé de la mission")
    parser.add_argument("--demande", default="", help="la demande de l'association, dans ses mots")
    args = parser.parse_args(argv)
    from tasks.lifecycle import open_and_start
    from tasks.missions import StepRefused

    try:
        result = open_and_start.fn(args.association, args.passerelle, args.titre, args.demande)
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
    args = parser.parse_args(argv)
    from models import Channel
    from models.db import unit_of_work
    from tasks.matching import rank_applicants
    from tasks.missions import StepRefused, find_mission, find_volunteer, record_application

    try:
        with unit_of_work() as session:
            mission = find_mission(session, args.reference)
            volunteer = find_volunteer(session, args.benevole)
            _, created = record_application(session, mission, volunteer, channel=Channel.EMAIL, message=args.message)
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
