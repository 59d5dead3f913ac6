"""Reference data every installation needs: the competence taxonomy and the fee schedule."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.association import FeeBracket
from models.rules import Bracket, check_brackets
from models.taxonomy import Competence, Domain

# (domain code, domain name, [(competence code, competence name), ...])
TAXONOMY: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "communication",
        "Communication",
        [
            ("plan-communication", "Plan de communication"),
            ("relations-presse", "Relations presse"),
            ("reseaux-sociaux", "Animation des réseaux sociaux"),
            ("charte-graphique", "Charte graphique et identité visuelle"),
            ("redaction", "Rédaction et supports de communication"),
        ],
    ),
    (
        "web-numerique",
        "Web et numérique",
        [
            ("site-web", "Conception de site internet"),
            ("wordpress", "Site WordPress"),
            ("referencement", "Référencement (SEO)"),
            ("ux-design", "Ergonomie et design d'interface"),
            ("outils-collaboratifs", "Outils collaboratifs en ligne"),
        ],
    ),
    (
        "rh-recrutement",
        "RH et recrutement",
        [
            ("recrutement", "Recrutement"),
            ("fiches-de-poste", "Fiches de poste et entretiens annuels"),
            ("gestion-benevoles", "Gestion et fidélisation des bénévoles"),
            ("droit-social", "Droit social et paie"),
            ("gpec", "Gestion des compétences (GPEC)"),
        ],
    ),
    (
        "finance-gestion",
        "Finance et gestion",
        [
            ("comptabilite", "Comptabilité associative"),
            ("rapport-financier", "Rapport financier"),
            ("budget-previsionnel", "Budget prévisionnel et trésorerie"),
            ("controle-gestion", "Contrôle de gestion et tableaux de bord"),
            ("analyse-couts", "Analyse des coûts"),
        ],
    ),
    (
        "juridique",
        "Juridique",
        [
            ("statuts", "Statuts et gouvernance associative"),
            ("contrats", "Contrats et conventions"),
            ("rgpd", "Protection des données (RGPD)"),
            ("fiscalite-associative", "Fiscalité associative et mécénat"),
        ],
    ),
    (
        "strategie-gouvernance",
        "Stratégie et gouvernance",
        [
            ("projet-associatif", "Projet associatif et plan stratégique"),
            ("conduite-changement", "Conduite du changement"),
            ("animation-ca", "Animation du conseil d'administration"),
            ("evaluation-impact", "Évaluation d'impact social"),
        ],
    ),
    (
        "marketing-commercial",
        "Marketing et commercial",
        [
            ("etude-marche", "Étude de marché"),
            ("strategie-commerciale", "Stratégie commerciale"),
            ("responsable-commercial", "Recrutement d'un responsable commercial"),
            ("partenariats-entreprises", "Partenariats et mécénat d'entreprise"),
        ],
    ),
    (
        "informatique",
        "Informatique",
        [
            ("base-de-donnees", "Base de données et CRM"),
            ("reseau-materiel", "Réseau, matériel et sécurité"),
            ("tableur-avance", "Tableur avancé et automatisation"),
            ("logiciel-metier", "Choix et déploiement de logiciel"),
        ],
    ),
    (
        "formation",
        "Formation",
        [
            ("ingenierie-formation", "Ingénierie de formation"),
            ("formation-bureautique", "Formation bureautique"),
            ("prise-parole", "Prise de parole en public"),
            ("animation-atelier", "Animation d'ateliers"),
        ],
    ),
    (
        "recherche-fonds",
        "Recherche de financements",
        [
            ("dossier-subvention", "Dossiers de subvention"),
            ("collecte-dons", "Collecte de dons et campagnes"),
            ("appels-projets", "Réponse aux appels à projets"),
        ],
    ),
]

# Annual operating budget (euros) → yearly membership and flat search fee (euros).
FEE_SCHEDULE: list[Bracket] = [
    Bracket(0, 20_000, 30, 50),
    Bracket(20_000, 100_000, 60, 150),
    Bracket(100_000, 500_000, 120, 300),
    Bracket(500_000, 2_000_000, 250, 600),
    Bracket(2_000_000, None, 400, 900),
]
FEE_SCHEDULE_SINCE = 2008


def ensure_reference_data(session: Session) -> dict[str, int]:
    """Insert the missing domains, competences and fee brackets; return how many of each were added."""
    added = {"domains": 0, "competences": 0, "fee_brackets": 0}
    domains = {d.code: d for d in session.scalars(select(Domain))}
    competences = set(session.scalars(select(Competence.code)))
    for code, name, items in TAXONOMY:
        domain = domains.get(code)
        if domain is None:
            domain = Domain(code=code, name=name)
            session.add(domain)
            session.flush()
            added["domains"] += 1
        for c_code, c_name in items:
            if c_code not in competences:
                session.add(Competence(domain_id=domain.id, code=c_code, name=c_name))
                added["competences"] += 1
    check_brackets(FEE_SCHEDULE)
    existing = set(session.scalars(select(FeeBracket.min_budget).where(FeeBracket.valid_from == FEE_SCHEDULE_SINCE)))
    for b in FEE_SCHEDULE:
        if b.min_budget not in existing:
            session.add(
                FeeBracket(
                    valid_from=FEE_SCHEDULE_SINCE,
                    min_budget=b.min_budget,
                    max_budget=b.max_budget,
                    membership_fee=b.membership_fee,
                    search_fee=b.search_fee,
                )
            )
            added["fee_brackets"] += 1
    session.flush()
    return added
