"""The volunteer CSV file: its format, reading it, validating each row, writing the rejects back.

CSV format: one header line, then one volunteer per line; delimiter ``;`` (French Excel) or ``,``, detected
from the header; UTF-8 with or without BOM unless ``--encodage`` says otherwise (``cp1252`` for old Excel).
Header names match ignoring case, accents and spaces (``Prénom``, ``Consentement annonces``; ``e-mail`` and
``courriel`` mean ``email``). Columns, by their French names:

- ``prenom``, ``nom``, ``email`` (required): the e-mail is checked by email-validator and stored lower-cased.
- ``antenne``: branch code (``STR``); an empty cell or no column takes ``--antenne CODE``.
- ``competences``: ``site-web:3; comptabilite:2``, items separated by ``;`` or ``,``; each a competence code or
  French name (case- and accent-insensitive), optional ``:level`` 1–3 (or notions/confirmé/expert), default 2.
- ``telephone``, ``ville``, ``profession``: free text, within the model's lengths.
- ``consentement_annonces``, ``consentement_national``, ``relais``: oui/non, 1/0, vrai/faux, x; empty is non.
- ``disponibilite``: disponible (also when empty), peu disponible, indisponible.
- ``motif``: ignored, so the rejects file written by ``--rapport`` can be fixed and re-imported as is.
- Columns with an empty title are ignored as long as their cells are empty (Excel's trailing ``;``).
Rows whose cells are all empty are skipped.

The whole file is refused (ImportRefused, exit code 2, nothing written) when it is empty or header only, a
required column is missing, a column is unknown (refused, not ignored: a misspelt ``competance`` would
otherwise drop data silently) or given twice, a byte is invalid in the encoding (the line is named), a UTF-8
file is read with another encoding, or ``--antenne`` is unknown. Otherwise each bad row is rejected with its
line number and every reason (wrong cell count, empty required field, invalid e-mail, branch, competence with
close matches, level, yes/no or availability value, too long a value, an e-mail already used earlier in the
file (the first occurrence keeps it, whatever became of it)) and the good rows are imported (exit code 1; 0 when
every row was imported).
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import String

from models.checks import check_email
from models.refusals import StepRefused
from models.text import fold
from models.volunteer import LEVEL_LABELS, Availability, Volunteer

REQUIRED = ("prenom", "nom", "email")
OPTIONAL = (
    "antenne",
    "competences",
    "telephone",
    "ville",
    "profession",
    "consentement_annonces",
    "consentement_national",
    "relais",
    "disponibilite",
)
IGNORED = ("motif",)
ALIASES = {"e_mail": "email", "courriel": "email", "mail": "email"}
# Column → model attribute; the model's lengths are checked here so PostgreSQL never refuses the whole batch.
TEXT_FIELDS = {
    "prenom": "first_name",
    "nom": "last_name",
    "telephone": "phone",
    "ville": "city",
    "profession": "profession",
}
TRUE = {"oui", "o", "1", "vrai", "x", "yes", "true"}
FALSE = {"non", "n", "0", "faux", "", "no", "false"}
AVAILABILITY = {
    "disponible": Availability.AVAILABLE,
    "peu disponible": Availability.LIMITED,
    "indisponible": Availability.UNAVAILABLE,
}
DEFAULT_LEVEL = 2
# Rows are flushed in batches: few round trips, yet a database error still surfaces before the commit.
BATCH = 100

Progress = Callable[[int, int], None]


LEVELS = {"1": 1, "2": 2, "3": 3, **{fold(label): n for n, label in LEVEL_LABELS.items()}}


class ImportRefused(ValueError):
    """The whole file is refused; the message (French) says why. Nothing was written."""


@dataclass(frozen=True)
class Lookup:
    """What validation needs from the database, as plain values: competences by folded code/name, branches."""

    competences: dict[str, tuple[str, str]]  # folded code or name → (code, name)
    branches: frozenset[str]  # upper-case codes
    default_branch: str | None = None

    @classmethod
    def build(cls, competences: Iterable[tuple[str, str]], branches: Iterable[str], default: str | None) -> Lookup:
        """A lookup from (code, name) pairs and branch codes."""
        index = {}
        for code, name in competences:
            index[fold(code)] = index[fold(name)] = (code, name)
        return cls(index, frozenset(b.upper() for b in branches), default.strip().upper() if default else None)


@dataclass
class VolunteerRecord:
    """A validated row, ready to become a Volunteer."""

    line: int
    first_name: str
    last_name: str
    email: str
    branch_code: str
    competences: dict[str, int] = field(default_factory=dict)
    phone: str = ""
    city: str = ""
    profession: str = ""
    consent_announcements: bool = False
    consent_national: bool = False
    is_relay: bool = False
    availability: Availability = Availability.AVAILABLE


@dataclass
class Rejected:
    """A refused row: its line in the file, the reason in French, and its original cells."""

    line: int
    reason: str
    cells: list[str]


@dataclass
class ParsedFile:
    """The decoded file: original header, canonical column names, and the (line, cells) of each data row."""

    header: list[str]
    columns: list[str]
    rows: list[tuple[int, list[str]]]


def _quote(items: Iterable[str]) -> str:
    return ", ".join(f"« {i} »" for i in items)


def _decode(data: bytes, encoding: str) -> str:
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise ImportRefused(f"Encodage inconnu : « {encoding} ».") from None
    try:
        text = data.decode("utf-8-sig" if codec == "utf-8" else codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        hint = " S'il vient d'Excel, relancez avec --encodage cp1252." if codec == "utf-8" else ""
        msg = f"Le fichier n'est pas encodé en {encoding} (caractère illisible ligne {line}).{hint}"
        raise ImportRefused(msg) from None
    # Non-ASCII text from a single-byte encoding is almost never valid UTF-8: this would import « PrÃ©nom ».
    if codec != "utf-8" and not data.isascii() and _is_utf8(data):
        raise ImportRefused(f"Le fichier est encodé en UTF-8, pas en {encoding} : relancez sans --encodage.")
    return text.removeprefix("\ufeff")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def parse_csv(data: bytes, encoding: str = "utf-8") -> ParsedFile:
    """Decode and split the file, map its header to canonical columns; raise ImportRefused for a bad file."""
    text = _decode(data, encoding)
    first = next((ln for ln in text.splitlines() if ln.strip()), None)
    if first is None:
        raise ImportRefused("Le fichier est vide.")
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            # A quoted cell may span lines: report the line the row starts on.
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = cells
            else:
                rows.append((line, [c.strip() for c in cells]))
    except csv.Error as exc:
        raise ImportRefused(f"Fichier CSV illisible ligne {reader.line_num} : {exc}.") from None
    assert header is not None
    columns = map_header(header)
    if not rows:
        raise ImportRefused("Le fichier ne contient que la ligne d'en-tête : aucun bénévole à importer.")
    return ParsedFile(header, columns, rows)


def map_header(header: list[str]) -> list[str]:
    known = (*REQUIRED, *OPTIONAL, *IGNORED)
    columns = [ALIASES.get(k, k) or f"_{i}" for i, k in enumerate(fold(h).replace(" ", "_") for h in header)]
    unknown = [h.strip() for h, c in zip(header, columns, strict=True) if c not in known and c[0] != "_"]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(fold(name).replace(" ", "_"), known, n=1)
            hints.append(f"« {name} »" + (f" (vouliez-vous dire « {close[0]} » ?)" if close else ""))
        raise ImportRefused(f"Colonnes inconnues : {', '.join(hints)}. Colonnes acceptées : {', '.join(known)}.")
    if doubles := sorted({c for c in columns if columns.count(c) > 1}):
        raise ImportRefused(f"Colonnes en double : {_quote(doubles)}.")
    if missing := [c for c in REQUIRED if c not in columns]:
        raise ImportRefused(
            f"Colonnes obligatoires manquantes : {_quote(missing)}. Colonnes trouvées : "
            f"{_quote(h.strip() for h in header)}."
        )
    return columns


def _bool(column: str, value: str, errors: list[str]) -> bool:
    folded = fold(value)
    if folded in TRUE or folded in FALSE:
        return folded in TRUE
    errors.append(f"valeur « {value} » invalide pour {column} (attendu oui ou non)")
    return False


def _competences(value: str, lookup: Lookup, errors: list[str]) -> dict[str, int]:
    items: list[str] = []
    for part in value.split(";"):
        pieces = part.split(",")
        while pieces:
            # Some names contain a comma (« Réseau, matériel et sécurité »): take the longest run that is a name.
            for n in range(len(pieces), 0, -1):
                item = ",".join(pieces[:n])
                name, _, tail = item.rpartition(":") if ":" in item else (item, "", "")
                if n == 1 or ("," not in tail and fold(name) in lookup.competences):
                    break
            items.append(item)
            pieces = pieces[n:]
    found: dict[str, int] = {}
    for item in filter(None, (i.strip() for i in items)):
        name, _, raw_level = (p.strip() for p in item.rpartition(":")) if ":" in item else (item, "", "")
        entry = lookup.competences.get(fold(name))
        if entry is None:
            close = difflib.get_close_matches(fold(name), list(lookup.competences), n=3, cutoff=0.6)
            ideas = list(dict.fromkeys(lookup.competences[c][0] for c in close))
            hint = f" ; vouliez-vous dire {' ou '.join(f'« {c} »' for c in ideas)} ?" if ideas else ""
            errors.append(f"compétence inconnue « {name} »{hint}")
            continue
        level: int | None = LEVELS.get(fold(raw_level)) if raw_level else DEFAULT_LEVEL
        if level is None:
            errors.append(f"niveau « {raw_level} » invalide pour « {entry[0]} » (attendu 1, 2 ou 3)")
        elif entry[0] in found:
            errors.append(f"compétence « {entry[0]} » indiquée deux fois")
        else:
            found[entry[0]] = level
    return found


def validate_row(line: int, columns: list[str], cells: list[str], lookup: Lookup) -> VolunteerRecord | str:
    """Turn one row into a VolunteerRecord, or return the French reason it is refused."""
    if len(cells) != len(columns):
        return (
            f"{len(cells)} cellules au lieu de {len(columns)} "
            f"(séparateur en trop ou manquant, ou valeur à mettre entre guillemets ?)"
        )
    row = dict(zip(columns, cells, strict=True))
    errors: list[str] = []
    if empty := [c for c in REQUIRED if not row[c]]:
        errors.append(f"champ obligatoire vide : {', '.join(empty)}")
    if untitled := [str(int(c[1:]) + 1) for c, v in row.items() if c[0] == "_" and v]:
        errors.append(f"valeur dans une colonne sans titre (colonne {', '.join(untitled)})")
    texts = {}
    for column, attr in TEXT_FIELDS.items():
        value = row.get(column, "")
        limit = cast(String, Volunteer.__table__.c[attr].type).length or 0
        if len(value) > limit:
            errors.append(f"{column} trop long ({len(value)} caractères, {limit} au plus)")
        texts[attr] = value
    email = ""
    if row["email"]:
        try:  # the same rule as the team's and associations' addresses; volunteers' are stored lower-case
            email = check_email(row["email"]).lower()
        except StepRefused as exc:
            errors.append(str(exc)[0].lower() + str(exc)[1:].rstrip("."))
    branch = row.get("antenne", "").upper() or lookup.default_branch
    if branch is None:
        errors.append("antenne manquante : remplissez la colonne antenne ou utilisez --antenne")
    elif branch not in lookup.branches:
        errors.append(f"antenne inconnue « {branch} » (antennes connues : {', '.join(sorted(lookup.branches))})")
    competences = _competences(row.get("competences", ""), lookup, errors)
    flags = {c: _bool(c, row.get(c, ""), errors) for c in ("consentement_annonces", "consentement_national", "relais")}
    availability = AVAILABILITY.get(fold(row.get("disponibilite", "")) or "disponible")
    if availability is None:
        errors.append(
            f"disponibilité « {row['disponibilite']} » invalide (attendu disponible, peu disponible ou indisponible)"
        )
    if errors:
        return "; ".join(errors)
    assert branch is not None and availability is not None
    return VolunteerRecord(
        line=line,
        email=email,
        branch_code=branch,
        competences=competences,
        availability=availability,
        consent_announcements=flags["consentement_annonces"],
        consent_national=flags["consentement_national"],
        is_relay=flags["relais"],
        **texts,
    )
