"""The ideas box through its pages, as the members of a commune use it."""

from __future__ import annotations

import pytest
from markupsafe import escape

from idees_testing import IDEES, audit_actions, ideas, notifications_of, propose


def test_a_citizen_proposes_and_the_mayor_finds_answers_and_notifies(app, village):
    citizen = app.test_client()
    citizen.login(village.habitant.email)
    form = citizen.get(f"{IDEES}/proposer")
    assert form.status_code == 200
    assert '<label for="title">Titre de votre idée</label>' in form.get_data(as_text=True)

    sent = propose(
        citizen,
        "Un banc près de l'église",
        "Pour se reposer en montant\r\nà l'église.",
    )
    assert sent.status_code == 302
    [idea] = ideas(app)
    assert sent.headers["Location"].endswith(f"{IDEES}/{idea.id}")
    assert idea.body == "Pour se reposer en montant\nà l'église."  # CRLF from the browser
    assert idea.status == "new"

    # The elected members are told; the mayor finds the idea everywhere.
    [note] = notifications_of(app, village.maire)
    assert note.type == "idees.new_idea"
    assert note.title == "Nouvelle idée : Un banc près de l'église"
    mayor = app.test_client()
    mayor.login(village.maire.email)
    listing = mayor.get(f"{IDEES}/").get_data(as_text=True)
    assert escape("Un banc près de l'église") in listing
    assert "Louis Petit" in listing  # the elected team sees who proposed it
    dashboard = mayor.get("/c/10145/").get_data(as_text=True)
    assert "Dernières idées" in dashboard
    assert escape("Un banc près de l'église") in dashboard
    assert ">Boîte à idées</a>" in dashboard  # the navigation item
    found = mayor.get("/c/10145/recherche?q=BANC").get_data(as_text=True)
    assert "Boîte à idées" in found
    assert f'href="{IDEES}/{idea.id}"' in found

    page = mayor.get(f"{IDEES}/{idea.id}").get_data(as_text=True)
    assert "Publier la réponse" in page
    answered = mayor.submit(
        f"{IDEES}/{idea.id}/reponse",
        {"status": "accepted", "answer": "Deux bancs seront posés au printemps."},
        page=f"{IDEES}/{idea.id}",
    )
    assert answered.status_code == 302

    [idea] = ideas(app)
    assert (idea.status, idea.answered_by_id) == ("accepted", village.maire.id)
    [note] = notifications_of(app, village.habitant)
    assert note.type == "idees.answered"
    assert note.title == "Réponse à votre idée : Un banc près de l'église"
    assert note.url.endswith(f"{IDEES}/{idea.id}")
    bell = citizen.get("/compte/notifications").get_data(as_text=True)
    assert escape("Réponse à votre idée : Un banc près de l'église") in bell
    seen = citizen.get(f"{IDEES}/{idea.id}").get_data(as_text=True)
    assert "Retenue" in seen
    assert "Deux bancs seront posés au printemps." in seen
    assert "Publier la réponse" not in seen
    assert audit_actions(app) == ["idees.idea_proposed", "idees.idea_answered"]


def test_every_elected_member_but_the_author_is_told_of_a_new_idea(app, village):
    adjoint = app.test_client()
    adjoint.login(village.adjoint.email)
    propose(adjoint, "Fleurir le lavoir")
    everyone = (
        village.maire,
        village.adjoint,
        village.conseiller,
        village.agent,
        village.habitant,
        village.voisine,
    )
    told = {person.name for person in everyone if notifications_of(app, person)}
    assert told == {"Claire Martin", "Nadia Benali"}


def test_a_citizen_cannot_answer(app, village, client):
    client.login(village.habitant.email)
    propose(client, "Un terrain de pétanque")
    [idea] = ideas(app)
    page = client.get(f"{IDEES}/{idea.id}").get_data(as_text=True)
    assert "Publier la réponse" not in page
    refused = client.submit(
        f"{IDEES}/{idea.id}/reponse",
        {"status": "accepted", "answer": "Je me réponds à moi-même."},
        page=f"{IDEES}/{idea.id}",
    )
    assert refused.status_code == 403
    assert "Accès refusé" in refused.get_data(as_text=True)
    [idea] = ideas(app)
    assert idea.answer is None
    assert audit_actions(app) == ["idees.idea_proposed"]


def test_neighbours_do_not_see_who_proposed_an_idea(app, village):
    author = app.test_client()
    author.login(village.habitant.email)
    propose(author, "Un composteur collectif")
    [idea] = ideas(app)
    assert "par vous" in author.get(f"{IDEES}/{idea.id}").get_data(as_text=True)
    neighbour = app.test_client()
    neighbour.login(village.voisine.email)
    page = neighbour.get(f"{IDEES}/{idea.id}").get_data(as_text=True)
    assert "Un composteur collectif" in page
    assert "Louis Petit" not in page


def test_a_member_of_another_commune_sees_nothing_of_these_ideas(
    app, village, other_commune, make_member, enable_module
):
    author = app.test_client()
    author.login(village.habitant.email)
    propose(author, "Un panneau d'affichage", "Près de l'abribus, pour les annonces.")
    [idea] = ideas(app)
    enable_module(other_commune, "idees")
    stranger = app.test_client()
    stranger.login(make_member(other_commune, "maire").email)

    for url in (f"{IDEES}/", f"{IDEES}/{idea.id}", f"{IDEES}/proposer"):
        assert stranger.get(url).status_code == 403, url
    # Their own commune's URLs do not lead to this commune's idea either.
    assert stranger.get(f"/c/10124/idees/{idea.id}").status_code == 404
    own_list = stranger.get("/c/10124/idees/").get_data(as_text=True)
    assert "Un panneau" not in own_list
    assert "Aucune idée pour l'instant." in own_list
    found = stranger.get("/c/10124/recherche?q=panneau").get_data(as_text=True)
    assert "Un panneau d" not in found
    dashboard = stranger.get("/c/10124/").get_data(as_text=True)
    assert "Un panneau d" not in dashboard


def test_disabling_the_module_answers_404_and_enabling_it_shows_the_ideas_again(
    app, village, client
):
    client.login(village.maire.email)
    propose(client, "Un marché de producteurs")
    [idea] = ideas(app)
    modules_page = "/c/10145/admin/modules"

    off = client.submit("/c/10145/admin/modules/idees/desactiver", page=modules_page)
    assert off.status_code == 302
    for url in (f"{IDEES}/", f"{IDEES}/{idea.id}", f"{IDEES}/proposer"):
        assert client.get(url).status_code == 404, url
    assert client.get("/api/v1/c/10145/idees/").status_code == 404
    assert client.submit(f"{IDEES}/proposer", page=modules_page).status_code == 404
    dashboard = client.get("/c/10145/").get_data(as_text=True)
    assert "Dernières idées" not in dashboard
    assert ">Boîte à idées</a>" not in dashboard
    assert "Un marché" not in client.get("/c/10145/recherche?q=march").get_data(as_text=True)

    on = client.submit("/c/10145/admin/modules/idees/activer", page=modules_page)
    assert on.status_code == 302
    assert "Un marché de producteurs" in client.get(f"{IDEES}/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("title", "body", "message"),
    [
        ("", "Un texte.", "Donnez un titre à votre idée."),
        ("   ", "Un texte.", "Donnez un titre à votre idée."),
        ("Un titre", "", "Décrivez votre idée en quelques phrases."),
        (
            "T" * 151,
            "Un texte.",
            "Le titre ne doit pas dépasser 150 caractères (151 actuellement).",
        ),
        (
            "Un titre",
            "x" * 2001,
            "Le texte de l'idée ne doit pas dépasser 2000 caractères (2001 actuellement).",
        ),
    ],
)
def test_bad_input_gets_a_400_in_french_and_writes_nothing(
    app, village, client, title, body, message
):
    client.login(village.habitant.email)
    refused = propose(client, title, body)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert escape(message) in page
    assert "<title>Erreur — Proposer une idée" in page
    assert 'aria-invalid="true"' in page  # the field at fault is marked for screen readers
    assert ideas(app) == []
    assert audit_actions(app) == []
    assert notifications_of(app, village.maire) == []


def test_a_form_without_its_csrf_token_is_refused_and_writes_nothing(app, village, client):
    client.login(village.habitant.email)
    refused = client.post(f"{IDEES}/proposer", data={"title": "Sans jeton", "body": "Texte."})
    assert refused.status_code == 400
    assert "Le formulaire a expiré" in refused.get_data(as_text=True)
    assert ideas(app) == []
    assert audit_actions(app) == []


def test_an_answer_needs_a_state_and_a_text(app, village, client):
    client.login(village.maire.email)
    propose(client, "Une aire de jeux")
    [idea] = ideas(app)
    page = f"{IDEES}/{idea.id}"
    for data, message in (
        ({"status": "accepted", "answer": ""}, "Rédigez la réponse que lira"),
        ({"status": "new", "answer": "Oui."}, "à l&#39;étude, retenue ou écartée."),
    ):
        refused = client.submit(f"{page}/reponse", data, page=page)
        assert refused.status_code == 400
        assert message in refused.get_data(as_text=True)
    [idea] = ideas(app)
    assert (idea.status, idea.answer) == ("new", None)
    assert audit_actions(app) == ["idees.idea_proposed"]


def test_the_commune_settings_change_the_intro_visibility_and_length(app, village):
    admin = app.test_client()
    admin.login(village.maire.email)
    saved = admin.submit(
        "/c/10145/admin/modules/idees/reglages",
        {"intro": "Vos idées pour Faux-Villecerf !", "max_length": "50"},  # box unchecked
    )
    assert saved.status_code == 302

    author = app.test_client()
    author.login(village.habitant.email)
    assert "Vos idées pour Faux-Villecerf !" in author.get(f"{IDEES}/").get_data(as_text=True)
    too_long = propose(author, "Des nichoirs", "x" * 51)
    assert too_long.status_code == 400
    assert "50 caractères au plus." in too_long.get_data(as_text=True)  # the field's help
    assert propose(author, "Des nichoirs", "Pour les mésanges.").status_code == 302
    [idea] = ideas(app)

    # Before the elected team answers, only the author (and the team) see the idea.
    neighbour = app.test_client()
    neighbour.login(village.voisine.email)
    assert "Des nichoirs" not in neighbour.get(f"{IDEES}/").get_data(as_text=True)
    assert neighbour.get(f"{IDEES}/{idea.id}").status_code == 404
    assert "Des nichoirs" in author.get(f"{IDEES}/").get_data(as_text=True)
    page = f"{IDEES}/{idea.id}"
    admin.submit(f"{page}/reponse", {"status": "under_study", "answer": "À voir."}, page=page)
    assert "Des nichoirs" in neighbour.get(f"{IDEES}/").get_data(as_text=True)


def test_a_moderator_hides_an_idea_without_deleting_it(app, village):
    author = app.test_client()
    author.login(village.habitant.email)
    propose(author, "Une idée déplacée")
    [idea] = ideas(app)
    page = f"{IDEES}/{idea.id}"

    conseiller = app.test_client()
    conseiller.login(village.conseiller.email)
    assert "Masquer l" not in conseiller.get(page).get_data(as_text=True)
    assert conseiller.submit(f"{page}/masquer", page=page).status_code == 403

    adjoint = app.test_client()
    adjoint.login(village.adjoint.email)
    assert adjoint.submit(f"{page}/masquer", page=page).status_code == 302
    neighbour = app.test_client()
    neighbour.login(village.voisine.email)
    assert neighbour.get(page).status_code == 404
    assert "masquée par la modération" in author.get(page).get_data(as_text=True)
    assert "Une idée déplacée" in adjoint.get(f"{IDEES}/").get_data(as_text=True)

    assert adjoint.submit(f"{page}/retablir", page=page).status_code == 302
    assert neighbour.get(page).status_code == 200
    assert audit_actions(app) == [
        "idees.idea_proposed",
        "idees.idea_hidden",
        "idees.idea_restored",
    ]


def test_pages_have_unique_titles_and_one_h1(app, village, client):
    client.login(village.maire.email)
    propose(client, "Un verger communal")
    [idea] = ideas(app)
    titles = set()
    for url in (f"{IDEES}/", f"{IDEES}/proposer", f"{IDEES}/{idea.id}"):
        page = client.get(url).get_data(as_text=True)
        assert page.count("<h1") == 1, url
        titles.add(page.split("<title>", 1)[1].split("</title>", 1)[0])
    assert len(titles) == 3
    assert "Un verger communal — Boîte à idées — Faux-Villecerf — Viatic" in titles
