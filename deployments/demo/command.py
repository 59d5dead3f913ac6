"""Entry points: `seed` for code and tests, `main` for `passerelles seed`, with its summary table."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from deployments.arguments import Parser
from deployments.demo.build import build_plan
from deployments.demo.plan import DEMO_TODAY
from deployments.demo.write import table_counts, write_plan
from models.reference_data import ensure_reference_data


def seed(session: Session, *, today: date | None = None) -> dict[str, int]:
    """Load the demo data set as of `today` (default DEMO_TODAY); a second run adds nothing. Returns rows per table.

    Flushes, does not commit: the caller owns the transaction.
    """
    ensure_reference_data(session)
    write_plan(session, build_plan(today or DEMO_TODAY))
    session.flush()
    return table_counts(session)


TABLE_LABELS = {
    "domain": "domaines de compétences",
    "competence": "compétences",
    "fee_bracket": "tranches du barème",
    "branch": "antennes",
    "coordinator": "Passerelles et équipes",
    "volunteer": "bénévoles",
    "volunteer_competence": "compétences des bénévoles",
    "association": "associations",
    "mission": "missions",
    "mission_competence": "compétences requises",
    "announcement": "annonces",
    "diffusion": "diffusions",
    "application": "candidatures",
    "roadmap": "feuilles de route",
    "roadmap_objective": "objectifs",
    "check_in": "points de suivi",
    "review": "bilans",
    "party_answer": "réponses des bénévoles et des associations",
    "signin_link": "liens de connexion de l'équipe",
    "member_session": "sessions de l'équipe",
    "access_log": "journal des accès",
    "erasure_record": "effacements (RGPD)",
    "audit_event": "journal des étapes",
    "priority_flag": "bénévoles prioritaires",
    "fee_record": "cotisations et participations",
    "outbox_mail": "courriels en attente",
    "consent_record": "consentements (historique)",
    "volunteer_event": "modifications des fiches bénévoles",
}


def summary(before: dict[str, int], after: dict[str, int]) -> str:
    """A French table: rows added and total per table."""
    width = max(map(len, TABLE_LABELS.values()))
    lines = [f"{'Table':<{width}}  {'Ajoutées':>9}  {'Total':>7}", "-" * (width + 20)]
    for name, total in after.items():
        label = TABLE_LABELS.get(name, name)
        lines.append(f"{label:<{width}}  {total - before.get(name, 0):>9}  {total:>7}")
    lines.append(f"{'Total':<{width}}  {sum(after.values()) - sum(before.values()):>9}  {sum(after.values()):>7}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """`passerelles seed`: migrate the database, then load the demo data set (idempotent)."""
    from models.db import resolve_url, unit_of_work, upgrade
    from models.settings import get_settings

    parser = Parser(prog="passerelles seed", description="Charge les données de démonstration.")
    parser.add_argument(
        "--date",
        type=date.fromisoformat,
        default=DEMO_TODAY,
        metavar="AAAA-MM-JJ",
        help=f"date de référence des données (défaut : {DEMO_TODAY.isoformat()})",
    )
    args = parser.parse_args(argv)
    upgrade()
    with unit_of_work() as session:
        before = table_counts(session)
        after = seed(session, today=args.date)
    url = make_url(resolve_url(get_settings().database_url)).render_as_string(hide_password=True)
    print(f"Données de démonstration au {args.date.strftime('%d/%m/%Y')} dans {url}\n")
    print(summary(before, after))
    if after == before:
        print("\nRien à ajouter : les données de démonstration étaient déjà là.")
    return 0
