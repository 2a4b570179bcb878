"""The ideas box in English: the portal's language switch reaches the plugin's own text,
through the catalog that ``PluginInfo.translations`` hands to the core.

The ``.mo`` file is compiled from ``messages.po`` and not kept in git: without it the portal
quietly shows the plugin in French, so these tests say how to compile it.
"""

from __future__ import annotations

from markupsafe import escape

import viatic_idees
from idees_testing import API, IDEES, ideas, propose

CATALOG = viatic_idees.viatic_plugin_info().translations / "en" / "LC_MESSAGES" / "messages.mo"


def switch_to_english(client):
    """Choose English with the portal's language switch, as a person would."""
    assert CATALOG.is_file(), f"compile the catalog: pybabel compile -d {CATALOG.parents[2]}"
    switched = client.post("/langue", data={"locale": "en", "csrf_token": client.csrf_token()})
    assert switched.status_code == 302


def test_a_member_who_switches_to_english_reads_the_ideas_box_in_english(app, village, client):
    client.login(village.habitant.email)
    propose(client, "Un banc près de l'église")
    [idea] = ideas(app)
    switch_to_english(client)

    page = client.get(f"{IDEES}/").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert ">Ideas box</a>" in page  # the navigation item, a lazy label
    assert "<h1>Ideas box</h1>" in page
    assert "<title>Ideas box — Faux-Villecerf — Viatic</title>" in page
    assert "Propose an idea" in page
    assert '<span class="status">New</span>' in page  # the state, a lazy label too
    assert "by you" in page
    assert "Boîte à idées" not in page
    assert escape("Un banc près de l'église") in page  # what people write stays as written

    shown = client.get(f"{IDEES}/{idea.id}").get_data(as_text=True)
    assert "No answer yet: the municipal team is studying the proposed ideas." in shown
    dashboard = client.get("/c/10145/").get_data(as_text=True)
    assert "Latest ideas" in dashboard

    refused = propose(client, "", "Un texte.")
    assert refused.status_code == 400
    error_page = refused.get_data(as_text=True)
    assert "<title>Error — Propose an idea" in error_page
    assert "Give your idea a title." in error_page
    too_long = client.post(
        f"{API}/",
        json={"title": "Trop long", "body": "x" * 2001},
        headers={"X-CSRFToken": client.csrf_token()},
    )
    assert too_long.get_json()["title"] == "Bad request"
    assert too_long.get_json()["detail"] == (
        "The text of the idea must not be longer than 2000 characters (2001 now)."
    )
    missing = client.get(f"{IDEES}/{idea.id + 1}")
    assert missing.status_code == 404
    assert "This idea does not exist, or you cannot see it." in missing.get_data(as_text=True)


def test_the_labels_declared_at_start_up_are_shown_in_english(app, village, client):
    client.login(village.maire.email)
    switch_to_english(client)

    modules = client.get("/c/10145/admin/modules").get_data(as_text=True)
    card = modules.split('data-module="idees"', 1)[1].split("</li>", 1)[0]
    assert "<h3>Ideas box</h3>" in card
    assert "Residents propose ideas for their municipality" in card
    settings = client.get("/c/10145/admin/modules/idees/reglages").get_data(as_text=True)
    assert "Welcome text" in settings
    assert "Maximum length of an idea or an answer (in characters)" in settings
    rights = client.get("/c/10145/admin/droits").get_data(as_text=True)
    assert "See the ideas box" in rights
    assert "Hide or restore an idea (moderation)" in rights
    preferences = client.get("/compte/preferences").get_data(as_text=True)
    assert "An idea is proposed to the municipality" in preferences
    assert "The municipal team has answered my idea" in preferences
