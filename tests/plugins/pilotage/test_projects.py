"""Projects through their pages: every field, the activity feed from the audit log,
milestones, comments, who may edit, bad input, other communes, what citizens read."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from plugins.pilotage import projects
from plugins.pilotage.models import Milestone, Project
from tests.plugins.pilotage.helpers import (
    OTHER,
    PILOTAGE,
    audit_actions,
    page,
    project_form,
    rows,
    says,
)
from tests.plugins.pilotage.test_referentiel import adopt


def create(client, **values):
    return client.submit(f"{PILOTAGE}/projets/nouveau", project_form(**values))


def test_a_project_with_every_field_and_its_activity_feed(app, client, team):
    client.login(team.maire.email)
    adopt(client, "ecoles", "batiments-scolaires")
    sent = create(
        client,
        themes=["batiments-scolaires"],
        lead=str(team.adjoint.id),
        members=[str(team.conseiller.id), str(team.agent.id)],
        citizen_summary="Une école mieux isolée pour la rentrée 2027.",
        published="y",
    )
    assert sent.status_code == 302
    [project] = rows(app, Project)
    assert sent.headers["Location"].endswith(f"{PILOTAGE}/projets/{project.id}")
    assert project.budget_committed == Decimal("45000.50")
    assert (project.lead_id, project.progress, project.published) == (team.adjoint.id, 30, True)
    shown = page(client, f"{PILOTAGE}/projets/{project.id}")
    for text in (
        "Rénovation de l&#39;école",
        "En cours",
        "Sur la bonne voie",
        "Paul Girard",
        "Julie Morel, Nadia Benali",
        "Bâtiments et fonctionnement des écoles",
        "1 septembre 2026",
        "120\u202f000,00\xa0€",
        "a créé le projet",
    ):
        assert text in shown, text
    # The adjoint (its lead) moves it on; the feed names what changed.
    adjoint = app.test_client()
    adjoint.login(team.adjoint.email)
    changed = adjoint.submit(
        f"{PILOTAGE}/projets/{project.id}/modifier",
        project_form(
            themes=["batiments-scolaires"],
            lead=str(team.adjoint.id),
            members=[str(team.conseiller.id), str(team.agent.id)],
            citizen_summary="Une école mieux isolée pour la rentrée 2027.",
            published="y",
            progress="60",
            health="a_risque",
            health_reason="Le devis du chauffagiste dépasse le budget.",
        ),
    )
    assert changed.status_code == 302
    feed = page(client, f"{PILOTAGE}/projets/{project.id}")
    assert "a modifié le projet" in feed and "(health, health_reason, progress)" in feed
    assert "Le devis du chauffagiste dépasse le budget." in feed
    assert audit_actions(app) == [
        "pilotage.referentiel_loaded",
        "pilotage.themes_adopted",
        "pilotage.project_created",
        "pilotage.project_updated",
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"title": ""}, "Donnez un titre au projet."),
        ({"end_date": "2026-08-01"}, "La date de fin doit venir après la date de début."),
        ({"start_date": "2026-13-45"}, "Indiquez une date valide"),
        ({"budget_planned": "-5"}, "Le montant doit être positif (ou nul)."),
        ({"budget_spent": "beaucoup"}, "Indiquez un montant en euros"),
        ({"budget_planned": "NaN"}, "Le montant doit être positif (ou nul)."),
        ({"progress": "150"}, "L&#39;avancement est un nombre entier de 0 à 100."),
        ({"progress": "dix"}, "L&#39;avancement est un nombre entier de 0 à 100."),
        ({"status": "fini"}, "Choisissez un statut dans la liste."),
        ({"health": "bloque"}, "Dites pourquoi le projet est à risque ou bloqué."),
        ({"lead": "999999"}, "La personne choisie n&#39;est pas membre de l&#39;équipe"),
        ({"themes": ["budget-vote"]}, "Choisissez des thèmes adoptés par la commune."),
        ({"published": "y"}, "Écrivez le résumé destiné aux habitants avant de le publier."),
    ],
)
def test_bad_project_input_is_refused_with_a_french_message_and_nothing_written(
    app, client, team, values, message
):
    client.login(team.maire.email)
    refused = create(client, **values)
    assert refused.status_code == 400
    assert message in refused.get_data(as_text=True)
    assert 'role="alert"' in refused.get_data(as_text=True)
    assert rows(app, Project) == []


def test_a_citizen_cannot_be_a_projects_lead_nor_a_member_of_another_commune(
    app, client, team, other_commune, make_member
):
    stranger = make_member(other_commune, "maire")
    client.login(team.maire.email)
    for who in (team.habitant, stranger):
        refused = create(client, lead=str(who.id))
        assert refused.status_code == 400
        assert rows(app, Project) == []


def test_who_may_create_and_edit_a_project(app, client, team):
    client.login(team.conseiller.email)
    assert create(client, title="Projet de Nadia").status_code == 302
    [project] = rows(app, Project)
    agent = app.test_client()
    agent.login(team.agent.email)
    assert agent.get(f"{PILOTAGE}/projets/nouveau").status_code == 403
    assert agent.get(f"{PILOTAGE}/projets/{project.id}").status_code == 200  # sees it
    assert agent.get(f"{PILOTAGE}/projets/{project.id}/modifier").status_code == 403
    adjoint = app.test_client()
    adjoint.login(team.adjoint.email)  # neither its lead nor in its team
    refused = adjoint.submit(
        f"{PILOTAGE}/projets/{project.id}/modifier",
        project_form(title="Repris"),
        page=f"{PILOTAGE}/projets/{project.id}",
    )
    assert refused.status_code == 403
    maire = app.test_client()
    maire.login(team.maire.email)  # the maire edits every project
    edited = maire.submit(
        f"{PILOTAGE}/projets/{project.id}/modifier",
        project_form(title="Repris par le maire", members=[str(team.agent.id)]),
    )
    assert edited.status_code == 302
    # Now in its team, the agent may edit it.
    assert agent.get(f"{PILOTAGE}/projets/{project.id}/modifier").status_code == 200
    assert [p.title for p in rows(app, Project)] == ["Repris par le maire"]


def test_milestones_and_comments(app, client, team):
    client.login(team.maire.email)
    create(client)
    [project] = rows(app, Project)
    url = f"{PILOTAGE}/projets/{project.id}"
    no_date = client.submit(f"{url}/jalons", {"milestone_title": "Appel d'offres"}, page=url)
    assert no_date.status_code == 400
    assert "Indiquez la date du jalon." in no_date.get_data(as_text=True)
    added = client.submit(
        f"{url}/jalons",
        {"milestone_title": "Appel d'offres", "milestone_date": "2026-11-15"},
        page=url,
    )
    assert added.status_code == 302
    [milestone] = rows(app, Milestone)
    client.submit(f"{url}/jalons/{milestone.id}", page=url)
    assert rows(app, Milestone)[0].done is True
    empty = client.submit(f"{url}/commentaires", {"body": "  "}, page=url)
    assert empty.status_code == 400
    nadia = app.test_client()
    nadia.login(team.conseiller.email)
    assert (
        nadia.submit(f"{url}/commentaires", {"body": "J'ai appelé l'architecte."}).status_code
        == 302
    )
    shown = page(client, url)
    assert "J&#39;ai appelé l&#39;architecte." in shown and "Nadia Benali" in shown
    assert "a ajouté un jalon" in shown and "a marqué un jalon comme atteint" in shown
    assert "a commenté" in shown
    # Someone outside its team may comment but not add milestones.
    refused = nadia.submit(
        f"{url}/jalons", {"milestone_title": "X", "milestone_date": "2026-12-01"}, page=url
    )
    assert refused.status_code == 403


def test_the_list_filters_and_pages_the_projects(app, client, team):
    client.login(team.maire.email)
    for n in range(27):
        create(client, title=f"Projet {n:02d}", status="idee" if n % 3 else "en_cours")
    first = page(client, f"{PILOTAGE}/projets")
    assert "27 projets" in first and "Page 1 sur 2" in first
    second = page(client, f"{PILOTAGE}/projets?page=2")
    assert "Page 2 sur 2" in second
    running = page(client, f"{PILOTAGE}/projets?statut=en_cours")
    assert "9 projets" in running
    found = page(client, f"{PILOTAGE}/projets?q=Projet 1")
    assert "10 projets" in found
    # Nonsense filters are ignored, not a 500.
    assert "27 projets" in page(client, f"{PILOTAGE}/projets?statut=zzz&page=-4")


def test_another_communes_project_answers_404_and_its_members_see_none(
    app, client, team, other_commune, make_member, enable_module
):
    client.login(team.maire.email)
    create(client, title="Secret de Faux-Villecerf")
    [project] = rows(app, Project)
    enable_module(other_commune, "pilotage")
    outsider = app.test_client()
    outsider.login(make_member(other_commune, "maire").email)
    for url in (f"/projets/{project.id}", f"/projets/{project.id}/modifier"):
        assert outsider.get(f"{OTHER}{url}").status_code == 404
        assert outsider.get(f"{PILOTAGE}{url}").status_code == 403
    assert "Secret" not in page(outsider, f"{OTHER}/projets")
    refused = outsider.submit(
        f"{OTHER}/projets/{project.id}/commentaires", {"body": "Coucou"}, page=f"{OTHER}/projets"
    )
    assert refused.status_code == 404


def test_citizens_read_only_the_published_summaries(app, client, team):
    client.login(team.maire.email)
    create(
        client, title="Projet publié", citizen_summary="Ce que les habitants lisent.", published="y"
    )
    create(client, title="Projet interne", citizen_summary="Pas encore.")
    citizen = app.test_client()
    citizen.login(team.habitant.email)
    shown = page(citizen, f"{PILOTAGE}/projets-publics")
    assert "Projet publié" in shown and "Ce que les habitants lisent." in shown
    assert "Projet interne" not in shown
    assert citizen.get(f"{PILOTAGE}/projets").status_code == 403


def test_the_timeline_shows_dated_projects_and_their_milestones(app, client, team):
    client.login(team.maire.email)
    create(client, title="Rénovation de l'école")
    [project] = rows(app, Project)
    url = f"{PILOTAGE}/projets/{project.id}"
    client.submit(
        f"{url}/jalons", {"milestone_title": "Chantier", "milestone_date": "2027-07-01"}, page=url
    )
    shown = page(client, f"{PILOTAGE}/calendrier")
    assert says(shown, "Rénovation de l'école") and "Chantier — 1 juillet 2027" in shown
    assert '<svg class="pilotage-bar"' in shown and 'aria-hidden="true"' in shown
    # The span is the current term (a project of 2026-2027 does not shrink it).
    start, end = projects.mandate(dt.date.today())
    assert f"Le mandat en cours va de mars {start} à mars {end}." in shown
    assert f"de 1 janvier {start} à 31 décembre {end}." in shown


def test_the_term_is_six_years_from_a_march_election():
    assert projects.mandate(dt.date(2026, 11, 23)) == (2026, 2032)
    assert projects.mandate(dt.date(2026, 2, 28)) == (2020, 2026)
    assert projects.mandate(dt.date(2032, 3, 1)) == (2032, 2038)
