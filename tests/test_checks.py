"""The checks on what cannot be undone silently (models/checks.py), pure, and argparse's words in French
(deployments/arguments.py): many cases, the French sentence asserted."""

from __future__ import annotations

from datetime import date

import pytest

from deployments.arguments import Parser, french
from models import checks
from models.refusals import ConfirmationNeeded, StepRefused
from tasks.volunteer_import import merge_competences

TODAY = date(2026, 12, 8)

# --- dates ---------------------------------------------------------------------------------------------------------


def test_a_founding_date_in_the_future_is_refused() -> None:
    with pytest.raises(StepRefused) as exc:
        checks.check_founding_date(date(2030, 1, 1), today=TODAY)
    assert str(exc.value) == (
        "La date de création de l'antenne (01/01/2030) est dans le futur : nous sommes le 08/12/2026. Vérifiez l'année."
    )
    assert checks.check_founding_date(TODAY, today=TODAY) == TODAY
    assert checks.check_founding_date(date(1998, 3, 1), today=TODAY) == date(1998, 3, 1)


@pytest.mark.parametrize(
    ("paid_on", "reason"),
    [
        (date(2019, 5, 3), "La date du paiement (03/05/2019) précède celle de la cotisation (15/01/2026)."),
        (date(2026, 1, 14), "La date du paiement (14/01/2026) précède celle de la cotisation (15/01/2026)."),
        (date(2027, 1, 2), "La date du paiement (02/01/2027) est dans le futur : nous sommes le 08/12/2026."),
        (date(2026, 12, 9), "La date du paiement (09/12/2026) est dans le futur"),
    ],
)
def test_a_payment_before_its_fee_or_in_the_future_is_refused(paid_on: date, reason: str) -> None:
    with pytest.raises(StepRefused) as exc:
        checks.check_payment_date(paid_on, due_on=date(2026, 1, 15), today=TODAY)
    assert str(exc.value).startswith(reason)


@pytest.mark.parametrize("paid_on", [date(2026, 1, 15), date(2026, 6, 1), TODAY])
def test_a_payment_between_its_fee_and_today_is_taken(paid_on: date) -> None:
    assert checks.check_payment_date(paid_on, due_on=date(2026, 1, 15), today=TODAY) == paid_on


# --- fee schedule years --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "years", "reason"),
    [
        (
            2025,
            {2008},
            "Un barème ne part pas d'une année passée (2025) : les cotisations de 2025 ont été calculées "
            "avec le barème d'alors. Choisissez 2026 ou après.",
        ),
        (2001, set(), "Un barème ne part pas d'une année passée (2001)"),
        (
            2026,
            {2008, 2026},
            "Le barème en vigueur depuis 2026 a pu servir : il reste dans l'historique ; un nouveau "
            "barème part de 2027 ou après.",
        ),
        (2027, {2008, 2028}, "Un barème part déjà de 2028 : un nouveau barème part de 2028 ou après"),
        (2207, {2008}, "Un barème à partir de 2207, dans plus de 10 ans : vérifiez l'année."),
    ],
)
def test_schedule_years_refused(year: int, years: set[int], reason: str) -> None:
    with pytest.raises(StepRefused) as exc:
        checks.check_schedule_year(year, this_year=2026, years_set=years)
    assert str(exc.value).startswith(reason)


@pytest.mark.parametrize(
    ("year", "years"),
    [(2026, {2008}), (2027, {2008}), (2027, {2008, 2027}), (2030, {2008, 2026, 2027}), (2036, set())],
)
def test_schedule_years_taken(year: int, years: set[int]) -> None:
    """A future year (again, while unused), or the current one when none was set for it."""
    assert checks.check_schedule_year(year, this_year=2026, years_set=years) == year


# --- e-mail addresses ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("luc@epi.example", "luc@epi.example"),
        ("  Luc.Weber@Epi.Example ", "Luc.Weber@epi.example"),  # the case as typed before the @, for display
        ("emilie.schmitt+asso@exemple.fr", "emilie.schmitt+asso@exemple.fr"),
        ("o'neil@exemple.fr", "o'neil@exemple.fr"),
        ("contact@sous.domaine-asso.fr", "contact@sous.domaine-asso.fr"),
        ("contact@épicerie-solidaire.fr", "contact@épicerie-solidaire.fr"),  # an accented domain is delivered
    ],
)
def test_addresses_taken_as_typed(typed: str, kept: str) -> None:
    assert checks.check_email(typed) == kept


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "L'adresse e-mail est vide : indiquez-la, par exemple prenom.nom@exemple.fr."),
        (
            "Émilie.Schmitt@exemple.fr",
            "L'adresse e-mail « Émilie.Schmitt@exemple.fr » contient « É » avant le « @ » : la plupart des serveurs "
            "de messagerie refusent ces adresses et les mails n'arriveraient pas. Demandez à la personne une adresse "
            "sans accent (par exemple « Emilie.Schmitt@exemple.fr »).",
        ),
        ("zoé.müller@exemple.fr", "contient « é », « ü » avant le « @ »"),
        ("luc.exemple.fr", "L'adresse e-mail « luc.exemple.fr » n'a pas de « @ » : une adresse s'écrit nom@domaine"),
        ("luc@@exemple.fr", "a plusieurs « @ »"),
        ("luc weber@exemple.fr", "contient une espace"),
        ("@exemple.fr", "n'a rien avant le « @ »."),
        ("luc@", "n'a rien après le « @ »"),
        ("luc@exemple", "le domaine « exemple » est incomplet (par exemple exemple.fr)."),
        ("luc@exemple.", "le domaine « exemple. » est incomplet"),
        ("luc,weber@exemple.fr", "contient « , » avant le « @ » : caractère interdit dans une adresse."),
        ("luc(weber)@exemple.fr", "contient « ( », « ) » avant le « @ »"),
        (".luc@exemple.fr", "un point ne commence ni ne finit l'adresse"),
        ("luc..weber@exemple.fr", "et ne se double pas"),
        ("luc@exemple..fr", "le domaine « exemple..fr » n'est pas valide."),
        ("luc@-exemple.fr", "le domaine « -exemple.fr » n'est pas valide."),
        ("luc@exemple.123", "le domaine « exemple.123 » n'est pas valide."),
        ("luc@exemple_asso.fr", "le domaine « exemple_asso.fr » n'est pas valide."),
    ],
)
def test_addresses_refused_in_french(typed: str, reason: str) -> None:
    with pytest.raises(StepRefused) as exc:
        checks.check_email(typed)
    assert reason in str(exc.value)
    assert "email" not in str(exc.value).replace("e-mail", "")  # no English left from the library


def test_addresses_compare_whatever_their_case() -> None:
    assert checks.same_email("Luc.Weber@Epi.example", "luc.weber@epi.EXAMPLE ")
    assert not checks.same_email("luc@epi.example", "luc2@epi.example")
    assert checks.email_key(" Luc@Epi.Example") == "luc@epi.example"


# --- duplicates: warnings that need a confirmation ------------------------------------------------------------------


def test_a_contact_email_used_by_another_association_is_a_warning() -> None:
    others = [("Épicerie Solidaire", "Luc@Epi.example"), ("Jardins", "jardins@exemple.fr")]
    warning = checks.duplicate_contact_email("luc@epi.example", others)
    assert warning == (
        "L'adresse luc@epi.example est déjà celle du contact de « Épicerie Solidaire » : les mails des deux "
        "associations (annonces à approuver, factures, annulations) iraient à la même personne."
    )
    assert checks.duplicate_contact_email("autre@epi.example", others) is None
    assert checks.duplicate_contact_email("x@y.fr", []) is None


def test_a_second_branch_lead_is_a_warning() -> None:
    assert checks.second_branch_lead("Strasbourg", []) is None
    assert checks.second_branch_lead("Strasbourg", ["Marc Weber"]) == (
        "L'antenne Strasbourg a déjà un(e) responsable : Marc Weber. Les alertes des missions à risque iront à "
        "chacun(e)."
    )


def test_a_warning_needs_a_confirmation() -> None:
    checks.require_confirmation([None, None], confirmed=False)
    checks.require_confirmation(["Attention."], confirmed=True)
    with pytest.raises(ConfirmationNeeded, match=r"^Un\. Deux\.$") as exc:
        checks.require_confirmation(["Un.", None, "Deux."], confirmed=False)
    assert isinstance(exc.value, StepRefused)  # an adapter that knows only refusals still writes nothing


# --- amounts -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "euros"),
    [
        ("24000", 24000),
        ("24 000 €", 24000),
        ("24 000,00", 24000),
        ("24.000", 24000),
        ("24\u00a0000", 24000),  # non-breaking space (a copy from a spreadsheet)
        ("24\u202f000\u00a0€", 24000),  # narrow non-breaking space, as French typography writes it
        ("24 000 EUR", 24000),
        ("24000 euros", 24000),
        ("€24000", 24000),
        ("1 250 000", 1250000),
        ("1.250.000,00 €", 1250000),
        ("24000,0", 24000),
        ("24000.00", 24000),
        ("0", 0),
        ("  850  ", 850),
        ("24'000", 24000),
    ],
)
def test_amounts_as_people_write_them(typed: str, euros: int) -> None:
    assert checks.parse_amount(typed, "Le budget annuel") == euros


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "Le budget annuel est vide : indiquez-le en euros, par exemple 24000 ou 24 000 €."),
        ("  ", "Le budget annuel est vide"),
        ("24k", "Le budget annuel « 24k » n'est pas un montant en euros : écrivez par exemple 24000 ou 24 000 €."),
        ("vingt mille", "« vingt mille » n'est pas un montant en euros"),
        ("24 00", "« 24 00 » n'est pas un montant en euros"),
        ("2 4000", "« 2 4000 » n'est pas un montant en euros"),
        ("24 000.000,00", "n'est pas un montant en euros"),  # two different separators
        ("-5000", "Le budget annuel « -5000 » est négatif : indiquez-le en euros, par exemple 24000."),
        ("24 000,50 €", "Le budget annuel « 24 000,50 € » a des centimes : indiquez-le en euros entiers"),
        ("24.5", "a des centimes"),
    ],
)
def test_amounts_refused_in_french(typed: str, reason: str) -> None:
    with pytest.raises(StepRefused) as exc:
        checks.parse_amount(typed, "Le budget annuel")
    assert str(exc.value).startswith(reason) or reason in str(exc.value)


# --- a volunteer's competences from an import ------------------------------------------------------------------------


def test_an_import_keeps_the_competences_a_file_omits_unless_asked_to_replace() -> None:
    current = {"comptabilite": 1, "site-web": 2}
    assert merge_competences(current, {"site-web": 3, "rgpd": 1}, replace=False) == (
        {"comptabilite": 1, "site-web": 3, "rgpd": 1},
        {"comptabilite": 1},
    )
    assert merge_competences(current, {"site-web": 3, "rgpd": 1}, replace=True) == (
        {"site-web": 3, "rgpd": 1},
        {"comptabilite": 1},
    )
    assert merge_competences(current, {"site-web": 2, "comptabilite": 1}, replace=True) == (current, {})
    assert merge_competences({}, {"rgpd": 2}, replace=False) == ({"rgpd": 2}, {})


# --- argparse in French --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("english", "in_french"),
    [
        ("the following arguments are required: --nom, --email", "arguments obligatoires manquants : --nom, --email"),
        (
            "argument --portee: invalid int value: 'beaucoup'",
            "argument --portee : 'beaucoup' n'est pas un nombre entier",
        ),
        ("argument --le: invalid _date value: 'hier'", "argument --le : valeur invalide 'hier'"),
        (
            "argument ACTION: invalid choice: 'crete' (choose from 'create', 'update')",
            "argument ACTION : choix invalide 'crete' (choix possibles : 'create', 'update')",
        ),
        ("unrecognized arguments: --budjet 5", "arguments inconnus : --budjet 5"),
        ("one of the arguments --mission --de is required", "il faut l'un des arguments --mission --de"),
        ("argument --de: not allowed with argument --mission", "l'argument --de exclut l'argument --mission"),
        ("argument --nom: expected one argument", "argument --nom : une valeur attendue"),
        (
            "argument --le: date invalide « hier » (AAAA-MM-JJ attendu)",
            "argument --le : date invalide « hier » (AAAA-MM-JJ attendu)",
        ),
    ],
)
def test_argparse_messages_in_french(english: str, in_french: str) -> None:
    assert french(english) == in_french


def _parser() -> Parser:
    parser = Parser(prog="passerelles essai", description="Un essai.")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = sub.add_parser("create", help="crée")
    create.add_argument("--nom", required=True)
    create.add_argument("--portee", type=int)
    return parser


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        ([], "passerelles essai : erreur : arguments obligatoires manquants : ACTION"),
        (
            ["crete"],
            "passerelles essai : erreur : argument ACTION : choix invalide 'crete' (choix possibles : 'create')",
        ),
        (["create"], "passerelles essai create : erreur : arguments obligatoires manquants : --nom"),
        (["create", "--nom", "x", "--portee", "dix"], "argument --portee : 'dix' n'est pas un nombre entier"),
        (["create", "--nom", "x", "--budjet", "5"], "arguments inconnus : --budjet 5"),
        (["create", "--nom"], "argument --nom : une valeur attendue"),
    ],
)
def test_the_parser_speaks_french(argv: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage : passerelles essai") and said in err
    assert not any(word in err for word in ("error:", "required:", "invalid choice", "invalid int", "unrecognized"))


def test_the_help_speaks_french(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["create", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage : passerelles essai create")
    assert "affiche cette aide et s'arrête" in out and "show this help" not in out
