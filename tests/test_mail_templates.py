"""Every mail template, rendered without a database: subject, who it greets, the sentences that matter, and
nothing left unrendered (the environment is StrictUndefined: a missing value fails the test)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from models import Association, Branch, Coordinator, FeeKind, FeeRecord, Mission, PublicSubmission, Volunteer
from models.digest import Digest, NewApplication, NewRequest, Unanswered, WaitingStep
from models.rules import MissionStatus, Waiting
from tasks.compose import compose

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "mail"

branch = Branch(code="STR", name="Strasbourg", region="Grand Est")
association = Association(
    name="Les Restos du Quartier",
    contact_name="Paul Weber",
    contact_email="contact@restos.example",
    contact_phone="03 88 00 00 00",
)
coordinator = Coordinator(first_name="Claire", last_name="Muller", email="claire.muller@pc.example")
mission = Mission(
    reference="STR-2026-014",
    title="Refonte du site internet",
    status=MissionStatus.CANCELLED,
    cancel_reason="L'association a trouvé une solution en interne.",
    association=association,
    coordinator=coordinator,
    branch=branch,
)
volunteer = Volunteer(first_name="Alice", last_name="Martin", email="alice@exemple.fr", profession="Développeuse")
applicant = Volunteer(id=42, first_name="Alice", last_name="Martin", email="alice@exemple.fr")
overdue = SimpleNamespace(
    reference="STR-2026-014",
    association="Les Restos du Quartier",
    coordinator="Claire Muller",
    waiting=Waiting("annonce", date(2026, 11, 1), 7),
)
to_volunteer = {"mission": mission, "volunteer": volunteer, "name": "Alice", "is_volunteer": True}
to_association = {"mission": mission, "name": "Paul Weber", "is_volunteer": False}
association.annual_budget = 80_000
membership = FeeRecord(id=7, kind=FeeKind.MEMBERSHIP, year=2026, amount=120, billed_on=date(2026, 10, 1))
search = FeeRecord(id=8, kind=FeeKind.SEARCH, year=2026, amount=250, billed_on=date(2026, 10, 1))
fee_of = {"association": association, "mission": mission}
lead = Coordinator(first_name="Jean", last_name="Kieffer", email="jean.kieffer@pc.example")
overdue_step = {
    "o": overdue,
    "step": "Validation de l'annonce",
    "days": 20,
    "action": "relancer l'association",
    "url": "http://ui/runs/flow-run/1",
}

request = PublicSubmission(id=7)
request_payload = {
    "association": "Les Amis du Jardin",
    "city": "Colmar",
    "contact_name": "Lucie Roth",
    "domain_name": "Communication",
    "description": "Un plan de communication pour nos 20 ans.",
}

CASES: dict[str, tuple[dict[str, Any], str, str, list[str]]] = {
    # kind: (context, in the subject, greeting, sentences)
    "annonce": (
        {
            "mission": mission,
            "volunteer": volunteer,
            "text": "RECHERCHE BÉNÉVOLE : site",
            "branch": branch,
            "priority": True,
            "apply_url": "http://portail/candidature/T1",
            "preferences_url": "http://portail/p/T2",
            "unsubscribe_url": "http://portail/desinscription/T3",
            "public_url": "http://portail/missions/STR-2026-014",
        },
        "[Strasbourg] Recherche bénévole : Refonte du site internet",
        "Bonjour Alice,",
        [
            "RECHERCHE BÉNÉVOLE : site",
            "vous êtes prioritaire",
            "STR-2026-014",
            "relais",
            "Dites-le en un clic : http://portail/candidature/T1",
            "Pour candidater, en s'inscrivant au passage : http://portail/missions/STR-2026-014",
            "Ne plus recevoir nos annonces : http://portail/desinscription/T3",
            "Vos préférences",
        ],
    ),
    "annonce_to_approve": (
        {**to_association, "text": "RECHERCHE BÉNÉVOLE : site", "url": "http://portail/annonce/T"},
        "[STR-2026-014] Votre annonce à valider",
        "Bonjour Paul Weber,",
        ["RECHERCHE BÉNÉVOLE : site", "aucun compte n'est nécessaire) : http://portail/annonce/T"],
    ),
    "roadmap_to_approve": (
        {
            **to_association,
            "url": "http://portail/feuille-de-route/T",
            "roadmap": {
                "start_on": "2027-01-04",
                "end_on": "2027-03-31",
                "objectives": [{"objective": "Maquette validée", "deliverable": "PDF", "due_on": "2027-02-01"}],
            },
        },
        "[STR-2026-014] Votre feuille de route à valider",
        "Bonjour Paul Weber,",
        [
            "du 4 janvier 2027 au 31 mars 2027",
            "- Maquette validée (PDF), pour le 1 février 2027",
            "http://portail/feuille-de-route/T",
            "clôt la recherche",
        ],
    ),
    "roadmap_to_agree": (
        {
            **to_volunteer,
            "url": "http://portail/accord-feuille-de-route/T",
            "roadmap": {
                "start_on": "2027-01-04",
                "end_on": "2027-03-31",
                "objectives": [{"objective": "Maquette validée", "deliverable": "PDF", "due_on": "2027-02-01"}],
            },
        },
        "[STR-2026-014] Votre feuille de route : êtes-vous d'accord ?",
        "Bonjour Alice,",
        ["avec l'association Les Restos du Quartier", "- Maquette validée (PDF), pour le 1 février 2027", "/T"],
    ),
    "party_answered": (
        {
            "mission": mission,
            "coordinator": coordinator,
            "who": "Alice Martin (bénévole)",
            "what": "demande des modifications à la feuille de route",
            "comment": "Décaler la maquette",
            "step_title": "Feuille de route",
            "run_url": "http://ui/runs/flow-run/1",
        },
        "Alice Martin (bénévole) : demande des modifications",
        "Bonjour Claire,",
        ["« Décaler la maquette »", "http://ui/runs/flow-run/1"],
    ),
    "review_to_give_volunteer": (
        {**to_volunteer, "url": "http://portail/bilan-benevole/T"},
        "[STR-2026-014] Votre bilan de la mission",
        "Bonjour Alice,",
        ["publié seulement avec votre accord", "http://portail/bilan-benevole/T"],
    ),
    "check_in_news": (
        {**to_volunteer, "url": "http://portail/point/T"},
        "Où en est la mission",
        "Bonjour Alice,",
        ["ça avance, une difficulté, ou c'est bloqué", "http://portail/point/T"],
    ),
    "party_reminder": (
        {**to_association, "what": "votre bilan de la mission", "url": "http://portail/bilan/T", "n": 2},
        "Rappel : nous attendons votre bilan de la mission",
        "Bonjour Paul Weber,",
        ["Dernier rappel", "http://portail/bilan/T"],
    ),
    "party_silent": (
        {
            "mission": mission,
            "coordinator": coordinator,
            "who": "Paul Weber (Les Restos du Quartier)",
            "what": "votre bilan de la mission",
            "since": date(2027, 4, 2),
            "run_url": "http://ui/runs/flow-run/1",
        },
        "Sans réponse : Paul Weber",
        "Bonjour Claire,",
        ["n'a pas répondu au lien du 2 avril 2027", "malgré deux rappels"],
    ),
    "signin_link": (
        {"member": coordinator, "url": "http://ui/connexion/lien?jeton=T", "minutes": 15, "purpose": "browser"},
        "Votre lien de connexion à Passerelles",
        "Bonjour Claire,",
        ["http://ui/connexion/lien?jeton=T", "une seule fois et pendant 15 minutes", "Si vous n'avez rien demandé"],
    ),
    "review_to_give": (
        {**to_association, "url": "http://portail/bilan/T"},
        "[STR-2026-014] Votre bilan de la mission",
        "Bonjour Paul Weber,",
        ["donnez-nous votre bilan", "http://portail/bilan/T"],
    ),
    "retention_warning": (
        {
            "volunteer": volunteer,
            "deadline": date(2027, 1, 2),
            "preferences_url": "http://p/pref",
            "unsubscribe_url": "http://p/desinscription",
        },
        "Souhaitez-vous rester bénévole",
        "Bonjour Alice,",
        ["avant le 2 janvier 2027", "Confirmez vos préférences en un clic : http://p/pref"],
    ),
    "application_received": (
        {
            "mission": mission,
            "coordinator": coordinator,
            "volunteer": applicant,
            "message": "Disponible le jeudi.",
            "run_url": "http://ui/runs/flow-run/1",
        },
        "[STR-2026-014] Nouvelle candidature : Alice Martin",
        "Bonjour Claire,",
        [
            "V-0042 Alice Martin s'est positionné(e)",
            "par le lien de l'annonce",
            "Son message : Disponible le jeudi.",
            "http://ui/runs/flow-run/1",
        ],
    ),
    "at_risk": (
        {
            "mission": mission,
            "lead": lead,
            "number": 3,
            "status": "⚠️ à risque",
            "notes": "Le bénévole manque de temps.",
            "run_url": "http://ui/runs/flow-run/1",
        },
        "[STR-2026-014] Mission ⚠️ à risque",
        "Bonjour Jean,",
        ["point de suivi n° 3", "Claire Muller l'a jugée ⚠️ à risque", "Le bénévole manque de temps."],
    ),
    "fee_bill": (
        {**fee_of, "fee": membership, "label": "Cotisation annuelle 2026"},
        "Cotisation annuelle 2026 : 120 € (Les Restos du Quartier)",
        "Bonjour Paul Weber,",
        ["cotisation annuelle 2026 s'élève à 120 €", "80000 €", "référence F-7"],
    ),
    "fee_reminder": (
        {**fee_of, "fee": search, "label": "Participation aux frais de recherche (STR-2026-014)"},
        "Rappel : Participation aux frais de recherche (STR-2026-014) (250 €, F-8)",
        "Bonjour Paul Weber,",
        ["facturée le 01/10/2026, n'est pas encore réglée", "référence F-8"],
    ),
    "fee_waived": (
        {**fee_of, "fee": search, "label": "Participation aux frais de recherche (STR-2026-014)"},
        "Participation aux frais de recherche (STR-2026-014) : exonérée, rien à payer",
        "Bonjour Paul Weber,",
        ["annulée avant qu'un bénévole soit trouvé", "250 € (F-8) est exonérée"],
    ),
    "social_post": (
        {
            "mission": mission,
            "member": lead,
            "text": "Les Restos cherchent un bénévole #solidarité",
            "public_url": "http://portail/missions/STR-2026-014",
        },
        "[STR-2026-014] À publier sur les réseaux sociaux",
        "Bonjour Jean,",
        [
            "#solidarité",
            "passerelles social-posted STR-2026-014 --par jean.kieffer@pc.example",
            "La page publique de l'annonce, à mettre dans la publication",
            "http://portail/missions/STR-2026-014",
        ],
    ),
    "calendar": (
        {
            **to_association,
            "what": "la rencontre pour l'analyse du besoin",
            "when": "lundi 14 décembre 2026 à 14 h 30",
            "cancelled": False,
            "moved": True,
            "ended": "annulée",
        },
        "[STR-2026-014] Nouvelle date : la rencontre pour l'analyse du besoin le lundi 14 décembre 2026 à 14 h 30",
        "Bonjour Paul Weber,",
        [
            "Changement de date : la rencontre pour l'analyse du besoin de la mission « Refonte du site internet » "
            "aura lieu le lundi 14 décembre 2026 à 14 h 30",
            "met votre agenda à jour",
            "claire.muller@pc.example",
        ],
    ),
    "cancelled": (
        {**to_volunteer},
        "Mission annulée",
        "Bonjour Alice,",
        ["est annulée", "Motif : L'association a trouvé une solution en interne.", "d'autres missions"],
    ),
    "completed": (
        {**to_association},
        "est terminée",
        "Bonjour Paul Weber,",
        ["la mission est terminée", "prochain besoin"],
    ),
    "escalation": (
        {**overdue_step, "name": "Jean"},
        "Mission en retard : Validation de l'annonce (20 jours)",
        "Bonjour Jean,",
        ["suivie par Claire Muller", "plus du double du délai prévu (7 jours)", "http://ui/runs/flow-run/1"],
    ),
    "introduction_association": (
        {"mission": mission, "volunteers": [volunteer]},
        "Votre bénévole pour",
        "Bonjour Paul Weber,",
        ["Alice Martin, Développeuse — alice@exemple.fr", "la recherche sera close"],
    ),
    "introduction_volunteer": (
        {**to_volunteer},
        "Mise en contact avec Les Restos du Quartier",
        "Bonjour Alice,",
        ["contact@restos.example, 03 88 00 00 00", "validée par l'association"],
    ),
    "reserve": (
        {**to_volunteer, "priority": True, "domain": "Web et numérique", "priority_url": "http://p/priorite/t"},
        "Votre candidature : en réserve",
        "Bonjour Alice,",
        ["votre candidature reste en réserve", "prioritaire dans le domaine « Web et numérique »"],
    ),
    "digest": (
        {
            "member": coordinator,
            "day": date(2026, 12, 8),
            "waiting_url": "http://ui/runs?state=Suspended",
            "d": Digest(
                waiting=(
                    WaitingStep("STR-2026-014", "Les Restos", "Candidatures", date(2026, 12, 1), "http://ui/r/1"),
                ),
                requests=(NewRequest("STR-2026-015", "Les Restos", "Site", datetime(2026, 12, 7, 9, tzinfo=UTC)),),
                applications=(
                    NewApplication("STR-2026-014", "Alice Martin", "invitation", datetime(2026, 12, 7, tzinfo=UTC)),
                ),
                unanswered=(Unanswered("STR-2026-013", "Paul Weber", "votre bilan de la mission", date(2026, 12, 2)),),
            ),
        },
        "À traiter aujourd'hui : 4 point(s) — 8 décembre 2026",
        "Bonjour Claire,",
        [
            "- STR-2026-014 (Les Restos) : Candidatures, depuis le 1 décembre 2026 — http://ui/r/1",
            "- STR-2026-015 : « Site » (Les Restos)",
            "- STR-2026-014 : Alice Martin (invitation)",
            "- STR-2026-013 : Paul Weber, votre bilan de la mission, envoyé le 2 décembre 2026",
        ],
    ),
    "invitation": (
        {
            "mission": mission,
            "volunteer": volunteer,
            "branch": branch,
            "coordinator": coordinator,
            "text": "RECHERCHE BÉNÉVOLE : site",
            "apply_url": "http://portail/candidature/T1",
            "preferences_url": "http://portail/p/T2",
            "unsubscribe_url": "http://portail/desinscription/T3",
        },
        "[STR-2026-014] Claire vous invite à candidater : Refonte du site internet",
        "Bonjour Alice,",
        [
            "Claire Muller, Passerelle de l'antenne de Strasbourg",
            "RECHERCHE BÉNÉVOLE : site",
            "Dites-le en un clic : http://portail/candidature/T1",
            "Ne plus recevoir nos annonces : http://portail/desinscription/T3",
        ],
    ),
    "reminder": (
        {**overdue_step, "name": "Claire"},
        "Rappel : Validation de l'annonce en attente depuis 20 jours",
        "Bonjour Claire,",
        ["le délai prévu est de 7 jours", "Prochaine action : relancer l'association."],
    ),
    "search_closed": (
        {**to_volunteer},
        "Recherche close : Refonte du site internet",
        "Bonjour Alice,",
        ["la feuille de route a été validée"],
    ),
    "selected": (
        {**to_volunteer},
        "Vous êtes retenu(e)",
        "Bonjour Alice,",
        ["vous êtes retenu(e) pour la mission « Refonte du site internet »", "claire.muller@pc.example"],
    ),
    "undelivered": (
        {
            "mission": mission,
            "coordinator": coordinator,
            "to": "alice@exemple.fr",
            "failed_subject": "Recherche bénévole",
            "error": "550 5.1.1 Boîte inconnue",
        },
        "[STR-2026-014] Mail non remis à alice@exemple.fr",
        "Bonjour Claire,",
        ["« Recherche bénévole »", "550 5.1.1 Boîte inconnue", "La mission, elle, continue."],
    ),
    "withdrawal_association": (
        {**to_association, "volunteers": [volunteer], "reason": "Mutation professionnelle"},
        "[STR-2026-014] Désistement : la recherche reprend",
        "Bonjour Paul Weber,",
        ["Alice Martin s'est désisté(e)", "Motif : Mutation professionnelle", "La recherche reprend"],
    ),
    "withdrawal_volunteer": (
        {**to_volunteer},
        "Votre désistement de la mission",
        "Bonjour Alice,",
        ["bien noté votre désistement", "Les Restos du Quartier", "claire.muller@pc.example"],
    ),
    "confirm_address": (
        {"form_kind": "demande", "url": "http://portail/confirmation/x", "hours": 48, "name": "Paul Weber"},
        "Confirmez votre demande de mission",
        "Bonjour Paul Weber,",
        ["http://portail/confirmation/x", "une seule fois et pendant 48 heures", "rien n'est enregistré"],
    ),
    "new_request": (
        {"lead": lead, "request": request, "p": request_payload, "run_url": "http://ui/runs/flow-run/9"},
        "Nouvelle demande D-0007 : Les Amis du Jardin",
        "Bonjour Jean,",
        ["Les Amis du Jardin (Colmar)", "a confirmé son adresse", "http://ui/runs/flow-run/9"],
    ),
    "request_accepted": (
        {"request": request, "p": request_payload, "mission": mission, "coordinator": coordinator},
        "[STR-2026-014] Votre demande de mission est acceptée",
        "Bonjour Lucie Roth,",
        ["La mission porte la référence STR-2026-014", "Claire Muller la suit", "claire.muller@pc.example"],
    ),
    "request_declined": (
        {"request": request, "p": request_payload, "reason": "Hors de notre champ d'action."},
        "Votre demande de mission D-0007",
        "Bonjour Lucie Roth,",
        ["pour cette raison : Hors de notre champ d'action."],
    ),
    "mission_moved": (
        {
            "mission": mission,
            "coordinator": coordinator,
            "from_branch": "MUL",
            "reason": "l'association a déménagé",
            "run_url": "http://ui/runs/flow-run/1",
        },
        "[STR-2026-014] Mission confiée à l'antenne STR",
        "Bonjour Claire,",
        [
            "passe de l'antenne MUL à l'antenne Strasbourg : vous la suivez désormais.",
            "Motif : l'association a déménagé",
            "Sa référence ne change pas.",
        ],
    ),
    "waiting": (
        {
            "mission": mission,
            "coordinator": coordinator,
            "step_title": "Analyse du besoin",
            "instructions": "Rencontrez l'association.",
            "run_url": "http://ui/runs/flow-run/1",
            "waiting_url": "http://ui/runs?state=Suspended",
        },
        "[STR-2026-014] À vous : Analyse du besoin",
        "Bonjour Claire,",
        ["attend votre saisie : Analyse du besoin", "Rencontrez l'association.", "http://ui/runs/flow-run/1"],
    ),
}


def test_a_relay_gets_a_version_to_forward() -> None:
    relay = Volunteer(first_name="Bruno", last_name="Relais", email="bruno@exemple.fr", is_relay=True)
    mail = compose(
        "annonce",
        mission=mission,
        volunteer=relay,
        text="RECHERCHE BÉNÉVOLE : site",
        branch=branch,
        priority=False,
        apply_url="u1",
        preferences_url="u2",
        unsubscribe_url="u3",
        relay_url="http://portail/relais/R7",
        public_url="http://portail/missions/STR-2026-014",
    )
    forward = mail.text.split("--- À transférer ---")[1].split("--- Fin ---")[0]
    assert "RECHERCHE BÉNÉVOLE : site" in forward and "Bonjour" not in forward
    assert "écrivez à claire.muller@pc.example" in forward and "de la part de Bruno Relais" in forward
    assert not {"u1", "u2", "u3"} & set(forward.split())  # no link of the relay's own in what is forwarded
    # but their forwarding link: who follows it signs up and applies « via » them
    assert "Pour candidater, en s'inscrivant au passage : http://portail/relais/R7" in forward
    assert "/missions/" not in forward


def test_every_annonce_says_to_forward_the_text_not_the_mail() -> None:
    """Whoever receives a forwarded mail could act as its volunteer (their links): the mail says to copy the part
    meant for others, which carries none of them."""
    someone = Volunteer(first_name="Léa", last_name="Martin", email="lea@exemple.fr", is_relay=False)
    mail = compose(
        "annonce",
        mission=mission,
        volunteer=someone,
        text="RECHERCHE BÉNÉVOLE : site",
        branch=branch,
        priority=False,
        apply_url="u1",
        preferences_url="u2",
        unsubscribe_url="u3",
        public_url="http://portail/missions/STR-2026-014",
    )
    assert "Ne transférez pas ce mail entier : ses liens sont à votre nom" in mail.text
    forward = mail.text.split("--- À transférer ---")[1].split("--- Fin ---")[0]
    assert not {"u1", "u2", "u3"} & set(forward.split()) and "de la part de" not in forward
    assert "http://portail/missions/STR-2026-014" in forward  # the annonce's public page, anyone may apply there


def test_every_template_has_a_case() -> None:
    kinds = {p.name.removesuffix(".txt.j2") for p in TEMPLATES.glob("*.txt.j2")}
    assert kinds == set(CASES)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_mail_template(kind: str) -> None:
    context, subject, greeting, sentences = CASES[kind]
    mail = compose(kind, **context)
    assert subject in mail.subject and "\n" not in mail.subject
    assert mail.text.startswith(greeting)
    for sentence in sentences:
        assert sentence in mail.text, sentence
    for part in (mail.subject, mail.text, mail.html):
        assert "{{" not in part and "{%" not in part and "None" not in part
    assert mail.html.startswith("<!DOCTYPE html>") and greeting.rstrip(",") in mail.html


@pytest.mark.parametrize("priority", [False, True])
@pytest.mark.parametrize("relay", [False, True])
@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("Alice", "Martin"),
        ("Éloïse", "Lefèvre-Dupré"),
        ("Jean Pierre", "N'Diaye"),
        ("Zoé", "<b>&amp;"),
        ("Ana", "www.exemple.fr"),
        ("Tom", "tom@exemple.fr"),
        ("Lou", "https://apply.zzpc.invalid/zz"),
    ],
)
def test_the_annonce_rendered_once_then_personalised_is_the_mail_rendered_per_volunteer(
    priority: bool, relay: bool, first: str, last: str
) -> None:
    from tasks.diffusion import Annonce
    from tasks.links import annonce_url

    links = {
        "apply_url": "https://portail.example/candidature/eyJ2Ijo0Mn0.aB-c_d",
        "preferences_url": "https://portail.example/preferences/eyJ2Ijo0Mn0.Zz9",
        "unsubscribe_url": "https://portail.example/desinscription/eyJ2Ijo0Mn0.Q-q",
    }
    if relay:
        links["relay_url"] = "https://portail.example/relais/eyJyIjo0Mn0.Rr-1"
    text = "Les Restos du Quartier cherchent un·e bénévole : site web, https://restos.example & co."
    person = SimpleNamespace(first_name=first, last_name=last, is_relay=relay)
    annonce = Annonce(mission, branch, text)
    for _ in range(2):  # the variant's second use too
        got = annonce.content(person, priority, links)
        who = Volunteer(first_name=first, last_name=last, is_relay=relay)
        assert got == compose(
            "annonce",
            mission=mission,
            volunteer=who,
            text=text,
            branch=branch,
            priority=priority,
            public_url=annonce_url("STR-2026-014"),
            **links,
        )


def test_a_message_written_directly_reads_as_the_email_package_builds_it() -> None:
    import email
    import email.policy

    from models.outbox import OutboxMail
    from tasks.outbox import message_id
    from tasks.smtp import build_message, message_bytes

    cases = [
        OutboxMail(
            id=7,
            dedup_key="m1:annonce:v3",
            kind="annonce",
            to_address="alice@exemple.fr",
            reply_to="claire.muller@pc.example",
            list_unsubscribe="https://p.example/desinscription/abc.d-e",
            subject="[Strasbourg] Recherche bénévole : refonte du site « Les Restos » " * 2,
            text_body="Bonjour Alice,\n\n. une ligne qui commence par un point\n" + "é" * 200 + "\n= égal\n",
            html_body="<p>Bonjour <b>Alice</b> =3D</p>\n",
        ),
        OutboxMail(
            id=8,
            dedup_key="org:fee:1",
            kind="fee",
            to_address="contact@restos.example",
            reply_to="",
            list_unsubscribe="",
            subject="Cotisation 2026",
            text_body="Bonjour,\r\nmerci.\n",
            html_body="",
        ),
        OutboxMail(
            id=9,
            dedup_key="m1:x:y",
            kind="x",
            to_address="élodie@exemple.fr",
            reply_to="",
            list_unsubscribe="",
            subject="Non-ASCII address",
            text_body="Bonjour\n",
            html_body="",
        ),
    ]
    for row in cases:
        direct = email.message_from_bytes(message_bytes(row, message_id(row)), policy=email.policy.default)
        built = email.message_from_bytes(build_message(row, message_id(row)).as_bytes(), policy=email.policy.default)
        for header in (
            "From",
            "To",
            "Subject",
            "Message-ID",
            "Reply-To",
            "List-Unsubscribe",
            "List-Unsubscribe-Post",
            "X-Passerelles-Kind",
        ):
            assert direct[header] == built[header], header
        assert direct.get_content_type() == built.get_content_type()
        for kind in ("plain", "html"):
            a, b = direct.get_body((kind,)), built.get_body((kind,))
            assert (a is None) == (b is None)
            if a is not None and b is not None:
                assert a.get_content().replace("\r\n", "\n") == b.get_content().replace("\r\n", "\n"), kind
        assert all(len(line) <= 998 for line in message_bytes(row, message_id(row)).split(b"\r\n"))
