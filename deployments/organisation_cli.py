"""`passerelles branch|team|association|reassign|fees|export`: the organisation's data without SQL.

Each action is one of `tasks/admin_actions.py`, run in one transaction: a refusal (French, on stderr, exit 1)
writes nothing. The Prefect UI's admin forms (`flows/admin.py`) are adapters over the same actions.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from deployments.arguments import Parser
from deployments.identity_cli import NotSignedIn, cli_actor
from models.refusals import ConfirmationNeeded, StepRefused
from tasks import admin_actions as actions
from tasks.admin_actions import Done, perform


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"date invalide « {value} » (AAAA-MM-JJ attendu)") from None


def _run(action: Callable[[Any], Done | str], args: argparse.Namespace) -> int:
    """Perform an action (or a listing: a plain string) and print what it did, or why it was refused."""
    if getattr(args, "par", None):
        print("--par est ignoré : la commande agit sous le nom de « passerelles login », sinon comme le système.",
              file=sys.stderr)  # fmt: skip
    try:
        done = perform(lambda session: _done(action(session)))
    except ConfirmationNeeded as exc:
        print(f"À confirmer : {exc}\nSi c'est voulu, relancez la commande avec --confirmer.", file=sys.stderr)
        return 1
    except (StepRefused, NotSignedIn) as exc:
        print(f"Refusé : {exc}", file=sys.stderr)
        return 1
    print(done.message)
    return 0


def _done(result: Done | str) -> Done:
    return result if isinstance(result, Done) else Done(result)


CONFIRM_HELP = "confirme malgré l'avertissement (adresse déjà utilisée, second responsable d'antenne)"
REASON_HELP = "pourquoi vous faites cette modification (obligatoire : gardé avec elle, avec votre nom)"


def _sub(prog: str, description: str) -> tuple[Parser, Any]:
    parser = Parser(prog=f"passerelles {prog}", description=description)
    return parser, parser.add_subparsers(dest="action", required=True, metavar="ACTION")


def branch(argv: list[str]) -> int:
    """`passerelles branch create|update|list`."""

    parser, sub = _sub("branch", "Les antennes régionales.")
    create = sub.add_parser("create", help="crée une antenne")
    create.add_argument("--code", required=True, help="2 à 5 lettres, préfixe des références (ex. STR)")
    create.add_argument("--nom", required=True, help="ex. Strasbourg")
    create.add_argument("--region", required=True, help="ex. Grand Est")
    create.add_argument("--fondee-le", type=_date, help="date de création (AAAA-MM-JJ)")
    update = sub.add_parser("update", help="renomme une antenne, change sa région ou corrige sa date de création")
    update.add_argument("antenne", help="code ou nom")
    update.add_argument("--nom", default="")
    update.add_argument("--region", default="")
    update.add_argument("--fondee-le", type=_date, help="date de création (AAAA-MM-JJ)")
    update.add_argument("--motif", default="", help=REASON_HELP)
    sub.add_parser("list", help="liste les antennes")
    args = parser.parse_args(argv)

    def act(session: Any) -> Done | str:
        if args.action == "create":
            return actions.create_branch(
                session, code=args.code, name=args.nom, region=args.region, founded_on=args.fondee_le
            )
        if args.action == "update":
            return actions.update_branch(
                session,
                args.antenne,
                name=args.nom,
                region=args.region,
                founded_on=args.fondee_le,
                reason=args.motif,
                actor=cli_actor(),
            )
        from sqlalchemy import select

        from models import Branch

        rows = [f"{b.code:<5} {b.name} ({b.region})" for b in session.scalars(select(Branch).order_by(Branch.code))]
        return "\n".join(rows) or "Aucune antenne : passerelles branch create --code … --nom … --region …"

    return _run(act, args)


def team(argv: list[str]) -> int:
    """`passerelles team add|update|deactivate|reactivate|digest|list`."""
    from models.org import ROLE_LABELS
    from tasks import organisation as org

    roles = " ; ".join(f"{r.value} ({label})" for r, label in ROLE_LABELS.items())
    parser, sub = _sub("team", "L'équipe : Passerelles, responsables d'antenne, équipe support, admins.")
    add = sub.add_parser("add", help="ajoute un membre de l'équipe")
    add.add_argument("--prenom", required=True)
    add.add_argument("--nom", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--role", required=True, help=roles)
    add.add_argument("--antenne", default="", help="code ou nom (obligatoire pour une Passerelle ou un responsable)")
    add.add_argument("--confirmer", action="store_true", help=CONFIRM_HELP)
    change = sub.add_parser("update", help="change le rôle ou l'antenne d'un membre, corrige son nom ou son e-mail")
    change.add_argument("membre", help="e-mail ou numéro (C-12)")
    change.add_argument("--role", default="", help=roles)
    change.add_argument("--antenne", default="")
    change.add_argument("--prenom", default="")
    change.add_argument("--nom", default="")
    change.add_argument("--email", default="", help="nouvelle adresse (il/elle se reconnecte avec elle)")
    change.add_argument("--motif", default="", help=REASON_HELP)
    change.add_argument("--confirmer", action="store_true", help=CONFIRM_HELP)
    off = sub.add_parser("deactivate", help="désactive un membre qui part (ses missions ouvertes sont confiées)")
    off.add_argument("membre", help="e-mail ou numéro (C-12)")
    off.add_argument("--confier-a", default="", help="Passerelle qui reprend ses missions ouvertes")
    on = sub.add_parser("reactivate", help="réactive un membre")
    on.add_argument("membre")
    digest = sub.add_parser("digest", help="active ou coupe le récapitulatif quotidien d'un membre (mail du matin)")
    digest.add_argument("membre", help="e-mail ou numéro (C-12)")
    choice = digest.add_mutually_exclusive_group(required=True)
    choice.add_argument("--oui", dest="digest", action="store_true", help="le recevoir")
    choice.add_argument("--non", dest="digest", action="store_false", help="ne plus le recevoir")
    ls = sub.add_parser("list", help="liste l'équipe")
    ls.add_argument("--antenne", default="")
    args = parser.parse_args(argv)

    def act(session: Any) -> Done | str:
        if args.action == "add":
            return actions.add_member(
                session,
                first_name=args.prenom,
                last_name=args.nom,
                email=args.email,
                role=org.parse_role(args.role),
                branch=args.antenne,
                confirmed=args.confirmer,
            )
        if args.action == "update":
            role = org.parse_role(args.role) if args.role else None
            return actions.update_member(
                session,
                args.membre,
                role=role,
                branch=args.antenne,
                first_name=args.prenom,
                last_name=args.nom,
                email=args.email,
                confirmed=args.confirmer,
                reason=args.motif,
                actor=cli_actor(),
            )
        if args.action == "digest":
            return actions.set_member_digest(session, args.membre, on=args.digest, actor=cli_actor())
        if args.action in ("deactivate", "reactivate"):
            return actions.set_member_active(
                session,
                args.membre,
                active=args.action == "reactivate",
                reassign_to=getattr(args, "confier_a", ""),
                actor=cli_actor(),
            )
        return _team_table(session, args.antenne)

    return _run(act, args)


def _team_table(session: Any, branch: str) -> str:
    from sqlalchemy import select

    from models import Coordinator
    from models.org import ROLE_LABELS
    from tasks import organisation as org

    query = select(Coordinator).order_by(Coordinator.branch_id, Coordinator.last_name)
    if branch:
        query = query.where(Coordinator.branch_id == org.find_branch(session, branch).id)
    rows = []
    for c in session.scalars(query):
        state = ("" if c.active else " (désactivé(e))") + (" · récapitulatif quotidien" if c.daily_digest else "")
        home = c.branch.code if c.branch else "national"
        rows.append(f"C-{c.id:<4} {home:<8} {ROLE_LABELS[c.role]:<32} {c.full_name} <{c.email}>{state}")
    return "\n".join(rows) or "Personne dans l'équipe : passerelles team add …"


def reassign(argv: list[str]) -> int:
    """`passerelles reassign (--mission REF | --de MEMBRE) --a MEMBRE`."""

    parser = Parser(
        prog="passerelles reassign",
        description="Confie une mission, ou toutes les missions ouvertes d'une "
        "Passerelle, à une autre Passerelle de l'antenne.",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--mission", help="référence, ex. STR-2026-014")
    which.add_argument("--de", help="la Passerelle qui laisse toutes ses missions ouvertes (e-mail ou C-12)")
    parser.add_argument("--a", required=True, help="la Passerelle qui les reprend (e-mail ou C-12)")
    args = parser.parse_args(argv)
    return _run(
        lambda s: actions.reassign(s, to=args.a, mission=args.mission or "", of=args.de or "", actor=cli_actor()), args
    )


def move_mission(argv: list[str]) -> int:
    """`passerelles move-mission REF --antenne CODE [--a MEMBRE] --motif "…"`."""

    parser = Parser(
        prog="passerelles move-mission",
        description="Confie une mission ouverte à une autre antenne (son run y est rattaché, la Passerelle qui la "
        "reprend est prévenue par mail). Réservé aux administrateurs.",
    )
    parser.add_argument("mission", help="référence, ex. STR-2026-014 (elle ne change pas)")
    parser.add_argument("--antenne", required=True, help="code ou nom de l'antenne qui la reprend")
    parser.add_argument("--a", default="", help="la Passerelle de cette antenne qui la suit (défaut : sa responsable)")
    parser.add_argument("--motif", required=True, help="pourquoi elle change d'antenne")
    args = parser.parse_args(argv)
    return _run(
        lambda s: actions.move_mission(
            s, args.mission, branch=args.antenne, to=args.a, reason=args.motif, actor=cli_actor()
        ),
        args,
    )


def association(argv: list[str]) -> int:
    """`passerelles association register|update|archive|reactivate|list`."""
    from tasks import organisation as org

    parser, sub = _sub("association", "Les associations accompagnées.")
    reg = sub.add_parser("register", help="enregistre une association")
    reg.add_argument("--nom", required=True)
    reg.add_argument("--antenne", required=True, help="code ou nom de l'antenne")
    reg.add_argument("--contact", required=True, help="nom de la personne contact")
    reg.add_argument("--email", required=True, help="e-mail du contact")
    reg.add_argument("--budget", required=True, help="budget annuel de fonctionnement, en euros (ex. « 24 000 € »)")
    reg.add_argument("--ville", default="")
    reg.add_argument("--objet", default="", help="objet de l'association")
    reg.add_argument("--telephone", default="")
    reg.add_argument("--confirmer", action="store_true", help=CONFIRM_HELP)
    upd = sub.add_parser("update", help="corrige le contact, le budget ou la ville d'une association")
    upd.add_argument("association", help="nom de l'association")
    upd.add_argument("--contact", default="", help="nom de la personne contact")
    upd.add_argument("--email", default="", help="e-mail du contact")
    upd.add_argument("--budget", default="", help="budget annuel de fonctionnement, en euros (ex. « 24 000 € »)")
    upd.add_argument("--ville", default="")
    upd.add_argument("--motif", default="", help=REASON_HELP)
    upd.add_argument("--confirmer", action="store_true", help=CONFIRM_HELP)
    for name, text in (
        ("archive", "archive une association (plus de nouvelle mission ; son historique reste)"),
        ("reactivate", "réactive une association archivée"),
    ):
        one = sub.add_parser(name, help=text)
        one.add_argument("association", help="nom de l'association")
        one.add_argument("--motif", default="", help=REASON_HELP)
    ls = sub.add_parser("list", help="liste les associations")
    ls.add_argument("--antenne", default="")
    args = parser.parse_args(argv)

    def act(session: Any) -> Done | str:
        if args.action == "register":
            return actions.register_association(
                session,
                name=args.nom,
                branch=args.antenne,
                contact_name=args.contact,
                contact_email=args.email,
                annual_budget=args.budget,
                city=args.ville,
                purpose=args.objet,
                contact_phone=args.telephone,
                confirmed=args.confirmer,
            )
        if args.action == "update":
            return actions.update_association(
                session,
                args.association,
                contact_name=args.contact,
                contact_email=args.email,
                annual_budget=args.budget,
                city=args.ville,
                confirmed=args.confirmer,
                reason=args.motif,
                actor=cli_actor(),
            )
        if args.action in ("archive", "reactivate"):
            return actions.archive_association(
                session, args.association, archived=args.action == "archive", reason=args.motif, actor=cli_actor()
            )
        from sqlalchemy import select

        from models import Association

        query = select(Association).order_by(Association.name)
        if args.antenne:
            query = query.where(Association.branch_id == org.find_branch(session, args.antenne).id)
        rows = [
            f"{a.name} — {a.city or '?'} — {a.contact_name} <{a.contact_email}>{' (archivée)' if a.archived_at else ''}"
            for a in session.scalars(query)
        ]
        return "\n".join(rows) or "Aucune association."

    return _run(act, args)


def fees(argv: list[str]) -> int:
    """`passerelles fees list|pay|waive|correct|cancel|remind|schedule|remove-schedule`."""
    from models import FeeStatus
    from tasks import fees as f

    parser, sub = _sub("fees", "Cotisations et participations aux frais de recherche.")
    ls = sub.add_parser("list", help="liste les cotisations : dues, facturées (par défaut), payées, exonérées")
    ls.add_argument("--toutes", action="store_true", help="aussi les payées et exonérées")
    pay = sub.add_parser("pay", help="note une cotisation payée")
    pay.add_argument("cotisation", help="numéro (F-12) ou référence de mission (sa participation)")
    pay.add_argument("--par", help=argparse.SUPPRESS)
    pay.add_argument("--le", type=_date, help="date du paiement (défaut : aujourd'hui)")
    pay.add_argument("--note", default="")
    waive = sub.add_parser("waive", help="exonère une cotisation, avec un motif")
    waive.add_argument("cotisation")
    waive.add_argument("--par", help=argparse.SUPPRESS)
    waive.add_argument("--motif", required=True)
    fix = sub.add_parser(
        "correct", help="corrige un paiement noté (date, montant, moyen) ou le motif d'une exonération"
    )
    fix.add_argument("cotisation", help="numéro (F-12) ou référence de mission (sa participation)")
    fix.add_argument("--le", type=_date, help="date du paiement (AAAA-MM-JJ)")
    fix.add_argument("--montant", default="", help="montant en euros (ex. « 120 € »)")
    fix.add_argument("--note", default="", help="moyen de paiement (virement n°…, chèque…) ou motif de l'exonération")
    fix.add_argument("--motif", required=True, help="pourquoi cette correction")
    undo = sub.add_parser("cancel", help="annule un paiement ou une exonération notés par erreur")
    undo.add_argument("cotisation", help="numéro (F-12) ou référence de mission (sa participation)")
    undo.add_argument("--motif", required=True, help="pourquoi l'annuler")
    sub.add_parser("remind", help="relance maintenant les cotisations impayées")
    sched = sub.add_parser("schedule", help="affiche l'historique du barème, ou en fixe un nouveau (admin)")
    sched.add_argument("--a-partir-de", type=int, help="année d'entrée en vigueur")
    sched.add_argument(
        "--tranches",
        help="« 0-10000:50:100, 10000-50000:120:250, 50000-:250:500 » "
        "(budget min-max : cotisation : participation, en euros)",
    )
    sched.add_argument("--par", help=argparse.SUPPRESS)
    drop = sub.add_parser("remove-schedule", help="retire un barème pas encore en vigueur, saisi par erreur (admin)")
    drop.add_argument("annee", type=int, metavar="ANNÉE", help="son année d'entrée en vigueur")
    drop.add_argument("--motif", required=True, help="pourquoi le retirer")
    args = parser.parse_args(argv)

    def act(session: Any) -> Done | str:
        if args.action == "pay":
            return actions.settle_fee(
                session, args.cotisation, status=FeeStatus.PAID, actor=cli_actor(), on=args.le, note=args.note
            )
        if args.action == "waive":
            return actions.settle_fee(
                session, args.cotisation, status=FeeStatus.WAIVED, actor=cli_actor(), note=args.motif
            )
        if args.action == "correct":
            return actions.correct_payment(
                session,
                args.cotisation,
                actor=cli_actor(),
                reason=args.motif,
                on=args.le,
                amount=args.montant,
                how=args.note,
            )
        if args.action == "cancel":
            return actions.cancel_settlement(session, args.cotisation, actor=cli_actor(), reason=args.motif)
        if args.action == "remove-schedule":
            return actions.remove_fee_schedule(session, from_year=args.annee, actor=cli_actor(), reason=args.motif)
        if args.action == "remind":
            return actions.remind_fees(session)
        if args.action == "schedule":
            if args.a_partir_de or args.tranches:
                if not (args.a_partir_de and args.tranches):
                    raise StepRefused("Pour un nouveau barème : --a-partir-de et --tranches, ensemble.")
                return actions.set_fee_schedule(
                    session, from_year=args.a_partir_de, brackets=args.tranches, actor=cli_actor()
                )
            return f.schedule_table(session)
        return f.fees_table(session, include_settled=args.toutes)

    return _run(act, args)


def volunteer(argv: list[str]) -> int:
    """`passerelles volunteer update|archive|reactivate|revoke-links REF`."""
    from models.volunteer import AVAILABILITY_LABELS
    from tasks.volunteer_csv import AVAILABILITY

    def yes_no(value: str) -> bool:
        if value.lower() in ("oui", "o", "1"):
            return True
        if value.lower() in ("non", "n", "0"):
            return False
        raise argparse.ArgumentTypeError(f"« {value} » : oui ou non attendu")

    parser, sub = _sub("volunteer", "Un bénévole : disponibilité, consentements, archivage.")
    upd = sub.add_parser("update", help="change la disponibilité ou les consentements")
    upd.add_argument("benevole", help="numéro (V-0042), e-mail ou nom")
    upd.add_argument("--disponibilite", choices=[label.lower() for label in AVAILABILITY_LABELS.values()])
    upd.add_argument("--annonces", type=yes_no, help="accepte les annonces de son antenne (oui/non)")
    upd.add_argument("--national", type=yes_no, help="accepte les annonces nationales (oui/non)")
    for name, text in (
        ("archive", "archive un bénévole (il ne reçoit plus rien)"),
        ("reactivate", "le réactive"),
        ("revoke-links", "les liens déjà envoyés ne fonctionnent plus (mail transféré, téléphone perdu)"),
    ):
        sub.add_parser(name, help=text).add_argument("benevole", help="numéro (V-0042), e-mail ou nom")
    args = parser.parse_args(argv)

    def act(session: Any) -> Done:
        if args.action == "update":
            availability = AVAILABILITY[args.disponibilite] if args.disponibilite else None
            return actions.update_volunteer(
                session,
                args.benevole,
                availability=availability,
                consent_announcements=args.annonces,
                consent_national=args.national,
                actor=cli_actor(),
            )
        if args.action == "revoke-links":
            return actions.revoke_volunteer_links(session, args.benevole, actor=cli_actor())
        return actions.update_volunteer(session, args.benevole, archive=args.action == "archive", actor=cli_actor())

    return _run(act, args)


def social_posted(argv: list[str]) -> int:
    """`passerelles social-posted REF [--portee N]`: the mission's post is on the social networks."""

    parser = Parser(
        prog="passerelles social-posted", description="Confirme la publication d'une annonce sur les réseaux sociaux."
    )
    parser.add_argument("mission", help="référence, ex. STR-2026-014")
    parser.add_argument("--par", help=argparse.SUPPRESS)
    parser.add_argument("--portee", type=int, help="nombre de personnes atteintes, si connu")
    args = parser.parse_args(argv)

    return _run(lambda s: actions.confirm_social_post(s, args.mission, actor=cli_actor(), reach=args.portee), args)


def erase_volunteer(argv: list[str]) -> int:
    """`passerelles erase-volunteer BENEVOLE --motif "…"`: RGPD erasure (database and Prefect)."""
    from flows.privacy import erase

    parser = Parser(
        prog="passerelles erase-volunteer", description="Efface un bénévole (RGPD) ; les statistiques restent."
    )
    parser.add_argument("benevole", help="numéro (V-0042), e-mail ou nom")
    parser.add_argument("--motif", required=True, help="demande de la personne (date), durée de conservation…")
    args = parser.parse_args(argv)
    try:
        print(erase(args.benevole, args.motif, actor=cli_actor()))
    except (StepRefused, NotSignedIn) as exc:
        print(f"Refusé : {exc}", file=sys.stderr)
        return 1
    return 0


def export(argv: list[str]) -> int:
    """`passerelles export missions|candidatures|cotisations --du AAAA-MM-JJ --au AAAA-MM-JJ [--antenne STR …]
    [--sortie FICHIER]`: a CSV file for a French spreadsheet (admins)."""
    from models.exports import EXPORT_LABELS

    parser = Parser(
        prog="passerelles export",
        description="Exporte les missions, les candidatures ou les cotisations d'une période en CSV pour un tableur "
        "(UTF-8 avec BOM, séparateur « ; », dates JJ/MM/AAAA, virgule décimale). Réservé aux administrateurs.",
    )
    parser.add_argument(
        "donnees",
        metavar="DONNÉES",
        help=" ; ".join(f"{k.value} : {label}" for k, label in EXPORT_LABELS.items()),
    )
    parser.add_argument("--du", type=_date, required=True, help="premier jour de la période (AAAA-MM-JJ), inclus")
    parser.add_argument("--au", type=_date, required=True, help="dernier jour de la période (AAAA-MM-JJ), inclus")
    parser.add_argument(
        "--antenne",
        action="append",
        default=[],
        help="code d'une antenne (ex. STR) ; répétez-la ou séparez par des virgules ; sans elle : toutes",
    )
    parser.add_argument(
        "--sortie",
        type=Path,
        help="fichier (ou dossier) où écrire aussi une copie du CSV ; sans elle : gardé dans la base, le lien affiché",
    )
    args = parser.parse_args(argv)
    codes = [c for value in args.antenne for c in value.split(",")]
    return _run(
        lambda s: actions.export_data(
            s, args.donnees, branches=codes, start=args.du, end=args.au, actor=cli_actor(), target=args.sortie
        ),
        args,
    )
