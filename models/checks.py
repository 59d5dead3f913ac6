"""Checks on what cannot be undone silently, one function per rule, pure (no database, no Prefect): the command
line and the Prefect UI's admin forms reach them through the same actions (`tasks/organisation.py`,
`tasks/fees.py`), so a slip gets the same French reason wherever it is typed.

A refusal is a `StepRefused` naming what to type instead. A duplicate is not a refusal but a warning
(`duplicate_contact_email`, `second_branch_lead`): `require_confirmation` refuses with `ConfirmationNeeded` until the
person confirms (the command's `--confirmer`, the form's « Je confirme »).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date

from models.refusals import ConfirmationNeeded, StepRefused

# --- dates -------------------------------------------------------------------------------------------------------


def check_not_future(day: date, what: str, *, today: date) -> date:
    """`day` itself, or StepRefused when it is after `today` (`what`: « La date de création de l'antenne »)."""
    if day > today:
        raise StepRefused(
            f"{what} ({day:%d/%m/%Y}) est dans le futur : nous sommes le {today:%d/%m/%Y}. Vérifiez l'année."
        )
    return day


def check_not_before(day: date, what: str, *, start: date, start_what: str) -> date:
    """`day` itself, or StepRefused when it precedes `start`, the date of the object it belongs to."""
    if day < start:
        raise StepRefused(f"{what} ({day:%d/%m/%Y}) précède {start_what} ({start:%d/%m/%Y}). Vérifiez l'année.")
    return day


def check_founding_date(founded_on: date, *, today: date) -> date:
    """A branch's founding date: not in the future."""
    return check_not_future(founded_on, "La date de création de l'antenne", today=today)


def check_payment_date(paid_on: date, *, due_on: date, today: date) -> date:
    """A payment's date: not in the future, not before its fee was due (written at the mission's request)."""
    check_not_future(paid_on, "La date du paiement", today=today)
    return check_not_before(paid_on, "La date du paiement", start=due_on, start_what="celle de la cotisation")


# --- fee schedule years ------------------------------------------------------------------------------------------

SCHEDULE_YEARS_AHEAD = 10


def check_schedule_year(from_year: int, *, this_year: int, years_set: Iterable[int]) -> int:
    """The year a new fee schedule starts (docs/organisation.md): a future year, or the current one if none was set
    for it; never a past year (its fees were computed with the schedule then in force), never before a schedule
    already set for later (a future year given again replaces it: nothing used it yet)."""
    years = set(years_set)
    if from_year < this_year:
        raise StepRefused(
            f"Un barème ne part pas d'une année passée ({from_year}) : les cotisations de {from_year} ont été "
            f"calculées avec le barème d'alors. Choisissez {this_year} ou après."
        )
    if from_year > this_year + SCHEDULE_YEARS_AHEAD:
        raise StepRefused(
            f"Un barème à partir de {from_year}, dans plus de {SCHEDULE_YEARS_AHEAD} ans : vérifiez l'année."
        )
    if from_year == this_year and this_year in years:
        raise StepRefused(
            f"Le barème en vigueur depuis {this_year} a pu servir : il reste dans l'historique ; un nouveau "
            f"barème part de {this_year + 1} ou après."
        )
    later = max((y for y in years if y > from_year), default=None)
    if later is not None:
        raise StepRefused(
            f"Un barème part déjà de {later} : un nouveau barème part de {later} ou après (le même année le "
            "remplace, tant qu'il n'a pas servi)."
        )
    return from_year


# --- e-mail addresses ----------------------------------------------------------------------------------------------

# The characters RFC 5322 allows unquoted before the @ (dots checked apart).
_LOCAL_CHARS = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_DOMAIN_LABEL = re.compile(r"^[^\W_](?:[\w-]*[^\W_])?$")


def _ascii(text: str) -> str:
    return (
        "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        .encode("ascii", "ignore")
        .decode()
    )


def check_email(value: str) -> str:
    """The address as typed (the part before the @ keeps its case for display; the domain in lower case), or
    StepRefused saying in French what is wrong. A non-ASCII part before the @ (`Émilie.Schmitt@…`) is refused:
    most mail servers refuse it, and the mails would not arrive."""
    address = value.strip()
    shown = f"« {address} »"
    if not address:
        raise StepRefused("L'adresse e-mail est vide : indiquez-la, par exemple prenom.nom@exemple.fr.")
    if any(c.isspace() for c in address):
        raise StepRefused(f"L'adresse e-mail {shown} contient une espace : une adresse s'écrit d'un seul tenant.")
    if address.count("@") != 1:
        count = "a plusieurs « @ »" if "@" in address else "n'a pas de « @ »"
        raise StepRefused(
            f"L'adresse e-mail {shown} {count} : une adresse s'écrit nom@domaine, par exemple prenom.nom@exemple.fr."
        )
    local, domain = address.split("@")
    if not local:
        raise StepRefused(f"L'adresse e-mail {shown} n'a rien avant le « @ ».")
    if not domain:
        raise StepRefused(f"L'adresse e-mail {shown} n'a rien après le « @ » (le domaine, par exemple exemple.fr).")
    foreign = sorted({c for c in local if ord(c) > 127})
    if foreign:
        plain = _ascii(local)
        hint = f" (par exemple « {plain}@{domain} »)" if plain and _LOCAL_CHARS.match(plain) else ""
        raise StepRefused(
            f"L'adresse e-mail {shown} contient {', '.join(f'« {c} »' for c in foreign)} avant le « @ » : la "
            f"plupart des serveurs de messagerie refusent ces adresses et les mails n'arriveraient pas. Demandez à "
            f"la personne une adresse sans accent{hint}."
        )
    bad = sorted({c for c in local if not _LOCAL_CHARS.match(c)})
    if bad:
        raise StepRefused(
            f"L'adresse e-mail {shown} contient {', '.join(f'« {c} »' for c in bad)} avant le « @ » : caractère "
            "interdit dans une adresse."
        )
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise StepRefused(
            f"L'adresse e-mail {shown} : avant le « @ », un point ne commence ni ne finit l'adresse, et ne se "
            "double pas."
        )
    labels = domain.split(".")
    if len(labels) < 2 or not labels[-1]:
        raise StepRefused(f"L'adresse e-mail {shown} : le domaine « {domain} » est incomplet (par exemple exemple.fr).")
    if not all(_DOMAIN_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise StepRefused(f"L'adresse e-mail {shown} : le domaine « {domain} » n'est pas valide.")
    from email_validator import EmailNotValidError, validate_email  # heavy import: only when an address is typed

    try:
        return validate_email(address, check_deliverability=False, allow_smtputf8=False).normalized
    except EmailNotValidError:  # its reasons are in English; what is left is the domain's
        raise StepRefused(f"L'adresse e-mail {shown} : le domaine « {domain} » n'est pas valide.") from None


def check_address_to_confirm(value: str) -> str:
    """An address typed on a public form, to which a confirmation link will go: checked as every address, refused
    when empty or over 254 characters (the limit of SMTP), in lower case as the confirmations compare them."""
    address = value.strip()
    if not address:
        raise StepRefused("Indiquez votre adresse e-mail : nous vous y demanderons de la confirmer.")
    if len(address) > 254:
        raise StepRefused("L'adresse e-mail est trop longue.")
    return check_email(address).lower()


def email_key(address: str) -> str:
    """The form two addresses are compared in: case does not matter (`Luc@Epi.fr` is `luc@epi.fr`)."""
    return address.strip().casefold()


def same_email(a: str, b: str) -> bool:
    """Whether two addresses are the same mailbox, whatever their case."""
    return email_key(a) == email_key(b)


# --- duplicates: warnings that need a confirmation ----------------------------------------------------------------


def duplicate_contact_email(address: str, others: Iterable[tuple[str, str]]) -> str | None:
    """The warning when `address` is already the contact of other associations (`others`: (name, contact e-mail)
    of the associations besides the one being written): their mails would reach the same person."""
    names = sorted(name for name, email in others if same_email(email, address))
    if not names:
        return None
    listed = ", ".join(f"« {n} »" for n in names)
    return (
        f"L'adresse {address.strip()} est déjà celle du contact de {listed} : les mails des deux associations "
        "(annonces à approuver, factures, annulations) iraient à la même personne."
    )


def second_branch_lead(branch: str, leads: Sequence[str]) -> str | None:
    """The warning when the branch `branch` already has active leads (`leads`: their names, the member being
    written aside): alerts and dashboards then go to each of them."""
    if not leads:
        return None
    return (
        f"L'antenne {branch} a déjà un(e) responsable : {', '.join(sorted(leads))}. Les alertes des missions à risque "
        "iront à chacun(e)."
    )


def require_confirmation(warnings: Iterable[str | None], *, confirmed: bool) -> None:
    """ConfirmationNeeded with every warning, unless the person confirmed (or nothing needs confirming)."""
    said = [w for w in warnings if w]
    if said and not confirmed:
        raise ConfirmationNeeded(" ".join(said))


# --- amounts ---------------------------------------------------------------------------------------------------------

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007]+")
_CURRENCY = re.compile(r"^(?:€|eur|euros?)\s*|\s*(?:€|eur|euros?)$", re.IGNORECASE)
_AMOUNT = re.compile(r"^(?P<units>\d{1,3}(?:(?P<sep>[ .'’])\d{3})(?:(?P=sep)\d{3})*|\d+)(?:[,.](?P<cents>\d{1,2}))?$")


def parse_amount(text: str, what: str = "Le montant") -> int:
    """An amount in whole euros as people write it: `24000`, `24 000 €`, `24 000,00`, `24.000`, `24 000 EUR`
    (ordinary, non-breaking or thin spaces); StepRefused in French otherwise (cents other than zero, a sign, words)."""
    typed = _SPACES.sub(" ", str(text)).strip()
    if not typed:
        raise StepRefused(f"{what} est vide : indiquez-le en euros, par exemple 24000 ou 24 000 €.")
    bare = _CURRENCY.sub("", typed).strip()
    if bare.startswith("-"):
        raise StepRefused(f"{what} « {typed} » est négatif : indiquez-le en euros, par exemple 24000.")
    m = _AMOUNT.match(bare)
    if not m:
        raise StepRefused(f"{what} « {typed} » n'est pas un montant en euros : écrivez par exemple 24000 ou 24 000 €.")
    if m["cents"] and int(m["cents"]):
        raise StepRefused(f"{what} « {typed} » a des centimes : indiquez-le en euros entiers, par exemple 24000.")
    return int(re.sub(r"\D", "", m["units"]))
