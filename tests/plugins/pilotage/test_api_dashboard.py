"""The JSON API (scopes pilotage:read and pilotage:write, problems for bad input, tenant
isolation), the dashboard's cards and the search."""

from __future__ import annotations

import datetime as dt

from core import tokens
from core.db import db
from core.models import User
from plugins.pilotage.models import Project, Task
from tests.plugins.pilotage.helpers import PILOTAGE, page, project_form, rows, task_form
from tests.plugins.pilotage.test_referentiel import adopt

API = "/api/v1/c/10145/pilotage"


def token(app, user, *scopes):
    with app.app_context():
        raw, _ = tokens.create(db.get(User, user.id), "test", scopes, 30)
        db.commit()
    return {"Authorization": f"Bearer {raw}"}


def test_projects_and_tasks_through_the_api_with_scopes(app, team):
    api = app.test_client()
    reader = token(app, team.maire, "pilotage:read")
    writer = token(app, team.maire, "pilotage:read", "pilotage:write")
    refused = api.post(f"{API}/projets", json={"title": "Piste cyclable"}, headers=reader)
    assert refused.status_code == 403 and "pilotage:write" in refused.get_json()["detail"]
    made = api.post(
        f"{API}/projets",
        json={"title": "Piste cyclable", "budget_planned": "80000", "start_date": "2027-03-01"},
        headers=writer,
    )
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["budget_planned"] == "80000.00" and body["status_label"] == "Idée"
    assert made.headers["Location"].endswith(f"{API}/projets/{body['id']}")
    patched = api.patch(
        f"{API}/projets/{body['id']}", json={"progress": 40, "status": "en_cours"}, headers=writer
    )
    assert patched.status_code == 200
    assert (patched.get_json()["progress"], patched.get_json()["budget_planned"]) == (
        40,
        "80000.00",
    )
    listed = api.get(f"{API}/projets?statut=en_cours", headers=reader).get_json()
    assert listed["total"] == 1 and listed["projects"][0]["title"] == "Piste cyclable"
    task = api.post(
        f"{API}/taches",
        json={
            "title": "Étude de trafic",
            "project": body["id"],
            "assignee": team.agent.id,
            "due_date": "2020-01-01",
            "checklist": [{"text": "Comptage", "done": False}],
        },
        headers=writer,
    )
    assert task.status_code == 201, task.get_json()
    assert task.get_json()["overdue"] is True
    moved = api.patch(
        f"{API}/taches/{task.get_json()['id']}", json={"status": "fait"}, headers=writer
    )
    assert moved.get_json()["status"] == "fait" and moved.get_json()["overdue"] is False
    assert api.get(f"{API}/taches?statut=fait", headers=reader).get_json()["tasks"][0]["title"] == (
        "Étude de trafic"
    )
    document = api.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/c/{insee}/pilotage/projets" in document["paths"]


def test_bad_api_input_is_a_problem_naming_the_field_and_nothing_is_written(app, team):
    api = app.test_client()
    writer = token(app, team.maire, "pilotage:read", "pilotage:write")
    for payload, field in [
        ({"title": "X", "end_date": "2026-01-01", "start_date": "2026-06-01"}, "end_date"),
        ({"title": "X", "budget_planned": -3}, "budget_planned"),
        ({"title": "X", "budget_planned": "abc"}, "budget_planned"),
        ({"title": "X", "progress": 101}, "progress"),
        ({"title": "X", "lead": team.habitant.id}, "lead"),
        ({"title": ""}, "title"),
        ({"title": ["Piste"]}, "title"),
        ({"title": "X", "description": {"texte": "Y"}}, "description"),
        ({"title": "X", "citizen_summary": True}, "citizen_summary"),
    ]:
        refused = api.post(f"{API}/projets", json=payload, headers=writer)
        assert refused.status_code == 400, payload
        assert refused.mimetype == "application/problem+json"
        assert refused.get_json()["field"] == field, payload
    not_json = api.post(f"{API}/projets", data="x", headers=writer)
    assert not_json.status_code == 400
    outsider = api.post(f"{API}/taches", json={"title": "T", "assignee": 999999}, headers=writer)
    assert outsider.status_code == 400 and outsider.get_json()["field"] == "assignee"
    bad_list = api.post(f"{API}/taches", json={"title": "T", "checklist": [1, 2]}, headers=writer)
    assert bad_list.status_code == 400 and bad_list.get_json()["field"] == "checklist"
    not_text = api.post(f"{API}/taches", json={"title": ["T"]}, headers=writer)
    assert not_text.status_code == 400 and not_text.get_json()["detail"] == (
        "Ce champ attend du texte."
    )
    assert rows(app, Project) == [] and rows(app, Task) == []


def test_the_api_keeps_communes_apart(app, team, other_commune, make_member, enable_module):
    client = app.test_client()
    client.login(team.maire.email)
    client.submit(f"{PILOTAGE}/projets/nouveau", project_form(title="Chez nous"))
    [project] = rows(app, Project)
    enable_module(other_commune, "pilotage")
    stranger = make_member(other_commune, "maire")
    headers = token(app, stranger, "pilotage:read", "pilotage:write")
    api = app.test_client()
    assert api.get(f"{API}/projets", headers=headers).status_code == 403
    assert (
        api.get(f"/api/v1/c/10124/pilotage/projets/{project.id}", headers=headers).status_code
        == 404
    )
    assert (
        api.patch(
            f"/api/v1/c/10124/pilotage/projets/{project.id}",
            json={"title": "Pris"},
            headers=headers,
        ).status_code
        == 404
    )
    assert api.get("/api/v1/c/10124/pilotage/projets", headers=headers).get_json()["total"] == 0
    assert rows(app, Project)[0].title == "Chez nous"
    citizen = token(app, team.habitant, "pilotage:read")
    assert api.get(f"{API}/diagnostic", headers=citizen).status_code == 403


def test_the_dashboard_shows_each_card_linked_to_its_page(app, client, team):
    client.login(team.maire.email)
    adopt(client, "ecoles", "restauration-scolaire", "batiments-scolaires")
    client.submit(
        f"{PILOTAGE}/projets/nouveau",
        project_form(
            health="bloque",
            health_reason="Pas de devis.",
            budget_planned="1000",
            budget_committed="250",
        ),
    )
    [project] = rows(app, Project)
    url = f"{PILOTAGE}/projets/{project.id}"
    soon = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    client.submit(
        f"{url}/jalons", {"milestone_title": "Réception", "milestone_date": soon}, page=url
    )
    client.submit(f"{PILOTAGE}/taches/nouvelle", task_form(title="Relancer", due_date="2020-05-01"))
    client.submit(f"{PILOTAGE}/diagnostic/theme/restauration-scolaire", {"must-0": "oui"})
    board = page(client, "/c/10145/")
    for text in (
        "Projets par santé et statut",
        f'href="{PILOTAGE}/projets?sante=bloque"',
        "1 tâche en retard",
        "Relancer",
        "Réception",
        "250,00\xa0€ (25 %)",
        "Écoles et restauration scolaire",
        f'href="{PILOTAGE}/diagnostic"',
        "2 thèmes adoptés sans personne impliquée",
        f'href="{PILOTAGE}/equipe"',
    ):
        assert text in board, text
    citizen = app.test_client()
    citizen.login(team.habitant.email)
    assert "Projets par santé et statut" not in page(citizen, "/c/10145/")


def test_search_finds_projects_and_tasks_for_the_team(app, client, team):
    client.login(team.maire.email)
    client.submit(f"{PILOTAGE}/projets/nouveau", project_form(title="Maison de santé"))
    client.submit(
        f"{PILOTAGE}/taches/nouvelle", task_form(title="Visiter la maison de santé de Troyes")
    )
    found = page(client, "/c/10145/recherche?q=maison de santé")
    [project], [task] = rows(app, Project), rows(app, Task)
    assert f'href="{PILOTAGE}/projets/{project.id}"' in found
    assert f'href="{PILOTAGE}/taches/{task.id}"' in found


def test_the_dashboard_shows_each_domains_score_with_its_trend_over_the_rounds(app, client, team):
    client.login(team.maire.email)
    adopt(client, "finances", "budget-vote")
    diagnostic = f"{PILOTAGE}/diagnostic"
    client.submit(f"{diagnostic}/theme/budget-vote", {"must-0": "non"})
    scores = page(client, "/c/10145/").split("Scores du diagnostic", 1)[1]
    assert '<th scope="row">Finances et budget</th><td>0</td>' in scores.replace("\n", "")
    assert "<td>—</td>" in scores  # no round before: no trend
    # A new round, not answered yet: the card still shows the last results.
    client.submit(f"{diagnostic}/recommencer", page=diagnostic)
    scores = page(client, "/c/10145/").split("Scores du diagnostic", 1)[1]
    assert "Aucun diagnostic" not in scores and "Finances et budget" in scores
    client.submit(f"{diagnostic}/theme/budget-vote", {"must-0": "oui", "must-1": "partiel"})
    scores = page(client, "/c/10145/").split("Scores du diagnostic", 1)[1]
    assert "<td>75</td>" in scores and "en hausse de 75" in scores


def test_the_api_reads_the_diagnostics_scores_by_domain_and_theme(app, client, team):
    api = app.test_client()
    reader = token(app, team.adjoint, "pilotage:read")
    assert api.get(f"{API}/diagnostic", headers=reader).get_json() == {
        "started_at": None,
        "domains": [],
    }
    client.login(team.maire.email)
    adopt(client, "finances", "budget-vote", "fiscalite")
    client.submit(
        f"{PILOTAGE}/diagnostic/theme/budget-vote", {"must-0": "oui", "must-1": "partiel"}
    )
    read = api.get(f"{API}/diagnostic", headers=reader)
    assert read.status_code == 200
    [finances] = read.get_json()["domains"]
    assert (finances["code"], finances["score"]) == ("finances", 75.0)
    themes = {t["code"]: t for t in finances["themes"]}
    assert (themes["budget-vote"]["score"], themes["budget-vote"]["answered"]) == (75.0, 2)
    assert themes["budget-vote"]["asked"] > 2  # one per obligation, then two more
    assert (themes["fiscalite"]["score"], themes["fiscalite"]["answered"]) == (None, 0)
    assert read.get_json()["started_at"]
    writer_only = token(app, team.adjoint, "pilotage:write")
    assert api.get(f"{API}/diagnostic", headers=writer_only).status_code == 403
