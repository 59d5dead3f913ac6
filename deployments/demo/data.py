"""The French raw material of the demo data set: branches, names, places, professions, associations, missions.

Every person, association and e-mail here is fictional. Personal e-mails use reserved example domains
(RFC 2606) and phone numbers the ranges ARCEP keeps for fiction, so nothing can reach a real person.
`deployments/demo/` draws from these tables with a seeded random generator.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

STAFF_DOMAIN = "passerelles-competences.org"
PERSONAL_DOMAINS = ["mail.example", "courriel.example", "example.org", "example.com", "example.net"]


class BranchSpec(NamedTuple):
    """A branch, its team and how many missions it handles a year."""

    code: str
    name: str
    region: str
    founded_on: date
    passerelles: int
    support: int
    volunteers: int
    missions_per_year: int  # steady volume once the branch is established
    cities: list[str]


BRANCHES = [
    BranchSpec(
        "STR",
        "Strasbourg",
        "Grand Est",
        date(2008, 3, 12),
        10,
        4,
        110,
        36,
        [
            "Strasbourg",
            "Schiltigheim",
            "Illkirch-Graffenstaden",
            "Haguenau",
            "Sélestat",
            "Obernai",
            "Molsheim",
            "Bischheim",
            "Lingolsheim",
            "Saverne",
        ],
    ),
    BranchSpec(
        "MUL",
        "Mulhouse",
        "Grand Est",
        date(2013, 5, 23),
        3,
        0,
        30,
        8,
        ["Mulhouse", "Colmar", "Saint-Louis", "Illzach", "Wittenheim", "Rixheim", "Guebwiller"],
    ),
    BranchSpec(
        "MTZ",
        "Metz",
        "Grand Est",
        date(2014, 2, 6),
        3,
        0,
        28,
        7,
        ["Metz", "Thionville", "Montigny-lès-Metz", "Woippy", "Yutz", "Forbach", "Sarreguemines"],
    ),
    BranchSpec(
        "PAR",
        "Paris",
        "Île-de-France",
        date(2002, 10, 1),
        4,
        0,
        40,
        5,
        ["Paris", "Montreuil", "Boulogne-Billancourt", "Saint-Denis", "Vincennes", "Nanterre"],
    ),
    BranchSpec(
        "LYO",
        "Lyon",
        "Auvergne-Rhône-Alpes",
        date(2006, 9, 18),
        3,
        0,
        28,
        4,
        ["Lyon", "Villeurbanne", "Vénissieux", "Caluire-et-Cuire", "Bron", "Écully"],
    ),
    BranchSpec(
        "LIL",
        "Lille",
        "Hauts-de-France",
        date(2009, 1, 27),
        3,
        0,
        22,
        4,
        ["Lille", "Roubaix", "Tourcoing", "Villeneuve-d'Ascq", "Marcq-en-Barœul"],
    ),
    BranchSpec(
        "NAN",
        "Nantes",
        "Pays de la Loire",
        date(2010, 4, 8),
        2,
        0,
        22,
        3,
        ["Nantes", "Saint-Herblain", "Rezé", "Orvault", "Saint-Nazaire"],
    ),
    BranchSpec(
        "BDX",
        "Bordeaux",
        "Nouvelle-Aquitaine",
        date(2011, 11, 15),
        2,
        0,
        20,
        3,
        ["Bordeaux", "Mérignac", "Pessac", "Talence", "Bègles"],
    ),
]

# Strasbourg's requests per year: its ramp-up to the 114 missions réalisées (completed) in 2014 that the
# association reports (about three requests in four end in a bilan here), then its steady pace.
STRASBOURG_VOLUMES = {2008: 7, 2009: 14, 2010: 24, 2011: 38, 2012: 60, 2013: 112, 2014: 148, 2015: 90}

# The national administrator (no branch).
ADMIN = ("Hélène", "Garnier")

FEMALE_FIRST_NAMES = [
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Sarah",
    "Julie",
    "Emma",
    "Inès",
    "Claire",
    "Anne",
    "Sophie",
    "Marie",
    "Nathalie",
    "Isabelle",
    "Sandrine",
    "Céline",
    "Aurélie",
    "Élodie",
    "Laure",
    "Pauline",
    "Mathilde",
    "Juliette",
    "Margaux",
    "Charlotte",
    "Lucie",
    "Alice",
    "Agnès",
    "Christine",
    "Valérie",
    "Hélène",
    "Odile",
    "Béatrice",
    "Yasmina",
    "Fatima",
    "Amina",
    "Leïla",
    "Mélanie",
    "Audrey",
    "Estelle",
    "Solène",
    "Gaëlle",
    "Maëlle",
]

MALE_FIRST_NAMES = [
    "Thomas",
    "Nicolas",
    "Julien",
    "Antoine",
    "Maxime",
    "Alexandre",
    "Pierre",
    "Guillaume",
    "François",
    "Jérôme",
    "Sébastien",
    "Olivier",
    "Laurent",
    "Philippe",
    "Christophe",
    "Éric",
    "Frédéric",
    "Benoît",
    "Mathieu",
    "Hugo",
    "Louis",
    "Lucas",
    "Arthur",
    "Paul",
    "Vincent",
    "Bertrand",
    "Didier",
    "Patrice",
    "Bruno",
    "Michel",
    "Jean",
    "Karim",
    "Mehdi",
    "Yann",
    "Loïc",
    "Gaël",
    "Cédric",
    "Damien",
    "Grégoire",
    "Rémi",
    "Théo",
    "Joël",
]

LAST_NAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertin",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Lefèvre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Mathieu",
    "Clément",
    "Gauthier",
    "Dumont",
    "Lopez",
    "Fontaine",
    "Chevalier",
    "Robin",
    "Masson",
    "Sanchez",
    "Boyer",
    "Denis",
    "Lemaire",
    "Duval",
    "Joly",
    "Gautier",
    "Roger",
    "Roche",
    "Benali",
    "Haddad",
    "Nguyen",
    "Le Gall",
    "Le Goff",
    "Kerouac'h",
    "Da Silva",
    "Pereira",
    "Rossi",
    "Diallo",
    "Traoré",
    "Cohen",
    "Lévy",
    "N'Diaye",
]

# Family names common in Alsace and Lorraine, mixed in for the eastern branches.
EASTERN_LAST_NAMES = [
    "Schmitt",
    "Meyer",
    "Weber",
    "Klein",
    "Wagner",
    "Hoffmann",
    "Fischer",
    "Schneider",
    "Keller",
    "Roth",
    "Koenig",
    "Jung",
    "Schaeffer",
    "Zimmermann",
    "Becker",
    "Wolff",
    "Kieffer",
    "Walter",
    "Fritsch",
    "Heitz",
    "Burger",
    "Ott",
    "Stoll",
    "Gross",
    "Haas",
    "Ehrhart",
    "Bauer",
    "Lang",
    "Huber",
    "Weiss",
    "Schwartz",
    "Kuntz",
]

EASTERN_BRANCHES = {"STR", "MUL", "MTZ"}


class Profession(NamedTuple):
    """A job title (masculine, feminine) and the competences (taxonomy codes) that usually go with it."""

    masculine: str
    feminine: str
    competences: list[str]


PROFESSIONS = [
    Profession(
        "Chargé de communication",
        "Chargée de communication",
        ["plan-communication", "redaction", "reseaux-sociaux", "relations-presse"],
    ),
    Profession("Directeur artistique", "Directrice artistique", ["charte-graphique", "ux-design", "redaction"]),
    Profession("Développeur web", "Développeuse web", ["site-web", "wordpress", "referencement", "base-de-donnees"]),
    Profession(
        "Chef de projet digital",
        "Cheffe de projet digital",
        ["site-web", "ux-design", "referencement", "outils-collaboratifs"],
    ),
    Profession("Community manager", "Community manager", ["reseaux-sociaux", "redaction", "charte-graphique"]),
    Profession("Journaliste", "Journaliste", ["relations-presse", "redaction", "prise-parole"]),
    Profession(
        "Responsable des ressources humaines",
        "Responsable des ressources humaines",
        ["recrutement", "fiches-de-poste", "gpec", "droit-social"],
    ),
    Profession(
        "Chargé de recrutement", "Chargée de recrutement", ["recrutement", "fiches-de-poste", "gestion-benevoles"]
    ),
    Profession("Juriste en droit social", "Juriste en droit social", ["droit-social", "contrats", "statuts"]),
    Profession("Avocat d'affaires", "Avocate d'affaires", ["contrats", "statuts", "rgpd", "fiscalite-associative"]),
    Profession(
        "Délégué à la protection des données",
        "Déléguée à la protection des données",
        ["rgpd", "base-de-donnees", "contrats"],
    ),
    Profession(
        "Expert-comptable",
        "Experte-comptable",
        ["comptabilite", "rapport-financier", "fiscalite-associative", "budget-previsionnel"],
    ),
    Profession(
        "Contrôleur de gestion",
        "Contrôleuse de gestion",
        ["controle-gestion", "analyse-couts", "tableur-avance", "budget-previsionnel"],
    ),
    Profession(
        "Directeur administratif et financier",
        "Directrice administrative et financière",
        ["budget-previsionnel", "rapport-financier", "controle-gestion", "animation-ca"],
    ),
    Profession(
        "Consultant en stratégie",
        "Consultante en stratégie",
        ["projet-associatif", "conduite-changement", "evaluation-impact", "etude-marche"],
    ),
    Profession(
        "Consultant en organisation",
        "Consultante en organisation",
        ["conduite-changement", "outils-collaboratifs", "gestion-benevoles", "gpec"],
    ),
    Profession(
        "Directeur commercial",
        "Directrice commerciale",
        ["strategie-commerciale", "responsable-commercial", "partenariats-entreprises"],
    ),
    Profession(
        "Responsable marketing",
        "Responsable marketing",
        ["etude-marche", "strategie-commerciale", "plan-communication"],
    ),
    Profession(
        "Administrateur systèmes et réseaux",
        "Administratrice systèmes et réseaux",
        ["reseau-materiel", "logiciel-metier", "outils-collaboratifs"],
    ),
    Profession(
        "Chef de projet informatique",
        "Cheffe de projet informatique",
        ["logiciel-metier", "base-de-donnees", "tableur-avance", "conduite-changement"],
    ),
    Profession(
        "Formateur en entreprise",
        "Formatrice en entreprise",
        ["ingenierie-formation", "animation-atelier", "prise-parole", "formation-bureautique"],
    ),
    Profession(
        "Responsable mécénat",
        "Responsable mécénat",
        ["partenariats-entreprises", "collecte-dons", "dossier-subvention"],
    ),
    Profession(
        "Chargé de mission financements publics",
        "Chargée de mission financements publics",
        ["dossier-subvention", "appels-projets", "evaluation-impact"],
    ),
    Profession(
        "Dirigeant d'entreprise retraité",
        "Dirigeante d'entreprise retraitée",
        ["projet-associatif", "animation-ca", "strategie-commerciale", "conduite-changement"],
    ),
]


class AssociationSpec(NamedTuple):
    """A fictional solidarity association of a branch, member since `since` (a year)."""

    branch: str
    name: str
    city: str
    purpose: str
    budget: int  # annual operating budget, euros
    since: int


ASSOCIATIONS = [
    AssociationSpec(
        "STR",
        "Le Panier Partagé",
        "Strasbourg",
        "Aide alimentaire et épicerie solidaire pour les familles en difficulté",
        420_000,
        2008,
    ),
    AssociationSpec(
        "STR",
        "Les Ateliers du Rebond",
        "Schiltigheim",
        "Chantier d'insertion : réparation de vélos et d'électroménager",
        1_350_000,
        2008,
    ),
    AssociationSpec(
        "STR",
        "Voix de l'Exil",
        "Strasbourg",
        "Accueil, cours de français et accompagnement juridique des personnes exilées",
        95_000,
        2009,
    ),
    AssociationSpec(
        "STR",
        "Handi'Cap Sport Alsace",
        "Illkirch-Graffenstaden",
        "Pratique sportive adaptée pour les personnes en situation de handicap",
        68_000,
        2009,
    ),
    AssociationSpec(
        "STR",
        "Lire et Grandir",
        "Strasbourg",
        "Soutien scolaire et ateliers lecture dans les quartiers prioritaires",
        18_000,
        2010,
    ),
    AssociationSpec(
        "STR",
        "Théâtre des Quais",
        "Strasbourg",
        "Théâtre participatif avec des habitants éloignés de la culture",
        150_000,
        2010,
    ),
    AssociationSpec(
        "STR", "Âge d'Or Solidaire", "Haguenau", "Visites et lutte contre l'isolement des personnes âgées", 32_000, 2011
    ),
    AssociationSpec(
        "STR",
        "Toit et Passerelle",
        "Strasbourg",
        "Hébergement d'urgence et accompagnement vers le logement",
        2_800_000,
        2011,
    ),
    AssociationSpec(
        "STR",
        "Les Jardins de la Bruche",
        "Molsheim",
        "Jardin maraîcher d'insertion et paniers bio solidaires",
        760_000,
        2012,
    ),
    AssociationSpec(
        "STR",
        "Femmes en Marche Strasbourg",
        "Strasbourg",
        "Accueil et écoute des femmes victimes de violences",
        240_000,
        2012,
    ),
    AssociationSpec(
        "STR", "Le Fil d'Ariane", "Sélestat", "Accompagnement des familles d'enfants autistes", 12_000, 2013
    ),
    AssociationSpec(
        "STR",
        "Cyclo-Solidaire",
        "Strasbourg",
        "Atelier vélo participatif et mobilité pour les demandeurs d'emploi",
        45_000,
        2013,
    ),
    AssociationSpec(
        "STR", "Musique pour Tous Bas-Rhin", "Obernai", "École de musique à tarif solidaire", 130_000, 2014
    ),
    AssociationSpec(
        "STR",
        "Le Relais Numérique",
        "Bischheim",
        "Lutte contre la fracture numérique, ateliers informatiques",
        8_500,
        2014,
    ),
    AssociationSpec(
        "STR",
        "Solidarité Étudiante Alsace",
        "Strasbourg",
        "Épicerie et aide d'urgence pour les étudiants précaires",
        26_000,
        2016,
    ),
    AssociationSpec(
        "STR",
        "Les Petits Frères de l'Ill",
        "Lingolsheim",
        "Repas partagés et sorties pour les personnes âgées isolées",
        58_000,
        2019,
    ),
    AssociationSpec(
        "MUL", "Restos du Cœur de Dornach", "Mulhouse", "Distribution alimentaire et accueil de jour", 310_000, 2013
    ),
    AssociationSpec(
        "MUL",
        "Tremplin Emploi Sud-Alsace",
        "Mulhouse",
        "Accompagnement vers l'emploi des jeunes sans qualification",
        880_000,
        2013,
    ),
    AssociationSpec(
        "MUL",
        "Les Ailes de Colmar",
        "Colmar",
        "Loisirs et répit pour les aidants de personnes handicapées",
        22_000,
        2015,
    ),
    AssociationSpec(
        "MUL", "Mosaïque Saint-Louis", "Saint-Louis", "Centre socioculturel et médiation interculturelle", 190_000, 2017
    ),
    AssociationSpec(
        "MUL", "Parrainage Lecture Mulhouse", "Mulhouse", "Parrainage d'enfants par des lecteurs bénévoles", 9_000, 2020
    ),
    AssociationSpec("MTZ", "La Table Ouverte Messine", "Metz", "Repas solidaires et épicerie sociale", 205_000, 2014),
    AssociationSpec(
        "MTZ",
        "Horizon Handicap Moselle",
        "Thionville",
        "Insertion professionnelle des travailleurs handicapés",
        2_300_000,
        2014,
    ),
    AssociationSpec(
        "MTZ", "Les Passeurs de Mots", "Metz", "Alphabétisation et français langue étrangère pour adultes", 38_000, 2016
    ),
    AssociationSpec(
        "MTZ",
        "Cinéma sous les Étoiles Lorraine",
        "Forbach",
        "Projections gratuites en plein air dans les quartiers",
        14_000,
        2018,
    ),
    AssociationSpec(
        "MTZ",
        "Entraide Seniors Woippy",
        "Woippy",
        "Transport solidaire et visites à domicile pour les aînés",
        27_000,
        2021,
    ),
    AssociationSpec(
        "PAR",
        "Pain et Partage Île-de-France",
        "Paris",
        "Collecte et redistribution des invendus alimentaires",
        1_100_000,
        2002,
    ),
    AssociationSpec(
        "PAR",
        "Clé pour l'Emploi",
        "Saint-Denis",
        "Coaching et parrainage vers l'emploi des habitants des quartiers",
        460_000,
        2004,
    ),
    AssociationSpec(
        "PAR",
        "Refuge Fraternité",
        "Paris",
        "Hébergement et accompagnement des mineurs non accompagnés",
        3_600_000,
        2008,
    ),
    AssociationSpec(
        "PAR",
        "Les Mots du Monde",
        "Montreuil",
        "Ateliers d'écriture et de théâtre avec des personnes migrantes",
        55_000,
        2012,
    ),
    AssociationSpec(
        "PAR", "Silver Liens", "Vincennes", "Colocations intergénérationnelles et lien social", 120_000, 2018
    ),
    AssociationSpec(
        "LYO",
        "Bouchons Solidaires",
        "Lyon",
        "Restaurant d'insertion et formation aux métiers de la restauration",
        640_000,
        2006,
    ),
    AssociationSpec(
        "LYO",
        "Ciné-Ma Différence Lyon",
        "Villeurbanne",
        "Séances de cinéma adaptées aux personnes autistes ou polyhandicapées",
        16_000,
        2009,
    ),
    AssociationSpec(
        "LYO",
        "Réussir Ensemble Vénissieux",
        "Vénissieux",
        "Accompagnement scolaire et orientation des collégiens",
        72_000,
        2013,
    ),
    AssociationSpec(
        "LYO", "Fraternité Exil Rhône", "Lyon", "Accès aux droits et domiciliation des personnes exilées", 260_000, 2017
    ),
    AssociationSpec("LIL", "Le Grenier Solidaire", "Roubaix", "Ressourcerie et boutique solidaire", 540_000, 2009),
    AssociationSpec(
        "LIL", "Dys-Moi Tout", "Lille", "Information et soutien aux familles d'enfants dyslexiques", 6_500, 2012
    ),
    AssociationSpec("LIL", "Nord Entraide Migrants", "Tourcoing", "Accueil de jour et cours de français", 88_000, 2016),
    AssociationSpec(
        "NAN", "Escale Solidaire Nantaise", "Nantes", "Accueil de jour des personnes sans domicile", 980_000, 2010
    ),
    AssociationSpec(
        "NAN", "Vogue la Culture", "Saint-Nazaire", "Ateliers artistiques en EHPAD et en foyers", 24_000, 2014
    ),
    AssociationSpec(
        "NAN",
        "Les Bricoleurs du Cœur",
        "Rezé",
        "Petits travaux à domicile pour les personnes âgées et handicapées",
        41_000,
        2019,
    ),
    AssociationSpec(
        "BDX",
        "Garonne Insertion",
        "Bordeaux",
        "Entreprise d'insertion dans l'entretien des espaces verts",
        2_100_000,
        2011,
    ),
    AssociationSpec("BDX", "Le Cartable Partagé", "Pessac", "Fournitures scolaires et aide aux devoirs", 11_000, 2013),
    AssociationSpec(
        "BDX",
        "Accueil Santé Précarité Gironde",
        "Bordeaux",
        "Consultations et accompagnement santé des personnes précaires",
        175_000,
        2018,
    ),
]


class MissionTemplate(NamedTuple):
    """A kind of mission: title, domain, required competences (code, min level), remote-friendly, texts."""

    title: str
    domain: str
    competences: list[tuple[str, int]]
    remote: bool
    request: str  # the association's own words
    need: str
    objectives: list[tuple[str, str]]  # (objective, deliverable)


MISSION_TEMPLATES = [
    MissionTemplate(
        "Plan de communication",
        "communication",
        [("plan-communication", 2), ("redaction", 1)],
        False,
        "Nous voulons mieux faire connaître nos actions auprès du public et des financeurs.",
        "Définir les publics, les messages et un calendrier d'actions de communication sur un an.",
        [
            ("Diagnostic de la communication actuelle", "Note de diagnostic"),
            ("Plan d'actions sur douze mois", "Plan de communication et calendrier"),
            ("Transmission à l'équipe", "Atelier de prise en main"),
        ],
    ),
    MissionTemplate(
        "Refonte du site internet",
        "web-numerique",
        [("site-web", 2), ("ux-design", 1), ("wordpress", 1)],
        True,
        "Notre site est vieillissant et nous ne savons plus le mettre à jour.",
        "Refondre l'arborescence et le site pour que l'équipe le mette à jour seule.",
        [
            ("Arborescence et maquettes validées", "Maquettes des pages principales"),
            ("Mise en ligne du nouveau site", "Site en production"),
            ("Autonomie de l'équipe", "Guide de mise à jour"),
        ],
    ),
    MissionTemplate(
        "Création d'un site WordPress",
        "web-numerique",
        [("wordpress", 2), ("referencement", 1)],
        True,
        "Nous n'avons pas de site internet et souhaitons une vitrine simple.",
        "Créer un site vitrine WordPress avec agenda et formulaire de contact.",
        [
            ("Choix du thème et des contenus", "Cahier des charges d'une page"),
            ("Site publié et référencé", "Site en ligne"),
        ],
    ),
    MissionTemplate(
        "Recrutement d'un responsable commercial",
        "marketing-commercial",
        [("responsable-commercial", 2), ("recrutement", 2)],
        False,
        "Notre activité de vente doit se développer : nous devons recruter un responsable commercial.",
        "Définir le poste, diffuser l'offre et accompagner les entretiens de recrutement.",
        [
            ("Fiche de poste du responsable commercial", "Fiche de poste"),
            ("Diffusion et présélection", "Liste de candidats présélectionnés"),
            ("Entretiens et choix final", "Grille d'entretien et compte rendu"),
        ],
    ),
    MissionTemplate(
        "Rapport financier annuel",
        "finance-gestion",
        [("rapport-financier", 2), ("comptabilite", 2)],
        False,
        "Nos financeurs nous demandent un rapport financier plus lisible.",
        "Structurer le rapport financier de l'exercice et le rendre compréhensible par le conseil.",
        [
            ("Analyse des comptes de l'exercice", "Tableaux d'analyse"),
            ("Rédaction du rapport financier", "Rapport financier présenté à l'assemblée générale"),
        ],
    ),
    MissionTemplate(
        "Budget prévisionnel et plan de trésorerie",
        "finance-gestion",
        [("budget-previsionnel", 2)],
        False,
        "Nous avons régulièrement des tensions de trésorerie en fin d'année.",
        "Construire un budget prévisionnel et un plan de trésorerie mensuel tenu par la trésorière.",
        [
            ("Budget prévisionnel de l'année", "Budget prévisionnel"),
            ("Outil de suivi de trésorerie", "Tableur de trésorerie mensuelle"),
        ],
    ),
    MissionTemplate(
        "Tableau de bord de gestion",
        "finance-gestion",
        [("controle-gestion", 2), ("tableur-avance", 1)],
        True,
        "Le bureau manque d'indicateurs pour piloter l'activité.",
        "Choisir une dizaine d'indicateurs et automatiser leur calcul dans un tableur.",
        [
            ("Choix des indicateurs avec le bureau", "Liste d'indicateurs"),
            ("Tableau de bord automatisé", "Classeur de tableau de bord"),
        ],
    ),
    MissionTemplate(
        "Animation des réseaux sociaux",
        "communication",
        [("reseaux-sociaux", 2), ("redaction", 1)],
        True,
        "Nos pages sur les réseaux sociaux sont peu suivies.",
        "Définir une ligne éditoriale et former un bénévole de l'association à l'animation des pages.",
        [
            ("Ligne éditoriale", "Charte éditoriale"),
            ("Calendrier de publications", "Calendrier sur trois mois"),
            ("Formation du référent", "Séance de formation"),
        ],
    ),
    MissionTemplate(
        "Nouvelle charte graphique",
        "communication",
        [("charte-graphique", 3)],
        True,
        "Notre logo date de la création de l'association et nos documents sont disparates.",
        "Moderniser le logo et créer des modèles de documents cohérents.",
        [
            ("Propositions de logo", "Trois pistes graphiques"),
            ("Charte et modèles", "Charte graphique et modèles de documents"),
        ],
    ),
    MissionTemplate(
        "Relations presse pour un événement",
        "communication",
        [("relations-presse", 2)],
        False,
        "Nous organisons nos vingt ans et voulons que la presse locale en parle.",
        "Construire un fichier presse, rédiger le communiqué et préparer les porte-parole.",
        [
            ("Fichier presse local", "Fichier de contacts presse"),
            ("Communiqué et dossier de presse", "Communiqué de presse"),
        ],
    ),
    MissionTemplate(
        "Fiches de poste et entretiens annuels",
        "rh-recrutement",
        [("fiches-de-poste", 2), ("droit-social", 1)],
        False,
        "L'équipe salariée a grandi et les rôles ne sont plus clairs.",
        "Rédiger les fiches de poste et mettre en place les entretiens annuels.",
        [
            ("Fiches de poste de l'équipe", "Fiches de poste"),
            ("Trame d'entretien annuel", "Support d'entretien et guide du manager"),
        ],
    ),
    MissionTemplate(
        "Fidélisation des bénévoles",
        "rh-recrutement",
        [("gestion-benevoles", 2)],
        False,
        "Beaucoup de nos bénévoles partent après quelques mois.",
        "Comprendre les départs et construire un parcours d'accueil des bénévoles.",
        [
            ("Enquête auprès des bénévoles", "Synthèse de l'enquête"),
            ("Parcours d'accueil", "Livret d'accueil du bénévole"),
        ],
    ),
    MissionTemplate(
        "Mise en conformité RGPD",
        "juridique",
        [("rgpd", 2)],
        True,
        "Nous gérons des fichiers de bénéficiaires et ne savons pas si nous respectons le RGPD.",
        "Établir le registre des traitements et les mentions d'information.",
        [
            ("Registre des traitements", "Registre"),
            ("Mentions et procédures", "Mentions d'information et procédure de demande d'accès"),
        ],
    ),
    MissionTemplate(
        "Révision des statuts",
        "juridique",
        [("statuts", 2)],
        False,
        "Nos statuts ne correspondent plus à notre fonctionnement réel.",
        "Proposer des statuts et un règlement intérieur à jour pour l'assemblée générale.",
        [
            ("Analyse des statuts actuels", "Note d'analyse"),
            ("Projet de statuts", "Statuts et règlement intérieur révisés"),
        ],
    ),
    MissionTemplate(
        "Projet associatif à cinq ans",
        "strategie-gouvernance",
        [("projet-associatif", 3), ("animation-ca", 2)],
        False,
        "Le conseil d'administration veut se donner un cap pour les prochaines années.",
        "Animer la réflexion du conseil et formaliser le projet associatif.",
        [
            ("Séminaire du conseil d'administration", "Compte rendu du séminaire"),
            ("Projet associatif rédigé", "Projet associatif 5 ans"),
            ("Plan d'actions", "Feuille de route annuelle"),
        ],
    ),
    MissionTemplate(
        "Mesure de l'impact social",
        "strategie-gouvernance",
        [("evaluation-impact", 2)],
        True,
        "Nos financeurs nous demandent de mesurer notre impact.",
        "Construire une méthode simple de mesure d'impact et un premier rapport.",
        [
            ("Choix des indicateurs d'impact", "Référentiel d'évaluation"),
            ("Premier rapport d'impact", "Rapport d'impact"),
        ],
    ),
    MissionTemplate(
        "Étude de marché pour une boutique solidaire",
        "marketing-commercial",
        [("etude-marche", 2), ("strategie-commerciale", 1)],
        False,
        "Nous envisageons d'ouvrir une boutique solidaire et hésitons sur l'emplacement.",
        "Étudier la clientèle potentielle, la concurrence et les emplacements possibles.",
        [("Étude de la clientèle", "Synthèse de l'étude"), ("Recommandation d'emplacement", "Note de recommandation")],
    ),
    MissionTemplate(
        "Mise en place d'un CRM pour les donateurs",
        "informatique",
        [("base-de-donnees", 2), ("logiciel-metier", 1)],
        True,
        "Nos donateurs sont suivis dans plusieurs tableurs qui ne se parlent pas.",
        "Choisir un outil de gestion de la relation donateurs et y reprendre les données.",
        [
            ("Comparatif des outils", "Comparatif de trois solutions"),
            ("Reprise des données", "Base donateurs dans l'outil choisi"),
        ],
    ),
    MissionTemplate(
        "Sécurisation du réseau informatique",
        "informatique",
        [("reseau-materiel", 2)],
        False,
        "Nous avons perdu des fichiers après une panne et craignons les virus.",
        "Sécuriser le réseau du local et mettre en place des sauvegardes automatiques.",
        [
            ("Audit du parc et du réseau", "Rapport d'audit"),
            ("Sauvegardes automatiques", "Procédure de sauvegarde testée"),
        ],
    ),
    MissionTemplate(
        "Formation bureautique des salariés",
        "formation",
        [("formation-bureautique", 2), ("animation-atelier", 1)],
        False,
        "Nos salariés en insertion ont besoin de bases en bureautique.",
        "Concevoir et animer un cycle d'ateliers de bureautique adapté.",
        [
            ("Programme des ateliers", "Programme de formation"),
            ("Animation des ateliers", "Supports et feuilles d'émargement"),
        ],
    ),
    MissionTemplate(
        "Dossier de subvention européenne",
        "recherche-fonds",
        [("dossier-subvention", 3), ("appels-projets", 2)],
        True,
        "Nous aimerions répondre à un appel à projets européen mais il est très technique.",
        "Monter le dossier de candidature et son budget.",
        [("Lecture de l'appel et éligibilité", "Note d'opportunité"), ("Dossier de candidature", "Dossier déposé")],
    ),
    MissionTemplate(
        "Campagne de collecte de dons",
        "recherche-fonds",
        [("collecte-dons", 2), ("plan-communication", 1)],
        False,
        "Nos ressources propres sont trop faibles et nous dépendons des subventions.",
        "Préparer et lancer une campagne de dons de fin d'année.",
        [
            ("Stratégie de collecte", "Plan de campagne"),
            ("Lancement de la campagne", "Supports de collecte et page de don"),
        ],
    ),
    MissionTemplate(
        "Recherche de mécènes d'entreprise",
        "marketing-commercial",
        [("partenariats-entreprises", 2)],
        False,
        "Nous voulons nouer des partenariats avec des entreprises du territoire.",
        "Identifier les entreprises cibles et préparer une offre de partenariat.",
        [
            ("Cartographie des entreprises cibles", "Liste de prospects"),
            ("Offre de partenariat", "Plaquette de mécénat"),
        ],
    ),
    MissionTemplate(
        "Recrutement d'un directeur",
        "rh-recrutement",
        [("recrutement", 2), ("fiches-de-poste", 1)],
        False,
        "Notre directrice part à la retraite et le bureau n'a jamais recruté.",
        "Accompagner le bureau dans le recrutement de la future direction.",
        [
            ("Profil de poste", "Fiche de poste de direction"),
            ("Sélection des candidats", "Grille d'évaluation et compte rendu d'entretiens"),
        ],
    ),
]

EFFORTS = [
    "2 à 3 demi-journées par mois pendant 3 mois",
    "une soirée par semaine pendant 2 mois",
    "environ 20 heures sur 6 semaines",
    "4 à 5 rendez-vous sur 2 mois",
    "une journée par mois pendant 6 mois",
    "environ 30 heures réparties sur un trimestre",
]

ANNOUNCEMENT_TEXT = """Recherche d'un(e) bénévole : {title}

L'association {association} ({city}) — {purpose}.

Le besoin : {need}

Compétences recherchées : {competences}.
Engagement : {effort}.
Lieu : {place}.

Vous avez ces compétences et l'envie de les mettre au service d'une association ? Répondez simplement à ce
message. Et si la mission n'est pas pour vous, pensez à relayer cette annonce autour de vous !"""

SOCIAL_TEXT = (
    "L'association {association} cherche un(e) bénévole de compétences : « {title} » ({effort}). "
    "Vous connaissez la personne idéale ? Partagez ! #bénévolatdecompétences #PasserellesEtCompétences"
    " 👉 Pour candidater : {url}"
)

REVISION_REMARKS = [
    "Merci de préciser que la mission peut se faire en partie à distance.",
    "Le bureau souhaite mentionner nos horaires d'ouverture et le public accueilli.",
    "Pouvez-vous retirer le nom de notre financeur, pas encore officiel ?",
    "Nous préférons parler de « coordinatrice » plutôt que de « directrice ».",
    "Il manque la date de notre assemblée générale, échéance importante.",
]

APPLICATION_MESSAGES = [
    "Bonjour, cette mission correspond tout à fait à mon expérience, je suis disponible dès le mois prochain.",
    "Je connais bien l'association et serais ravie de l'aider.",
    "J'ai mené un projet très proche dans mon entreprise l'an dernier.",
    "Disponible en soirée et le samedi matin, je me positionne volontiers.",
    "Jeune retraité, j'ai du temps et l'envie de transmettre.",
    "Mission relayée par une collègue : je suis intéressé !",
    "",
]

CHECK_IN_NOTES = {
    "on_track": [
        "Échanges réguliers, l'association est satisfaite de l'avancement.",
        "Premier livrable remis dans les temps.",
        "Bonne dynamique entre le bénévole et la directrice.",
        "Rien à signaler, calendrier respecté.",
    ],
    "at_risk": [
        "Le référent de l'association est peu disponible, des rendez-vous ont été reportés.",
        "Le bénévole a pris du retard pour raisons professionnelles.",
        "Le périmètre s'élargit : recadrage prévu au prochain point.",
    ],
    "blocked": [
        "Plus de nouvelles de l'association depuis un mois malgré deux relances.",
        "Le conseil d'administration a gelé le projet en attendant un financement.",
    ],
}

TESTIMONIES = [
    "Une aide précieuse : nous avons enfin un outil que toute l'équipe s'approprie.",
    "Le bénévole a su nous écouter et s'adapter à nos contraintes de petite association.",
    "Mission très enrichissante ; j'ai découvert un secteur que je ne connaissais pas.",
    "Des échanges de grande qualité, nous referons appel à Passerelles & Compétences.",
    "Le résultat dépasse nos attentes, le conseil d'administration est ravi.",
    "Belle rencontre humaine, même si le calendrier a été plus long que prévu.",
    "Nous avons gagné en autonomie, c'était exactement ce qu'il nous fallait.",
    "Une expérience qui donne du sens à mes compétences professionnelles.",
    "Mission utile mais qui aurait mérité d'être mieux cadrée au départ.",
]

CANCEL_REASONS = {
    "requested": [
        "L'association n'adhère pas au fonctionnement de Passerelles & Compétences (cotisation).",
        "Le besoin relève d'une prestation rémunérée, pas d'une mission ponctuelle de bénévolat.",
        "L'association n'a pas donné suite après le premier contact.",
    ],
    "analysed": [
        "L'association a finalement trouvé une solution en interne.",
        "Le conseil d'administration a reporté le projet à l'année prochaine.",
    ],
    "approved": ["Changement de priorité de l'association avant la diffusion de l'annonce."],
    "published": [
        "Aucune candidature adaptée malgré la diffusion de l'annonce.",
        "Le projet a perdu son financement ; l'association suspend sa demande.",
    ],
    "selected": ["Le bénévole retenu s'est désisté et l'association ne souhaite pas relancer la recherche."],
    "in_progress": [
        "Départ du salarié référent de l'association ; mission interrompue d'un commun accord.",
        "Le bénévole a dû arrêter pour raisons personnelles ; l'association reprend le sujet en interne.",
    ],
}

ROADMAP_NOTES = [
    "Points d'étape en visioconférence, documents partagés dans un dossier commun.",
    "Rencontres au local de l'association le mardi soir.",
    "La trésorière est l'interlocutrice principale du bénévole.",
    "Le bénévole accompagne et conseille ; l'équipe reste maître des décisions.",
]

WAIVED_NOTE = "Exonération accordée par le bureau de l'antenne (difficultés financières de l'association)."
