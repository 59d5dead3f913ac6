"""The regional / national report: pure rules, SQL aggregation on both databases, renderings, the flow."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.bench_report import build_report_naive
from models import (
    Application,
    ApplicationStatus,
    Branch,
    Domain,
    FeeKind,
    FeeRecord,
    FeeStatus,
    Mission,
    MissionStatus,
    ObjectivesMet,
    Review,
    StoredFile,
)
from models.db import unit_of_work
from models.report_rules import (
    CountRow,
    ReportParameterError,
    artifact_key,
    check_branch_codes,
    check_period,
    make_funnel,
    median,
    rate,
    report_slug,
)
from models.settings import get_settings
from tasks.report_rendering import CSV_HEADER, render_csv, render_html, render_markdown
from tasks.reports import build_report
from tests import factories as f

# --- Pure rules -----------------------------------------------------------------------------------


def test_period_must_not_be_inverted() -> None:
    check_period(date(2014, 1, 1), date(2014, 1, 1))
    with pytest.raises(ReportParameterError, match="La date de fin précède la date de début"):
        check_period(date(2014, 12, 31), date(2014, 1, 1))


def test_branch_codes_are_normalised_and_checked() -> None:
    assert check_branch_codes([" str", "MUL", "STR", ""], ["STR", "MUL", "MET"]) == ["MUL", "STR"]
    assert check_branch_codes([], ["STR"]) == []
    with pytest.raises(ReportParameterError, match=r"Antennes inconnues : XXX, YYY\. Antennes connues : MUL, STR"):
        check_branch_codes(["XXX", "str", "yyy"], ["STR", "MUL"])


def test_median_and_rates() -> None:
    assert median([]) is None
    assert median([3]) == 3.0
    assert median([5, 1, 3]) == 3.0
    assert median([4, 1, 3, 2]) == 2.5
    assert rate(3, 4) == 0.75
    assert rate(1, 3) == 0.3333
    assert rate(1, 0) is None


def test_funnel_conversions() -> None:
    steps = make_funnel([10, 8, 4, 4, 0], {"annonce": 3.456, "selection": 10.0})
    assert [s.count for s in steps] == [10, 8, 4, 4, 0]
    assert [s.rate_previous for s in steps] == [None, 0.8, 0.5, 1.0, 0.0]
    assert [s.rate_start for s in steps] == [None, 0.8, 0.4, 0.4, 0.0]
    assert [s.median_days for s in steps] == [None, 3.46, 10.0, None, None]
    assert make_funnel([0, 0, 0, 0, 0], {})[1].rate_previous is None


def test_slug_and_artifact_keys() -> None:
    start, end = date(2014, 1, 1), date(2014, 12, 31)
    assert report_slug(["MUL", "STR"], start, end) == "rapport-MUL-STR-2014-01-01_2014-12-31"
    assert report_slug([], start, end) == "rapport-national-2014-01-01_2014-12-31"
    many = report_slug([f"B{i:02d}" for i in range(12)], start, end)
    assert many.startswith("rapport-12-antennes-") and len(many) < 60
    key = artifact_key(report_slug(["STR"], start, end), "domaines")
    assert key == "rapport-str-2014-01-01-2014-12-31-domaines"
    assert set(key) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")


# --- A small hand-made data set -------------------------------------------------------------------


def at(day: date, days: float = 0) -> datetime:
    """10:00 UTC on `day`, plus some days."""
    return datetime(day.year, day.month, day.day, 10, tzinfo=UTC) + timedelta(days=days)


STEP_COLS = ("analysed_at", "approved_at", "published_at", "selected_at", "started_at", "completed_at")


def seed(session: Session) -> None:
    """Three branches, nine missions; the expected figures in the tests below are worked out by hand."""
    comm, fin = Domain(code="communication", name="Communication"), Domain(code="finance", name="Finance et gestion")
    session.add_all([comm, fin])
    str_, mul = f.branch(session, "STR"), f.branch(session, "MUL")
    f.branch(session, "MET")  # a branch with no mission
    coord = {b.code: f.coordinator(session, b, "Claire", b.code) for b in (str_, mul)}
    asso = {
        b.code: f.association(session, b, f"Asso {b.code}", annual_budget=50_000, contact_email=f"a-{b.code}@ex.org")
        for b in (str_, mul)
    }
    vols = [f.volunteer(session, str_, email=f"v{i}@ex.org") for i in range(1, 5)]
    v = {i: vol.id for i, vol in enumerate(vols, 1)}
    seqs: dict[tuple[str, int], int] = {}

    def mission(
        branch: Branch,
        requested: date,
        domain: Domain | None,
        steps: dict[str, float],
        status: MissionStatus,
        **extra: object,
    ) -> Mission:
        seq = seqs[(branch.code, requested.year)] = seqs.get((branch.code, requested.year), 0) + 1
        m = Mission(
            reference=f"{branch.code}-{requested.year}-{seq:03d}",
            branch_id=branch.id,
            year=requested.year,
            seq=seq,
            association_id=asso[branch.code].id,
            coordinator_id=coord[branch.code].id,
            title="Mission",
            domain_id=domain.id if domain else None,
            status=status,
            requested_at=at(requested),
            **{c: at(requested, d) for c, d in steps.items()},
            **extra,
        )
        session.add(m)
        session.flush()
        return m

    def full(pub: float, sel: float, start: float, done: float | None = None) -> dict[str, float]:
        steps = {
            "analysed_at": pub - 3,
            "approved_at": pub - 1,
            "published_at": pub,
            "selected_at": sel,
            "started_at": start,
        }
        return steps | ({"completed_at": done} if done is not None else {})

    done, cancelled = MissionStatus.COMPLETED, MissionStatus.CANCELLED
    m1 = mission(str_, date(2014, 2, 1), comm, full(10, 20, 30, 90), done)
    m2 = mission(str_, date(2014, 3, 1), comm, full(12, 22, 40, 110), done)
    m3 = mission(str_, date(2014, 5, 1), fin, full(6, 30, 35), MissionStatus.IN_PROGRESS)
    mission(
        str_,
        date(2014, 6, 1),
        fin,
        {"analysed_at": 2, "approved_at": 7, "published_at": 8, "cancelled_at": 50},
        cancelled,
        cancel_reason="L'association a trouvé  une solution en interne",
        cancelled_from=MissionStatus.PUBLISHED,
    )
    mission(str_, date(2014, 11, 1), None, {}, MissionStatus.REQUESTED)
    m6 = mission(str_, date(2013, 11, 15), comm, full(10, 40, 50, 110), done)
    mission(
        str_,
        date(2014, 12, 20),
        None,
        {"cancelled_at": 21},
        cancelled,
        cancel_reason="Injoignable",
        cancelled_from=MissionStatus.REQUESTED,
    )
    mission(str_, date(2014, 9, 1), None, {"cancelled_at": 14}, cancelled, cancelled_from=MissionStatus.REQUESTED)
    m9 = mission(mul, date(2014, 4, 1), comm, full(10, 20, 25, 60), done)
    m10 = mission(mul, date(2012, 3, 1), comm, full(5, 19, 31, 92), done)

    sel, other = ApplicationStatus.SELECTED, ApplicationStatus.NOT_SELECTED
    for m, apps in (
        (m1, [(1, sel), (2, other)]),
        (m2, [(3, sel), (1, other), (4, other)]),
        (m3, [(2, sel)]),
        (m6, [(1, sel)]),
        (m9, [(4, sel)]),
        (m10, [(3, sel)]),
    ):
        for vid, status in apps:
            session.add(
                Application(
                    mission_id=m.id, volunteer_id=v[vid], status=status, applied_at=published(m) + timedelta(days=2)
                )
            )
    for m, ar, vr, obj, a_redo, v_redo in (
        (m1, 5, 4, "yes", True, True),
        (m2, 3, 4, "partly", False, True),
        (m6, 4, 2, "no", False, False),
        (m9, 5, 5, "yes", True, True),
    ):
        session.add(
            Review(
                mission_id=m.id,
                held_on=completed(m).date(),
                association_rating=ar,
                volunteer_rating=vr,
                objectives_met=ObjectivesMet(obj),
                association_would_redo=a_redo,
                volunteer_would_redo=v_redo,
            )
        )
    fees = [
        ("STR", None, FeeKind.MEMBERSHIP, 2014, 60, FeeStatus.PAID, date(2014, 1, 31)),
        ("STR", m1, FeeKind.SEARCH, 2014, 150, FeeStatus.PAID, date(2014, 2, 15)),
        ("STR", m2, FeeKind.SEARCH, 2014, 150, FeeStatus.DUE, date(2014, 3, 15)),
        ("STR", m3, FeeKind.SEARCH, 2014, 150, FeeStatus.WAIVED, date(2014, 5, 15)),
        ("STR", None, FeeKind.MEMBERSHIP, 2013, 60, FeeStatus.PAID, date(2013, 1, 31)),
        ("MUL", None, FeeKind.MEMBERSHIP, 2014, 30, FeeStatus.PAID, date(2014, 1, 31)),
    ]
    for i, (code, fee_mission, kind, year, amount, fee_status, due) in enumerate(fees):
        session.add(
            FeeRecord(
                key=f"fee:{i}",
                association_id=asso[code].id,
                mission_id=fee_mission.id if fee_mission else None,
                kind=kind,
                year=year,
                amount=amount,
                status=fee_status,
                due_on=due,
            )
        )
    session.commit()


YEAR_2014 = {"start": date(2014, 1, 1), "end": date(2014, 12, 31)}


def test_report_of_one_branch_is_exact(session: Session) -> None:
    seed(session)
    r = build_report(session, branch_codes=["str"], **YEAR_2014)

    assert [(b.code, b.name) for b in r.branches] == [("STR", "Strasbourg")] and not r.national
    assert [(d.domain, d.requested, d.started, d.completed, d.cancelled) for d in r.domains] == [
        ("Communication", 2, 3, 3, 0),
        ("Finance et gestion", 2, 1, 0, 1),
        ("Non renseigné", 3, 0, 0, 1),
    ]
    assert (r.total("requested"), r.total("started"), r.total("completed"), r.total("cancelled")) == (7, 4, 3, 2)
    assert r.statuses == (
        CountRow("Demandée", 1),
        CountRow("En cours (recherche close)", 1),
        CountRow("Terminée", 2),
        CountRow("Annulée", 3),
    )
    # The reason's doubled space is normalised; the empty reason gets a label.
    assert r.cancel_reasons == (
        CountRow("L'association a trouvé une solution en interne", 1),
        CountRow("Motif non précisé", 1),
    )
    assert r.cancelled_from == (CountRow("Annonce diffusée", 1), CountRow("Demandée", 1))

    assert [(s.key, s.count, s.rate_previous, s.rate_start, s.median_days) for s in r.funnel] == [
        ("demande", 7, None, None, None),
        ("annonce", 4, 0.5714, 0.5714, 9.0),  # delays 10, 12, 6, 8: even count, mean of 8 and 10
        ("selection", 3, 0.75, 0.4286, 10.0),  # 10, 10, 24
        ("feuille-de-route", 3, 1.0, 0.4286, 10.0),  # 10, 18, 5
        ("bilan", 2, 0.6667, 0.2857, 65.0),  # 60, 70
    ]
    assert r.median_total_days == 100.0  # 90, 110

    a = r.applications
    assert (a.announcements, a.applications, a.without_application, a.median_per_announcement, a.per_announcement) == (
        4,
        6,
        1,
        1.5,
        1.5,
    )
    assert a.by_channel == (("réponse à l'annonce (mail)", 6),)
    # v1 was selected in 2013 (STR) and v3 in 2012 (MUL): only v2 is newly engaged.
    assert (r.volunteers.applicants, r.volunteers.engaged, r.volunteers.newly_engaged) == (4, 3, 1)

    s = r.satisfaction
    assert (s.reviews, s.association_rating, s.volunteer_rating) == (3, 4.0, 3.33)
    assert [o.count for o in s.objectives] == [1, 1, 1]
    assert (s.association_would_redo, s.volunteer_would_redo) == (1, 2)

    assert [(f.kind, f.records, f.total, f.due, f.billed, f.paid, f.waived, f.outstanding) for f in r.fees] == [
        ("Cotisations annuelles", 1, 60, 0, 0, 60, 0, 0),
        ("Participations aux frais de recherche", 3, 450, 150, 0, 150, 150, 150),
        ("Total", 4, 510, 150, 0, 210, 150, 150),
    ]
    assert [(y.branch_code, y.year, y.requested, y.started, y.completed, y.cancelled) for y in r.yearly] == [
        ("STR", 2014, 7, 4, 3, 2)
    ]


def test_yearly_breakdown_and_national_scope(session: Session) -> None:
    seed(session)
    r = build_report(session, branch_codes=["STR"], start=date(2013, 1, 1), end=date(2014, 12, 31))
    assert [(y.year, y.requested, y.started, y.completed, y.cancelled) for y in r.yearly] == [
        (2013, 1, 0, 0, 0),
        (2014, 7, 4, 3, 2),
    ]
    national = build_report(session, branch_codes=None, **YEAR_2014)
    assert national.national and [b.code for b in national.branches] == ["MET", "MUL", "STR"]
    assert national.total("requested") == 8
    assert [(y.branch_code, y.year, y.requested) for y in national.yearly] == [("MUL", 2014, 1), ("STR", 2014, 7)]
    assert national.fees[-1].total == 540
    # v4 selected on M9 (MUL) for the first time.
    assert (national.volunteers.engaged, national.volunteers.newly_engaged) == (4, 2)


def test_empty_period_and_unknown_branch(session: Session) -> None:
    seed(session)
    r = build_report(session, branch_codes=["MET"], **YEAR_2014)
    assert r.domains == () and r.funnel[0].count == 0 and r.funnel[1].rate_previous is None
    assert r.applications.median_per_announcement is None and r.satisfaction.association_rating is None
    assert r.yearly == () and r.fees == tuple(r.fees[:2])
    with pytest.raises(ReportParameterError, match="Antenne inconnue : XYZ"):
        build_report(session, branch_codes=["XYZ"], **YEAR_2014)
    with pytest.raises(ReportParameterError, match="précède"):
        build_report(session, branch_codes=None, start=date(2015, 1, 1), end=date(2014, 1, 1))


@pytest.mark.parametrize("codes", [["STR"], ["STR", "MUL"], None])
def test_naive_version_agrees_with_sql(session: Session, codes: list[str] | None) -> None:
    seed(session)
    for period in (YEAR_2014, {"start": date(2012, 1, 1), "end": date(2015, 6, 30)}):
        assert build_report_naive(session, branch_codes=codes, **period) == build_report(
            session, branch_codes=codes, **period
        )


def test_demo_data_shows_strasbourg_by_year(session: Session) -> None:
    from deployments import demo
    from deployments.demo import data as demo_data

    demo.seed(session)
    session.commit()
    r = build_report(session, branch_codes=["STR"], start=date(2009, 1, 1), end=date(2015, 12, 31))
    by_year = {y.year: y.requested for y in r.yearly}
    assert by_year == {year: demo_data.STRASBOURG_VOLUMES[year] for year in range(2009, 2016)}
    year_2014 = build_report(session, branch_codes=["STR"], **YEAR_2014)
    assert year_2014.total("requested") == demo_data.STRASBOURG_VOLUMES[2014]
    assert 105 <= year_2014.total("completed") <= 125  # the association's « 114 missions réalisées en 2014 »
    assert f"**{year_2014.total('completed')} missions réalisées**" in render_markdown(year_2014)
    assert year_2014.funnel[-1].count > 0 and year_2014.satisfaction.reviews > 0 and year_2014.fees[-1].total > 0
    assert build_report_naive(session, branch_codes=["STR"], **YEAR_2014) == year_2014


# --- Renderings -----------------------------------------------------------------------------------


def test_html_csv_and_markdown(session: Session) -> None:
    seed(session)
    r = build_report(session, branch_codes=["STR", "MUL"], start=date(2013, 1, 1), end=date(2014, 12, 31))

    html = render_html(r, generated_at=datetime(2015, 1, 5, tzinfo=UTC))
    assert (
        html.count("<svg") >= 4
        and "<script" not in html
        and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )
    for heading in (
        "Missions par domaine",
        "Entonnoir : de la demande au bilan",
        "Satisfaction",
        "Cotisations et participations",
        "Missions par année",
        "Strasbourg (STR)",
    ):
        assert heading in html
    assert "généré le 5 janvier 2015" in html and "L&#39;association a trouvé" in html

    rows = list(csv.reader(io.StringIO(render_csv(r)), delimiter=";"))
    assert tuple(rows[0]) == CSV_HEADER and all(len(row) == 4 for row in rows)
    assert ["Missions par domaine", "Communication", "Demandées", "4"] in rows  # M1, M2, M6 (STR), M9 (MUL)
    assert ["Missions par antenne et par année", "Strasbourg (STR) 2013", "Demandées", "1"] in rows
    assert [
        "Entonnoir des missions demandées sur la période",
        "Annonce diffusée",
        "Délai médian depuis l'étape précédente (jours)",
        "10,0",
    ] in rows

    md = render_markdown(
        r, html_url="https://ui.example/fichiers/1/r.html", csv_url="https://ui.example/fichiers/2/r.csv"
    )
    assert "# Rapport d'activité du 1 janvier 2013 au 31 décembre 2014" in md
    assert "| Annonce diffusée |" in md and "[Rapport HTML avec graphiques](https://ui.example/fichiers/1/r.html)" in md
    assert "(https://ui.example/fichiers/2/r.csv)" in md


# --- The flow, against a real Prefect server ------------------------------------------------------


def published(m: Mission) -> datetime:
    assert m.published_at is not None
    return m.published_at


def completed(m: Mission) -> datetime:
    assert m.completed_at is not None
    return m.completed_at


@pytest.mark.slow
def test_flow_keeps_files_and_links_them_in_artifacts(prefect_server: object, app_db: object) -> None:
    import json

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    from flows.regional_report import regional_report
    from models.db import session_factory

    with session_factory(app_db)() as s:  # type: ignore[arg-type]
        seed(s)
    state = regional_report(antennes=["str", "MUL"], debut=date(2014, 1, 1), fin=date(2014, 12, 31), return_state=True)
    out = state.result()

    slug = "rapport-MUL-STR-2014-01-01_2014-12-31"
    with session_factory(app_db)() as s:  # type: ignore[arg-type]
        html_file, csv_file = s.scalars(select(StoredFile).order_by(StoredFile.id)).all()
        html, csv_text = html_file.content.decode("utf-8"), csv_file.content.decode("utf-8-sig")
    # Kept in the database, served by the sign-in gateway at its public address (tests/test_report_files.py)
    assert out["html"] == f"{get_settings().public_base_url}/fichiers/{html_file.id}/{slug}.html"
    assert out["csv"] == f"{get_settings().public_base_url}/fichiers/{csv_file.id}/{slug}.csv"
    assert (html_file.kind, html_file.branches, html_file.media_type) == (
        "rapport",
        "MUL,STR",
        "text/html; charset=utf-8",
    )

    with get_client(sync_client=True) as client:  # the run's name says the scope and the period (issue 25)
        run_id = state.state_details.flow_run_id
        assert run_id is not None and client.read_flow_run(run_id).name == slug
    assert (out["missions_demandees"], out["missions_terminees"], out["missions_annulees"]) == (8, 4, 2)
    assert "<svg" in html
    rows = list(csv.reader(io.StringIO(csv_text), delimiter=";"))
    assert tuple(rows[0]) == CSV_HEADER

    key = "rapport-mul-str-2014-01-01-2014-12-31"
    assert out["artefacts"] == {
        "resume": key,
        "domaines": f"{key}-domaines",
        "annees": f"{key}-annees",
        "entonnoir": f"{key}-entonnoir",
        "html": f"{key}-html",
        "csv": f"{key}-csv",
    }
    with get_client(sync_client=True) as client:
        # Keys are per report, so other runs of the same report add versions: keep this run's.
        found = {
            a.key: a
            for a in client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(any_=list(out["artefacts"].values())),
                    flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]),
                )
            )
        }
    assert set(found) == set(out["artefacts"].values())
    summary = found[key]
    data = str(summary.data)
    assert summary.type == "markdown" and "Antennes : Mulhouse, Strasbourg" in data
    assert "| Annonce diffusée | 5 |" in data
    # The summary links the files; so do the link artifacts
    assert f"]({out['html']})" in data and f"]({out['csv']})" in data
    assert found[f"{key}-html"].type == "markdown" and out["html"] in str(found[f"{key}-html"].data)
    assert out["csv"] in str(found[f"{key}-csv"].data)
    domains = found[f"{key}-domaines"].data
    table = cast(list[dict[str, Any]], json.loads(domains) if isinstance(domains, str) else domains)
    assert {"Domaine": "Communication", "Demandées": 3, "Démarrées": 4, "Réalisées": 4, "Annulées": 0} in table
    years = found[f"{key}-annees"].data
    years = cast(list[dict[str, Any]], json.loads(years) if isinstance(years, str) else years)
    assert {
        "Antenne": "Strasbourg (STR)",
        "Année": 2014,
        "Demandées": 7,
        "Démarrées": 4,
        "Réalisées": 3,
        "Annulées": 2,
    } in years


@pytest.mark.slow
def test_flow_fails_in_french_on_bad_parameters(prefect_server: object, app_db: object) -> None:
    from prefect.client.orchestration import get_client

    from flows.regional_report import regional_report

    state = regional_report(antennes=["XYZ"], debut=date(2014, 1, 1), fin=date(2014, 12, 31), return_state=True)
    assert state.is_failed() and "Antenne inconnue : XYZ" in str(state.message)
    state = regional_report(debut=date(2014, 12, 31), fin=date(2014, 1, 1), return_state=True)
    assert state.is_failed() and "La date de fin précède la date de début" in str(state.message)
    with get_client(sync_client=True) as client:
        assert state.state_details.flow_run_id is not None
        run = client.read_flow_run(state.state_details.flow_run_id)
    assert run.state is not None and run.state.is_failed()
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(StoredFile)) == 0
