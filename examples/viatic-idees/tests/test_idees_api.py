"""The ideas box's JSON API: the same rules as the pages, errors as JSON in French."""

from __future__ import annotations

import pytest

from idees_testing import API, IDEES, audit_actions, ideas, notifications_of, propose


def post_json(client, url, payload, csrf=True):
    """POST JSON as a script running in the person's session would, with its CSRF token."""
    headers = {"X-CSRFToken": client.csrf_token()} if csrf else {}
    return client.post(url, json=payload, headers=headers)


def test_a_member_proposes_and_lists_ideas_through_the_api(app, village, client):
    client.login(village.habitant.email)
    created = post_json(
        client, f"{API}/", {"title": "Un abri au terrain de foot", "body": "Pour les parents."}
    )
    assert created.status_code == 201
    idea = created.get_json()
    assert idea["title"] == "Un abri au terrain de foot"
    assert (idea["status"], idea["status_label"]) == ("new", "Nouvelle")
    assert idea["url"].endswith(f"{IDEES}/{idea['id']}")
    assert created.headers["Location"].endswith(f"{API}/{idea['id']}")
    assert audit_actions(app) == ["idees.idea_proposed"]
    assert [n.type for n in notifications_of(app, village.maire)] == ["idees.new_idea"]

    listed = client.get(f"{API}/").get_json()
    assert [i["title"] for i in listed["ideas"]] == ["Un abri au terrain de foot"]
    one = client.get(f"{API}/{idea['id']}").get_json()
    assert one["author"] == "Louis Petit"  # the author sees their own name


def test_the_api_hides_the_author_from_neighbours(app, village):
    author = app.test_client()
    author.login(village.habitant.email)
    propose(author, "Des poubelles de tri")
    neighbour = app.test_client()
    neighbour.login(village.voisine.email)
    [idea] = neighbour.get(f"{API}/").get_json()["ideas"]
    assert idea["author"] is None
    mayor = app.test_client()
    mayor.login(village.maire.email)
    [idea] = mayor.get(f"{API}/").get_json()["ideas"]
    assert idea["author"] == "Louis Petit"


@pytest.mark.parametrize(
    ("payload", "message", "field"),
    [
        ({"body": "Sans titre."}, "Donnez un titre à votre idée.", "title"),
        ({"title": 12, "body": "Un titre qui n'est pas un texte."}, "Donnez un titre", "title"),
        ({"title": "Sans texte", "body": "  "}, "Décrivez votre idée", "body"),
        (
            {"title": "Trop long", "body": "x" * 2001},
            "Le texte de l'idée ne doit pas dépasser 2000 caractères",
            "body",
        ),
        (["pas", "un", "objet"], "Envoyez un objet JSON", None),
    ],
)
def test_bad_input_gets_a_json_400_in_french_and_writes_nothing(
    app, village, client, payload, message, field
):
    client.login(village.habitant.email)
    refused = post_json(client, f"{API}/", payload)
    assert refused.status_code == 400
    assert refused.mimetype == "application/problem+json"
    error = refused.get_json()
    assert error["status"] == 400
    assert error["detail"].startswith(message)
    assert error.get("field") == field  # none when no field is at fault (toolkit.refuse)
    assert ideas(app) == []
    assert audit_actions(app) == []


def test_an_api_post_without_csrf_token_is_refused_in_json(app, village, client):
    client.login(village.habitant.email)
    refused = post_json(client, f"{API}/", {"title": "Sans jeton", "body": "Texte."}, csrf=False)
    assert refused.status_code == 400
    assert "formulaire a expiré" in refused.get_json()["detail"]
    assert ideas(app) == []


def test_the_api_needs_a_signed_in_member_of_the_commune(
    app, village, other_commune, make_member, enable_module
):
    author = app.test_client()
    author.login(village.habitant.email)
    propose(author, "Un distributeur de pain")
    [idea] = ideas(app)

    anonymous = app.test_client()
    assert anonymous.get(f"{API}/").status_code == 401
    assert anonymous.get(f"{API}/").get_json()["detail"]

    enable_module(other_commune, "idees")
    stranger = app.test_client()
    stranger.login(make_member(other_commune, "maire").email)
    for url in (f"{API}/", f"{API}/{idea.id}"):
        refused = stranger.get(url)
        assert refused.status_code == 403, url
        assert refused.get_json()["detail"].startswith("Vous n'avez pas les droits")
    assert post_json(stranger, f"{API}/", {"title": "Intrus", "body": "x"}).status_code == 403
    assert stranger.get(f"/api/v1/c/10124/idees/{idea.id}").status_code == 404
    assert stranger.get("/api/v1/c/10124/idees/").get_json() == {"ideas": []}
    assert len(ideas(app)) == 1


def test_a_personal_token_with_the_plugins_scopes_reads_and_proposes(app, village):
    from core import tokens
    from core.db import db as session

    with app.app_context():
        from core.models import User

        habitant = session.get(User, village.habitant.id)
        reader, _ = tokens.create(habitant, "lecture", ["idees:read"], 30)
        writer, _ = tokens.create(habitant, "écriture", ["idees:read", "idees:write"], 30)
        session.commit()
    api = app.test_client()
    read = api.get(f"{API}/", headers={"Authorization": f"Bearer {reader}"})
    assert read.status_code == 200 and read.get_json() == {"ideas": []}
    refused = api.post(
        f"{API}/",
        json={"title": "Un banc", "body": "Près de l'église."},
        headers={"Authorization": f"Bearer {reader}"},
    )
    assert refused.status_code == 403 and "idees:write" in refused.get_json()["detail"]
    made = api.post(
        f"{API}/",
        json={"title": "Un banc", "body": "Près de l'église."},
        headers={"Authorization": f"Bearer {writer}"},
    )
    assert made.status_code == 201 and made.get_json()["title"] == "Un banc"
    document = api.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/c/{insee}/idees/" in document["paths"]
