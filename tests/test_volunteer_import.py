"""CSV import of volunteers: pure parsing and validation, the database part on SQLite and PostgreSQL, the CLI."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deployments.admin import import_volunteers_command as main
from models import Branch, Competence, ConsentRecord, Volunteer, VolunteerCompetence, VolunteerEvent
from models.db import session_factory, unit_of_work
from models.reference_data import TAXONOMY, ensure_reference_data
from models.volunteer import Availability
from tasks.volunteer_csv import BATCH, ImportRefused, Lookup, VolunteerRecord, parse_csv, validate_row
from tasks.volunteer_import import import_volunteers
from tests import factories as f

HEADER = (
    "prenom;nom;email;antenne;competences;telephone;ville;profession;"
    "consentement_annonces;consentement_national;relais;disponibilite"
)
GOOD = "Alice;Martin;alice.martin@example.fr;STR;site-web:3;0601020304;Strasbourg;Développeuse;oui;non;x;disponible"
COLUMNS = HEADER.split(";")
LOOKUP = Lookup.build([(c, n) for _, _, items in TAXONOMY for c, n in items], ["STR", "MUL"], None)


def csv_bytes(*rows: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode(encoding)


def cells(**changes: str) -> list[str]:
    """The cells of GOOD with some replaced, by column name."""
    values = dict(zip(COLUMNS, GOOD.split(";"), strict=True))
    values.update(changes)
    return list(values.values())


def row(**changes: str) -> str:
    """GOOD with some cells replaced, as a CSV line (quoted where needed)."""
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="").writerow(cells(**changes))
    return out.getvalue()


def setup_db(session: Session) -> None:
    ensure_reference_data(session)
    f.branch(session, "STR")
    f.branch(session, "MUL")
    session.commit()


def emails(engine: Engine) -> list[str]:
    with session_factory(engine)() as s:
        return sorted(s.scalars(select(Volunteer.email)))


def count(engine: Engine) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(Volunteer)) or 0


# --- pure parsing and validation -------------------------------------------------------------------------------


def test_parse_detects_comma_and_tolerates_bom_case_accents_spaces() -> None:
    data = "\ufeff Prénom ,NOM,E-mail, Consentement annonces \nÉlodie,Roth,e@x.fr,oui\n".encode()
    parsed = parse_csv(data)
    assert parsed.columns == ["prenom", "nom", "email", "consentement_annonces"]
    assert parsed.rows == [(2, ["Élodie", "Roth", "e@x.fr", "oui"])]


def test_parse_semicolon_skips_blank_lines_and_reports_start_line_of_multiline_rows() -> None:
    data = b'prenom;nom;email;profession\n\n;;;\nA;B;a@x.fr;"chef\nde projet"\nC;D;c@x.fr;\n'
    parsed = parse_csv(data)
    assert [line for line, _ in parsed.rows] == [4, 6]
    assert parsed.rows[0][1][3] == "chef\nde projet"


def test_validate_good_row_with_names_codes_and_levels() -> None:
    values = cells(
        competences="Comptabilité associative:1, referencement seo ; SITE WEB:expert",
        antenne="str",
        email="Alice.Martin@Example.FR",
        disponibilite="Peu disponible",
    )
    record = validate_row(2, COLUMNS, values, LOOKUP)
    assert isinstance(record, VolunteerRecord)
    assert record.email == "alice.martin@example.fr"
    assert record.branch_code == "STR"
    assert record.competences == {"comptabilite": 1, "referencement": 2, "site-web": 3}
    assert (record.consent_announcements, record.consent_national, record.is_relay) == (True, False, True)
    assert record.availability is Availability.LIMITED


def test_validate_competence_name_with_a_comma() -> None:
    record = validate_row(2, COLUMNS, cells(competences="Réseau, matériel et sécurité:3,rgpd"), LOOKUP)
    assert isinstance(record, VolunteerRecord)
    assert record.competences == {"reseau-materiel": 3, "rgpd": 2}


def test_validate_reports_every_problem_of_a_row() -> None:
    reason = validate_row(2, COLUMNS, cells(email="x", relais="peut-être"), LOOKUP)
    assert reason == (
        "l'adresse e-mail « x » n'a pas de « @ » : une adresse s'écrit nom@domaine, par exemple "
        "prenom.nom@exemple.fr; valeur « peut-être » invalide pour relais (attendu oui ou non)"
    )


def test_default_branch_fills_missing_column() -> None:
    lookup = Lookup.build([("site-web", "Conception de site internet")], ["STR"], "str")
    record = validate_row(2, ["prenom", "nom", "email"], ["A", "B", "a@x.fr"], lookup)
    assert isinstance(record, VolunteerRecord) and record.branch_code == "STR"


# --- bad rows: reported with a French reason, the other rows imported -----------------------------------------

BAD_ROWS = [
    pytest.param(row(email="jean.dupont@"), "l'adresse e-mail « jean.dupont@ » n'a rien après le « @ »", id="email"),
    pytest.param(
        row(email="jean dupont@example.fr"), "« jean dupont@example.fr » contient une espace", id="email-space"
    ),
    pytest.param(
        row(email="Émilie.Schmitt@example.fr"),
        "contient « É » avant le « @ » : la plupart des serveurs",
        id="email-accent",
    ),
    pytest.param(
        row(competences="site internet:3"),
        "compétence inconnue « site internet » ; vouliez-vous dire « site-web » ?",
        id="competence",
    ),
    pytest.param(row(competences="plomberie"), "compétence inconnue « plomberie »", id="competence-no-hint"),
    pytest.param(
        row(competences="site-web:4"), "niveau « 4 » invalide pour « site-web » (attendu 1, 2 ou 3)", id="level"
    ),
    pytest.param(row(competences="site-web:deux"), "niveau « deux » invalide", id="level-word"),
    pytest.param(
        row(competences="site-web:3; Conception de site internet"),
        "compétence « site-web » indiquée deux fois",
        id="competence-twice",
    ),
    pytest.param(row(antenne="PAR"), "antenne inconnue « PAR » (antennes connues : MUL, STR)", id="branch"),
    pytest.param(
        row(antenne=""), "antenne manquante : remplissez la colonne antenne ou utilisez --antenne", id="no-branch"
    ),
    pytest.param(
        row(consentement_annonces="peut-être"),
        "valeur « peut-être » invalide pour consentement_annonces (attendu oui ou non)",
        id="boolean",
    ),
    pytest.param(
        row(disponibilite="bof"),
        "disponibilité « bof » invalide (attendu disponible, peu disponible ou indisponible)",
        id="availability",
    ),
    pytest.param(GOOD + ";en trop", "13 cellules au lieu de 12", id="too-many-cells"),
    pytest.param("Bob;Durand;bob@example.fr", "3 cellules au lieu de 12", id="too-few-cells"),
    pytest.param(row(prenom="", email=""), "champ obligatoire vide : prenom, email", id="required"),
    pytest.param(row(nom="N" * 81), "nom trop long (81 caractères, 80 au plus)", id="too-long"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_ROWS)
def test_bad_row_is_rejected_and_the_good_one_imported(session: Session, db: Engine, bad: str, message: str) -> None:
    setup_db(session)
    good = row(email="bob.good@example.fr")
    report = import_volunteers(session, csv_bytes(good, bad))
    session.commit()
    assert (report.rows_read, report.imported) == (2, 1)
    assert [(r.line, message in r.reason) for r in report.rejected] == [(3, True)], report.rejected
    assert emails(db) == ["bob.good@example.fr"]


def test_duplicate_in_file_differing_by_case_names_the_first_line(session: Session, db: Engine) -> None:
    setup_db(session)
    data = csv_bytes(row(), row(email="bob@example.fr"), row(email="Alice.MARTIN@example.fr", prenom="Alicia"))
    report = import_volunteers(session, data)
    session.commit()
    assert report.imported == 2
    [rejected] = report.rejected
    assert rejected.line == 4
    assert rejected.reason == "e-mail « Alice.MARTIN@example.fr » en double dans le fichier (déjà ligne 2)"
    with session_factory(db)() as s:
        assert s.scalar(select(Volunteer.first_name).where(Volunteer.email == "alice.martin@example.fr")) == "Alice"


def test_known_volunteers_are_updated_column_by_column(session: Session, db: Engine) -> None:
    setup_db(session)
    strasbourg = session.scalars(select(Branch).where(Branch.code == "STR")).one()
    f.volunteer(
        session,
        strasbourg,
        first_name="Ancienne",
        last_name="Martin",
        email="alice.martin@example.fr",
        consent_announcements=True,
        competences={"site-web": 1},
        phone="0601020304",
        city="Strasbourg",
        profession="Développeuse",
        is_relay=True,
    )
    f.volunteer(
        session,
        strasbourg,
        first_name="Bob",
        last_name="Same",
        email="bob@example.fr",
        consent_announcements=True,
        competences={"site-web": 3},
        phone="0601020304",
        city="Strasbourg",
        profession="Développeuse",
        is_relay=True,
    )
    session.commit()
    data = csv_bytes(
        row(email="ALICE.Martin@Example.fr", prenom="Alice", consentement_annonces="non", telephone=""),
        row(email="b@example.fr"),
        row(email="bob@example.fr", prenom="Bob", nom="Same", consentement_annonces="oui"),
    )
    dry = import_volunteers(session, data, dry_run=True)
    session.commit()
    assert (dry.imported, dry.unchanged, len(dry.changed)) == (1, 1, 1)
    assert emails(db) == ["alice.martin@example.fr", "bob@example.fr"]  # the dry run wrote nothing
    report = import_volunteers(session, data)
    session.commit()
    assert (report.imported, report.unchanged, report.rejected) == (1, 1, [])
    [changed] = report.changed
    assert changed.line == 2 and changed.label.endswith("<alice.martin@example.fr>")
    assert changed.fields == [
        ("prénom", "Ancienne", "Alice"),
        ("consentement annonces", "oui", "non"),
        ("compétences", "site-web:1", "site-web:3"),
    ]  # the empty phone cell kept the stored number
    assert changed.fields == dry.changed[0].fields
    with session_factory(db)() as s:
        alice = s.scalars(select(Volunteer).where(Volunteer.email == "alice.martin@example.fr")).one()
        assert (alice.first_name, alice.consent_announcements, alice.phone) == ("Alice", False, "0601020304")
        assert alice.name_key == "alice martin"
        # consents keep their source: the new volunteer's given, Alice's withdrawn; the update is in her record
        records = sorted(
            (c.volunteer_id == alice.id, c.kind.value, c.granted, c.source.value)
            for c in s.scalars(select(ConsentRecord))
        )
        assert records == [(False, "announcements", True, "import"), (True, "announcements", False, "import")]
        [event] = s.scalars(select(VolunteerEvent)).all()
        assert event.volunteer_id == alice.id and event.actor == "import CSV"
        assert "consentement annonces : oui → non" in event.changes["changes"]
    assert emails(db) == ["alice.martin@example.fr", "b@example.fr", "bob@example.fr"]


# --- the whole file refused: nothing written ---------------------------------------------------------------------

REFUSED = [
    pytest.param(b"", "Le fichier est vide.", id="empty"),
    pytest.param(b"\n \n", "Le fichier est vide.", id="blank"),
    pytest.param(
        csv_bytes(), "Le fichier ne contient que la ligne d'en-tête : aucun bénévole à importer.", id="header-only"
    ),
    pytest.param(
        csv_bytes("Alice;a@x.fr", header="Prénom;ville"),
        "Colonnes obligatoires manquantes : « nom », « email ». Colonnes trouvées : « Prénom », « ville ».",
        id="missing-columns",
    ),
    pytest.param(
        csv_bytes("A;B;a@x.fr;x;y", header="prenom;nom;email;competance;date"),
        "Colonnes inconnues : « competance » (vouliez-vous dire « competences » ?), « date ».",
        id="unknown-columns",
    ),
    pytest.param(
        csv_bytes("A;B;a@x.fr;b@x.fr", header="prenom;nom;email;E-mail"),
        "Colonnes en double : « email ».",
        id="double-column",
    ),
    pytest.param(
        csv_bytes(GOOD, "Zoé;Müller;zoe@example.fr;STR;;;Colmar;;;;;", encoding="cp1252"),
        "Le fichier n'est pas encodé en utf-8 (caractère illisible ligne 2). "
        "S'il vient d'Excel, relancez avec --encodage cp1252.",
        id="encoding",
    ),
]


@pytest.mark.parametrize(("data", "message"), REFUSED)
def test_refused_file_writes_nothing(session: Session, db: Engine, data: bytes, message: str) -> None:
    setup_db(session)
    with pytest.raises(ImportRefused) as refused:
        import_volunteers(session, data)
    assert message in str(refused.value)
    session.commit()
    assert count(db) == 0


def test_utf8_file_read_as_cp1252_is_refused(session: Session, db: Engine) -> None:
    setup_db(session)
    with pytest.raises(ImportRefused) as refused:
        import_volunteers(session, csv_bytes(row(prenom="Zoé")), encoding="cp1252")
    assert str(refused.value) == "Le fichier est encodé en UTF-8, pas en cp1252 : relancez sans --encodage."
    session.commit()
    assert count(db) == 0


def test_unknown_default_branch_refuses_the_file(session: Session, db: Engine) -> None:
    setup_db(session)
    with pytest.raises(ImportRefused, match="Antenne inconnue : « PAR » \\(option --antenne\\)"):
        import_volunteers(session, csv_bytes(row(antenne="")), default_branch_code="PAR")
    session.commit()
    assert count(db) == 0


def test_cp1252_file_with_the_right_encoding(session: Session, db: Engine) -> None:
    setup_db(session)
    data = csv_bytes("Zoé;Müller;zoe@example.fr;;Comptabilité associative:3;;;;;;;peu disponible", encoding="cp1252")
    report = import_volunteers(session, data, encoding="cp1252", default_branch_code="MUL")
    session.commit()
    assert (report.imported, report.rejected) == (1, [])
    with session_factory(db)() as s:
        volunteer = s.scalars(select(Volunteer)).one()
        assert (volunteer.first_name, volunteer.last_name) == ("Zoé", "Müller")
        assert volunteer.availability is Availability.LIMITED


# --- happy path and atomicity ------------------------------------------------------------------------------------


def test_happy_path_several_rows_and_competences(session: Session, db: Engine) -> None:
    setup_db(session)
    data = (
        "\ufeffPrénom,Nom,Email,Antenne,Compétences,Relais,Disponibilité\n"
        'Alice,Martin,Alice.Martin@Example.fr,STR,"site-web:3; comptabilite:1",oui,\n'
        'Bruno,Keller,bruno@example.fr,mul,"Recrutement; Fiches de poste et entretiens annuels:expert",,indisponible\n'
        "Chloé,Weber,chloe@example.fr,STR,,non,peu disponible\n"
    ).encode()
    seen: list[tuple[int, int]] = []
    report = import_volunteers(session, data, progress=lambda done, total: seen.append((done, total)))
    session.commit()
    assert (report.rows_read, report.imported, report.rejected) == (3, 3, [])
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
    with session_factory(db)() as s:
        rows = s.execute(
            select(Volunteer.email, Branch.code, Competence.code, VolunteerCompetence.level)
            .join(Branch, Branch.id == Volunteer.branch_id)
            .outerjoin(VolunteerCompetence, VolunteerCompetence.volunteer_id == Volunteer.id)
            .outerjoin(Competence, Competence.id == VolunteerCompetence.competence_id)
            .order_by(Volunteer.email, Competence.code)
        ).all()
        assert [tuple(r) for r in rows] == [
            ("alice.martin@example.fr", "STR", "comptabilite", 1),
            ("alice.martin@example.fr", "STR", "site-web", 3),
            ("bruno@example.fr", "MUL", "fiches-de-poste", 3),
            ("bruno@example.fr", "MUL", "recrutement", 2),
            ("chloe@example.fr", "STR", None, None),
        ]
        bruno = s.scalars(select(Volunteer).where(Volunteer.email == "bruno@example.fr")).one()
        flags = (bruno.is_relay, bruno.consent_announcements, bruno.availability)
        assert flags == (False, False, Availability.UNAVAILABLE)


def many_rows(n: int) -> bytes:
    return csv_bytes(*(row(email=f"benevole{i}@example.fr") for i in range(n)))


def test_failure_half_way_leaves_nothing(db: Engine) -> None:
    with session_factory(db)() as s:
        setup_db(s)
    written: list[int] = []

    def progress(done: int, total: int) -> None:
        if done == BATCH + 20:
            written.append(session.scalar(select(func.count()).select_from(Volunteer)) or 0)
            raise RuntimeError("panne au milieu de l'import")

    with pytest.raises(RuntimeError, match="panne"), unit_of_work(db) as session:
        import_volunteers(session, many_rows(BATCH + 50), progress=progress)
    assert written and written[0] >= BATCH  # rows really reached the database before the failure
    assert count(db) == 0


def test_competing_insert_aborts_the_whole_import(db: Engine) -> None:
    with session_factory(db)() as s:
        setup_db(s)
        branch_id = s.scalar(select(Branch.id).where(Branch.code == "STR"))

    def competitor(done: int, total: int) -> None:
        # After the duplicate check, before the first write: another process registers row 8's volunteer.
        if done == 0:
            with db.begin() as conn:
                conn.execute(
                    insert(Volunteer).values(
                        branch_id=branch_id, first_name="Concurrent", last_name="X", email="benevole6@example.fr"
                    )
                )

    with pytest.raises(IntegrityError), unit_of_work(db) as session:
        import_volunteers(session, many_rows(10), progress=competitor)
    assert emails(db) == ["benevole6@example.fr"]


# --- the command line --------------------------------------------------------------------------------------------


def test_cli_end_to_end_with_rejects_report_and_reimport(
    app_db: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with session_factory(app_db)() as s:
        setup_db(s)
    source = tmp_path / "benevoles.csv"
    source.write_bytes(
        csv_bytes(
            row(), row(email="bob@example.fr", competences="site interne:2"), row(email="carla@example.fr", antenne="")
        )
    )
    rejects = tmp_path / "rejets.csv"

    assert main([str(source), "--rapport", str(rejects)]) == 1
    out = capsys.readouterr().out
    assert "Lignes lues : 3" in out
    assert "Nouveaux bénévoles : 1" in out
    assert "Lignes rejetées : 2" in out
    assert "ligne 3 : compétence inconnue « site interne » ; vouliez-vous dire « site-web » ?" in out
    assert "ligne 4 : antenne manquante" in out
    with rejects.open(encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f, delimiter=";"))
    assert table[0] == ["motif", *COLUMNS]
    assert [r[0].split(" : ")[0] for r in table[1:]] == ["ligne 3", "ligne 4"]
    assert table[1][3] == "bob@example.fr"

    # The support team fixes the cells in place and re-imports the same file, motif column included.
    table[1][5] = "site-web:2"
    table[2][4] = "MUL"
    with rejects.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f, delimiter=";").writerows(table)
    assert main([str(rejects), "--antenne", "STR"]) == 0
    assert "Nouveaux bénévoles : 2" in capsys.readouterr().out
    assert emails(app_db) == ["alice.martin@example.fr", "bob@example.fr", "carla@example.fr"]


def test_cli_refused_file_and_encoding_option(
    app_db: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with session_factory(app_db)() as s:
        setup_db(s)
    source = tmp_path / "excel.csv"
    source.write_bytes(csv_bytes(row(prenom="Zoé", email="zoe@example.fr"), encoding="cp1252"))
    assert main([str(source)]) == 2
    out = capsys.readouterr().out
    assert "Fichier refusé, rien n'a été importé." in out
    assert "caractère illisible ligne 2" in out and "--encodage cp1252" in out
    assert count(app_db) == 0

    assert main([str(source), "--encodage", "cp1252"]) == 0
    assert "Nouveaux bénévoles : 1" in capsys.readouterr().out
    assert emails(app_db) == ["zoe@example.fr"]

    assert main([str(tmp_path / "absent.csv")]) == 2
    assert "Impossible de lire" in capsys.readouterr().out


def test_untitled_columns_are_ignored_only_when_empty() -> None:
    parsed = parse_csv(b"prenom;nom;email;;\nA;B;a@x.fr;;\nC;D;c@x.fr;;oups\n")
    lookup = Lookup.build([], ["STR"], "STR")
    assert isinstance(validate_row(2, parsed.columns, parsed.rows[0][1], lookup), VolunteerRecord)
    reason = validate_row(3, parsed.columns, parsed.rows[1][1], lookup)
    assert reason == "valeur dans une colonne sans titre (colonne 5)"


# --- competences an update would remove ------------------------------------------------------------------------------


def _competences(engine: Engine, email: str) -> dict[str, int]:
    with session_factory(engine)() as s:
        rows = s.execute(
            select(Competence.code, VolunteerCompetence.level)
            .join(VolunteerCompetence, VolunteerCompetence.competence_id == Competence.id)
            .join(Volunteer, Volunteer.id == VolunteerCompetence.volunteer_id)
            .where(Volunteer.email == email)
        ).all()
    return dict(rows)


def test_an_update_keeps_the_competences_the_file_omits_unless_told_to_replace_them(
    session: Session, db: Engine
) -> None:
    setup_db(session)
    strasbourg = session.scalars(select(Branch).where(Branch.code == "STR")).one()
    f.volunteer(session, strasbourg, email="alice.martin@example.fr", competences={"comptabilite": 1, "site-web": 1})
    session.commit()
    data = csv_bytes(row(competences="site-web:3; rgpd:2"))

    dry = import_volunteers(session, data, dry_run=True, replace_competences=True)
    session.commit()
    assert [(o.line, o.competences, o.removed) for o in dry.omitted] == [(2, "comptabilite:1", True)]
    assert ("compétences", "comptabilite:1, site-web:1", "rgpd:2, site-web:3") in dry.changed[0].fields
    assert _competences(db, "alice.martin@example.fr") == {"comptabilite": 1, "site-web": 1}  # nothing written

    kept = import_volunteers(session, data)
    session.commit()
    assert [(o.competences, o.removed) for o in kept.omitted] == [("comptabilite:1", False)]
    assert ("compétences", "comptabilite:1, site-web:1", "comptabilite:1, rgpd:2, site-web:3") in kept.changed[0].fields
    assert _competences(db, "alice.martin@example.fr") == {"comptabilite": 1, "rgpd": 2, "site-web": 3}

    again = import_volunteers(session, data)  # the same file again: nothing changes, the kept one is still said
    session.commit()
    assert (again.unchanged, again.changed, [o.removed for o in again.omitted]) == (1, [], [False])

    replaced = import_volunteers(session, data, replace_competences=True)
    session.commit()
    assert [(o.competences, o.removed) for o in replaced.omitted] == [("comptabilite:1", True)]
    assert _competences(db, "alice.martin@example.fr") == {"rgpd": 2, "site-web": 3}
    with session_factory(db)() as s:
        notes = [e.changes for e in s.scalars(select(VolunteerEvent).order_by(VolunteerEvent.id))]
    assert any("comptabilite:1, rgpd:2, site-web:3 → rgpd:2, site-web:3" in str(n) for n in notes)


def test_cli_says_which_competences_an_update_removes_and_needs_the_option(
    app_db: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with session_factory(app_db)() as s:
        setup_db(s)
        strasbourg = s.scalars(select(Branch).where(Branch.code == "STR")).one()
        f.volunteer(s, strasbourg, email="alice.martin@example.fr", competences={"comptabilite": 1, "site-web": 1})
        s.commit()
    source = tmp_path / "mise-a-jour.csv"
    source.write_bytes(csv_bytes(row(competences="site-web:3")))

    assert main([str(source), "--essai", "--remplacer-competences"]) == 0
    out = capsys.readouterr().out
    assert "Compétences absentes du fichier, seraient retirées (--remplacer-competences) : 1 bénévole(s)" in out
    assert "  ligne 2 : " in out and "<alice.martin@example.fr> — seraient retirées : comptabilite:1" in out
    assert _competences(app_db, "alice.martin@example.fr") == {"comptabilite": 1, "site-web": 1}

    assert main([str(source), "--essai"]) == 0
    out = capsys.readouterr().out
    assert (
        "Compétences absentes du fichier, gardées : 1 bénévole(s) ; pour les retirer, relancez avec "
        "--remplacer-competences." in out
    )
    assert "— gardées : comptabilite:1" in out

    assert main([str(source)]) == 0
    assert "— gardées : comptabilite:1" in capsys.readouterr().out
    assert _competences(app_db, "alice.martin@example.fr") == {"comptabilite": 1, "site-web": 3}

    assert main([str(source), "--remplacer-competences"]) == 0
    out = capsys.readouterr().out
    assert "Compétences absentes du fichier, retirées (--remplacer-competences) : 1 bénévole(s)" in out
    assert "— retirées : comptabilite:1" in out
    assert _competences(app_db, "alice.martin@example.fr") == {"site-web": 3}
