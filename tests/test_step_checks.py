"""The refusals of each step, as pure functions over the answer (no database, no Prefect server)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from models.rules import MissionSnapshot, MissionStatus
from models.waves import Wave
from tasks.steps import REGISTRY, Ctx, Outcome
from tasks.steps import announcement as ann
from tasks.steps import applications as apps
from tasks.steps import check_in as ci
from tasks.steps import needs_analysis as na
from tasks.steps import review as rv
from tasks.steps import roadmap as rm
from tasks.steps import selection as sel

TODAY = date(2026, 12, 2)


def analysis(**over: object) -> na.NeedsAnalysisForm:
    data = {
        "meeting_date": TODAY,
        "values_accepted": True,
        "title": "Refonte du site",
        "need": "Un site clair.",
        "deliverables": "Un site en ligne.",
        "domain": "web-numerique · Web et numérique",
        "competences": ["site-web · Conception de site internet (Web et numérique)"],
        "effort": "",
        "expected_start": TODAY,
        "expected_end": TODAY + timedelta(days=90),
    }
    return na.NeedsAnalysisForm(**{**data, **over})


def test_needs_analysis_checks() -> None:
    known = {"domains": {"web-numerique"}, "competences": {"site-web"}}
    assert na.check(analysis(), domains=known["domains"], competences=known["competences"]) == []
    errors = na.check(
        analysis(values_accepted=False, expected_end=TODAY - timedelta(days=1), need="  ", competences=[]),
        domains=known["domains"],
        competences=known["competences"],
    )
    assert any("valeurs" in e for e in errors)
    assert any("précède le début" in e for e in errors)
    assert "L'expression du besoin est vide." in errors
    assert "Choisissez au moins une compétence recherchée." in errors
    errors = na.check(
        analysis(domain="inconnu · X", competences=["compta · Comptabilité"]),
        domains=known["domains"],
        competences=known["competences"],
    )
    assert errors == ["Domaine inconnu : « inconnu · X ».", "Compétence(s) inconnue(s) : « compta »."]
    # values checked less than a year ago: the question is not asked again
    assert na.check(analysis(values_accepted=False), **known, values_valid=True) == []


def test_values_check_holds_one_year() -> None:
    from datetime import date

    from models.rules import values_still_valid, values_valid_until

    assert values_valid_until(date(2024, 2, 29)) == date(2025, 2, 28)
    assert values_still_valid(date(2026, 3, 1), date(2027, 2, 28))
    assert not values_still_valid(date(2026, 3, 1), date(2027, 3, 1))
    assert not values_still_valid(None, date(2027, 3, 1))


def test_announcement_checks() -> None:
    assert ann.check(ann.AnnouncementForm(text="Texte")) == []
    assert ann.check(ann.AnnouncementForm(text=" \n ")) == [
        "Le texte de l'annonce est vide : impossible de le faire valider."
    ]


def test_applications_parse_and_checks() -> None:
    assert apps.parse("V-0001 : intéressée\n\n  alice@exemple.fr \nV-3") == [
        ("V-0001", "intéressée"),
        ("alice@exemple.fr", ""),
        ("V-3", ""),
    ]
    assert apps.split_relay("V-0042 VIA  Élodie Fontaine") == ("V-0042", "Élodie Fontaine")
    assert apps.split_relay(" marc@exemple.fr ") == ("marc@exemple.fr", "")
    form = apps.ApplicationsForm(decision=apps.Decision.SELECT)
    branch = {"reached": Wave.BRANCH, "following": None}
    assert apps.check(form, not_found=[], applications=1, **branch) == []
    assert apps.check(form, not_found=[], applications=0, **branch) == [
        "Aucune candidature n'est enregistrée : impossible de passer à la sélection."
    ]
    errors = apps.check(form, not_found=["Bénévole inconnu : « V-9 »."], applications=3, **branch)
    assert errors[-1] == "Aucune candidature ni invitation de ce formulaire n'a été enregistrée."
    widen = apps.ApplicationsForm(decision=apps.Decision.WIDEN)
    assert apps.check(widen, not_found=[], applications=0, **branch) == []
    assert "L'annonce est déjà diffusée au niveau national." in apps.check(
        widen, not_found=[], reached=Wave.NATIONAL, following=None, applications=0
    )
    # The next wave: refused when none is left, with the way beyond the branch.
    following = apps.ApplicationsForm(decision=apps.Decision.NEXT_WAVE)
    assert apps.check(following, not_found=[], reached=Wave.PRIORITY, following=Wave.BRANCH, applications=0) == []
    assert "« élargir la diffusion au national »" in apps.check(following, not_found=[], applications=0, **branch)[0]
    # The scheduler's name sends the next wave, nothing else.
    scheduled = apps.ApplicationsForm(decision=apps.Decision.WAIT, entered_by=apps.SCHEDULER)
    assert "n'envoie que la vague suivante" in apps.check(scheduled, not_found=[], applications=0, **branch)[0]
    typed = apps.ApplicationsForm(decision=apps.Decision.NEXT_WAVE, entered_by=apps.SCHEDULER, applications="V-1")
    assert apps.check(typed, not_found=[], reached=Wave.PRIORITY, following=Wave.BRANCH, applications=0)


def test_selection_checks() -> None:
    def form(selected: list[str], wants: list[str] | None = None) -> sel.SelectionForm:
        return sel.SelectionForm(selected=selected, wants_other=wants or [])

    assert sel.check(form(["V-0001 Alice A"], ["V-0002 Bob B"]), applicants={1, 2}) == []
    assert sel.check(form([]), applicants={1}) == ["Retenez au moins un bénévole."]
    assert sel.check(form(["V-0004 Dan D"]), applicants={1}) == ["V-0004 n'a pas candidaté à cette mission."]
    assert "ne désigne pas un bénévole" in sel.check(form(["Alice"]), applicants={1})[0]
    assert "ne peut pas être aussi « non retenu »" in sel.check(form(["V-1 A"], ["V-1 A"]), applicants={1})[-1]


def test_roadmap_checks_and_legacy_field_names() -> None:
    start, end = TODAY, TODAY + timedelta(days=60)

    def form(objectives: list[dict[str, object]], **over: object) -> rm.RoadmapForm:
        data = {
            "objectives": objectives,
            "start_on": start,
            "end_on": end,
            "validated_by_association": True,
            "validated_on": TODAY,
        }
        return rm.RoadmapForm(**{**data, **over})

    ok = [{"objective": "Maquette", "due_on": start + timedelta(days=10)}]
    assert rm.check(form(ok)) == []
    late = [{"objective": "Site", "due_on": end + timedelta(days=1)}]
    assert rm.check(form(late)) == [
        f"L'échéance de l'objectif 1 ({end + timedelta(days=1):%d/%m/%Y}) est hors de la mission."
    ]
    errors = rm.check(
        form(
            [{"objective": " ", "due_on": start}],
            validated_by_association=False,
            end_on=start - timedelta(days=1),
            decision=rm.Decision.VALIDATE,
        )
    )
    assert len(errors) == 3 and "au moins un objectif" in errors[1]
    # Answers stored before the English field names still load, and dump under the new names.
    legacy = form([{"objectif": "Maquette", "livrable": "PDF", "echeance": str(start)}])
    assert legacy.objectives[0].model_dump() == {"objective": "Maquette", "deliverable": "PDF", "due_on": start}


def test_withdrawal_checks() -> None:
    from tasks.steps import withdrawal as wd

    assert wd.check(withdrawing=True, named=["V-0002 Bob B"], selected={2, 3}) == []
    assert wd.check(withdrawing=True, named=[], selected={2}) == [
        "Indiquez dans « Bénévole(s) qui se désiste(nt) » qui se désiste."
    ]
    assert wd.check(withdrawing=True, named=["V-0004 Dan D"], selected={2}) == [
        "V-0004 n'est pas retenu(e) pour cette mission."
    ]
    assert "ne désigne pas un bénévole" in wd.check(withdrawing=True, named=["Bob"], selected={2})[0]
    assert "n'est rempli qu'avec la décision" in wd.check(withdrawing=False, named=["V-2 B"], selected={2})[0]
    # the forms that offer it: a name without the decision is refused; the decision is a typed value
    named = ci.CheckInForm(held_on=TODAY, withdrawn=["V-0002 Bob B"])
    assert "n'est rempli qu'avec la décision" in ci.check(named, today=TODAY, selected={2})[0]
    leaving = ci.CheckInForm(held_on=TODAY, decision=wd.DECISION, withdrawn=["V-0002 Bob B"])
    assert leaving.decision is ci.Decision.WITHDRAW and ci.check(leaving, today=TODAY, selected={2}) == []
    assert rm.Decision(wd.DECISION) is rm.Decision.WITHDRAW
    # a check-in stored before the field existed still loads
    assert ci.CheckInForm.model_validate({"held_on": str(TODAY), "decision": "poursuivre la mission"}).withdrawn == []


def test_keys_after_a_return() -> None:
    from tasks.steps import CHECK_IN, SELECTION

    assert SELECTION.step_key(1, 0) == "selection" and SELECTION.step_key(1, 2) == "selection-retour-2"
    assert CHECK_IN.step_key(4, 1) == "check-in-4"  # rounds go on numbering
    assert SELECTION.waiting_period(1, 1) == "selection-retour-1" and CHECK_IN.waiting_period(3, 1) == "check-in-3"
    assert REGISTRY["roadmap"].back == {Outcome.WITHDRAWN: "selection"}
    assert REGISTRY["selection"].back == {Outcome.REOPEN: "applications"}
    assert Ctx(1, "selection-retour-1-essai-2-reprise", "x").asked == "selection-retour-1"
    assert Ctx(3, "check-in-3", "x").asked == "check-in-3"


def test_check_in_and_review_checks() -> None:
    assert ci.check(ci.CheckInForm(held_on=TODAY + timedelta(days=1)), today=TODAY) == []
    assert "dans le futur" in ci.check(ci.CheckInForm(held_on=TODAY + timedelta(days=2)), today=TODAY)[0]
    assert rv.check(rv.ReviewForm(held_on=TODAY, association_rating=5, volunteer_rating=1)) == []
    assert rv.check(rv.ReviewForm(held_on=TODAY, association_rating=5)) == [
        "Indiquez les deux notes de satisfaction (1 à 5), ou annulez la mission avec un motif."
    ]


def test_stored_decisions_load_as_typed_values() -> None:
    """The values the previous forms stored (French strings) are the enums' values."""
    assert apps.ApplicationsForm(decision="passer à la sélection").decision is apps.Decision.SELECT
    assert ci.CheckInForm(held_on=TODAY, decision="mission terminée : passer au bilan").decision is ci.Decision.FINISHED
    assert ann.AnnouncementForm(text="x", decision="à réviser").decision is ann.Decision.REVISE
    assert Outcome("select") is Outcome.SELECT


def snapshot(status: MissionStatus, **kw: object) -> MissionSnapshot:
    reached = {s: TODAY - timedelta(days=10) for s in MissionStatus}
    return MissionSnapshot(status, today=TODAY, reached=reached, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "extra", "step"),
    [
        (MissionStatus.REQUESTED, {}, "needs-analysis"),
        (MissionStatus.APPROVED, {}, "diffusion"),
        (MissionStatus.PUBLISHED, {}, "applications"),
        (MissionStatus.PUBLISHED, {"selection_asked_on": TODAY}, "selection"),
        (MissionStatus.IN_PROGRESS, {"roadmap_end": TODAY + timedelta(days=3)}, "check-in"),
        (MissionStatus.IN_PROGRESS, {"roadmap_end": TODAY - timedelta(days=3)}, "review"),
    ],
)
def test_registry_says_where_a_mission_waits(status: MissionStatus, extra: dict[str, object], step: str) -> None:
    waiting = REGISTRY.waiting(snapshot(status, **extra), REGISTRY.levels())
    assert waiting is not None and waiting.step == step


def test_registry_progress_and_levels() -> None:
    assert [REGISTRY.progress(s) for s in MissionStatus if s is not MissionStatus.CANCELLED] == [0, 1, 2, 3, 5, 6, 8]
    assert REGISTRY.levels({"annonce": 5})["annonce"] == 5
    with pytest.raises(ValueError, match="étape\\(s\\) inconnue\\(s\\)"):
        REGISTRY.levels({"annonces": 5})
    assert REGISTRY.passed(MissionStatus.PUBLISHED, REGISTRY["annonce"])
    assert not REGISTRY.passed(MissionStatus.PUBLISHED, REGISTRY["selection"])
