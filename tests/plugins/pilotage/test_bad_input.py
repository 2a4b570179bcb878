"""Input no form offers but a URL or a client can send: numbers too large for the database,
NUL characters (which PostgreSQL refuses in a string). Each is answered, never a 500, and
nothing is half-written."""

from __future__ import annotations

from plugins.pilotage.models import Answer, Project, Skills, Task
from tests.plugins.pilotage.helpers import PILOTAGE, page, project_form, rows, task_form
from tests.plugins.pilotage.test_api_dashboard import API, token
from tests.plugins.pilotage.test_referentiel import adopt

HUGE = "9" * 25  # more than any INTEGER column, or SQLite's 64 bits, holds


def test_a_page_or_an_id_too_large_for_the_database_is_answered_not_a_500(app, client, team):
    client.login(team.maire.email)
    client.submit(f"{PILOTAGE}/projets/nouveau", project_form(title="Le seul projet"))
    far = page(client, f"{PILOTAGE}/projets?page={HUGE}")
    assert "1 projet" in far and "Aucun projet ne correspond." in far
    assert "Cette page est vide." in page(client, f"{PILOTAGE}/mes-taches?page={HUGE}")
    refused = client.submit(f"{PILOTAGE}/taches/nouvelle", task_form(project=HUGE))
    assert refused.status_code == 400
    assert "Choisissez un projet de la commune." in refused.get_data(as_text=True)
    api = app.test_client()
    writer = token(app, team.maire, "pilotage:read", "pilotage:write")
    listed = api.get(f"{API}/projets?page={HUGE}", headers=writer)
    assert listed.status_code == 200 and listed.get_json()["projects"] == []
    assert listed.get_json()["total"] == 1
    problem = api.post(f"{API}/taches", json={"title": "T", "project": 10**25}, headers=writer)
    assert problem.status_code == 400 and problem.get_json()["field"] == "project"
    assert rows(app, Task) == []


def test_nul_characters_are_left_out_of_what_is_saved_and_searched(app, client, team):
    client.login(team.maire.email)
    adopt(client, "finances", "budget-vote")
    sent = client.submit(f"{PILOTAGE}/projets/nouveau", project_form(title="Salle\x00 des fêtes"))
    assert sent.status_code == 302
    client.submit(f"{PILOTAGE}/taches/nouvelle", task_form(title="Devis\x00", checklist="A\x00"))
    client.submit(
        f"{PILOTAGE}/diagnostic/theme/budget-vote", {"must-0": "oui", "must-0-comment": "Vot\x00é"}
    )
    client.submit(f"{PILOTAGE}/equipe", {"skills": "Compta\x00ble"})
    api = app.test_client()
    writer = token(app, team.maire, "pilotage:read", "pilotage:write")
    made = api.post(f"{API}/projets", json={"title": "Piste\x00 cyclable"}, headers=writer)
    assert made.status_code == 201
    assert sorted(p.title for p in rows(app, Project)) == ["Piste cyclable", "Salle des fêtes"]
    assert [(t.title, t.checklist[0]["text"]) for t in rows(app, Task)] == [("Devis", "A")]
    assert [a.comment for a in rows(app, Answer)] == ["Voté"]
    assert [s.text for s in rows(app, Skills)] == ["Comptable"]
    assert "Salle des fêtes" in page(client, f"{PILOTAGE}/projets?q=Salle%00")
    assert api.get(f"{API}/projets?q=%00", headers=writer).status_code == 200
    assert page(client, f"{PILOTAGE}/projets?theme=budget%00vote")
    for url in ("/referentiel/theme/budget%00vote", "/diagnostic/theme/budget%00vote"):
        assert client.get(f"{PILOTAGE}{url}").status_code == 404, url
