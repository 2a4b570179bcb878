"""The chat in a real Chromium with two people: one writes, the other sees the message
appear live and the unread count of another channel go up; one reacts, the other sees it
live; a page out of view stops reading live (a mention then notifies) and catches up when
looked at again; the pages pass axe-core and fit a 360-px screen."""

from __future__ import annotations

import re

import pytest

from tests.plugins.chat.helpers import CHAT, channels, general_id, new_channel, post
from tests.plugins.chat.live_helpers import (
    MENTIONED,
    api_post,
    mailed,
    signed_in,
    wait_until_present,
)
from tests.test_browser import (  # noqa: F401 - fixtures
    PageChecker,
    chromium_browser,
    new_page,
    sign_in,
    sqlite_only,
)


@pytest.mark.browser
@sqlite_only
def test_two_people_chat_live_and_the_pages_pass_axe(app, village, new_page, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    setup = app.test_client()
    setup.login(village.maire.email)
    new_channel(setup, name="Projet école", members=[str(village.agent.id)])
    projet = next(c for c in channels(app) if c.name == "Projet école")
    general = general_id(app)
    post(setup, general, "Bonjour à tous")

    maire, agent = new_page(), new_page()
    sign_in(maire, village.maire.email)
    sign_in(agent, village.agent.email)
    agent.goto(f"{CHAT}/salon/{general}")
    maire.goto(f"{CHAT}/salon/{general}")
    messages = agent.get_by_role("list").filter(has_text="Bonjour à tous")
    expect(messages).to_have_count(1)

    # The maire writes; the message appears on the agent's page without a reload.
    maire.get_by_label("Votre message").fill("La réunion est **avancée** à 17 h.")
    maire.get_by_role("button", name="Envoyer").click()
    expect(maire.get_by_label("Votre message")).to_have_value("")
    expect(agent.locator("#chat-messages strong", has_text="avancée")).to_be_visible()
    expect(agent.locator("#chat-messages")).to_contain_text("La réunion est avancée à 17 h.")

    # The agent reacts: the count and who reacted appear live on the maire's page, pressed
    # only on the agent's own.
    first = agent.locator("#chat-messages li", has_text="Bonjour à tous")
    first.get_by_text("Réagir").click()
    first.get_by_role("button", name="D'accord").click()
    mine = first.get_by_role("button", name="D'accord : Julie Morel")
    expect(mine).to_have_attribute("aria-pressed", "true")
    theirs = maire.locator("#chat-messages li", has_text="Bonjour à tous").get_by_role(
        "button", name="D'accord : Julie Morel"
    )
    expect(theirs).to_have_attribute("aria-pressed", "false")
    expect(theirs).to_contain_text("1")
    mine.click()  # a second click takes it back
    expect(theirs).to_have_count(0)
    first.get_by_text("Réagir").click()
    first.get_by_role("button", name="Merci").click()

    # A message in another channel of the agent's: its unread count goes up, live.
    badge = agent.locator(f'#chat-canaux li[data-channel="{projet.id}"] .chat-unread')
    expect(badge).to_be_hidden()
    maire.goto(f"{CHAT}/salon/{projet.id}")
    maire.get_by_label("Votre message").fill("Le devis est arrivé.")
    maire.get_by_role("button", name="Envoyer").click()
    expect(badge).to_be_visible()
    expect(badge).to_contain_text("1")

    # An empty message gets the page's own error, tied to the field.
    maire.get_by_role("button", name="Envoyer").click()
    expect(maire.get_by_role("alert")).to_contain_text("Écrivez un message.")

    checker = PageChecker(tmp_path)
    for name, path in [
        ("chat-canaux", f"{CHAT}/"),
        ("chat-salon", f"{CHAT}/salon/{general}"),
        ("chat-membres", f"{CHAT}/salon/{projet.id}/membres"),
        ("chat-nouveau-canal", f"{CHAT}/nouveau-canal"),
        ("chat-conversation", f"{CHAT}/nouvelle-conversation"),
        ("chat-recherche", f"{CHAT}/recherche?q=devis"),
        ("chat-signalements", f"{CHAT}/signalements"),
    ]:
        response = maire.goto(path)
        assert response is not None and response.status == 200, name
        checker.check(maire, name)
    maire.goto(f"{CHAT}/salon/{general}")
    message_id = maire.locator("#chat-messages li").first.get_attribute("id")
    maire.goto(f"{CHAT}/message/{message_id[1:]}")
    checker.check(maire, "chat-message")
    assert checker.problems == [], "\n".join(checker.problems)


def stored_reading(app, user_id: int) -> dict[str, object]:
    """What the database holds, read afresh: the person's read markers and the messages'
    numbers and authors, by channel (to tell, when a count is off, which side was wrong)."""
    import sqlite3

    with sqlite3.connect(app.config["DATABASE_URL"].removeprefix("sqlite:///")) as fresh:
        markers = fresh.execute(
            "SELECT channel_id, last_read_seq FROM chat_member WHERE user_id = ?", (user_id,)
        ).fetchall()
        messages = fresh.execute("SELECT channel_id, seq, author_id FROM chat_message").fetchall()
    return {"markers": markers, "messages": messages}


def put_in_view(page, visible: bool) -> None:
    """Show or hide ``page`` as a tab switch or a phone's screen does. Headless Chromium
    keeps every page visible, so the page's visibility is set and announced as the
    browser would (``visibilitychange``); what chat.js then does is real."""
    page.evaluate(
        """(visible) => {
            const state = visible ? "visible" : "hidden";
            const own = (get) => ({configurable: true, get});
            Object.defineProperty(document, "visibilityState", own(() => state));
            Object.defineProperty(document, "hidden", own(() => !visible));
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        visible,
    )


@pytest.mark.browser
@sqlite_only
def test_a_page_out_of_view_stops_reading_live_and_catches_up_when_looked_at(
    app,
    village,
    new_page,  # noqa: F811
    live_server,
):
    from playwright.sync_api import expect

    setup = app.test_client()
    setup.login(village.maire.email)
    new_channel(setup, name="Projet école", members=[str(village.agent.id)])
    projet = next(c for c in channels(app) if c.name == "Projet école")
    general = general_id(app)
    maire = signed_in(live_server, village.maire.email)

    agent = new_page()
    sign_in(agent, village.agent.email)
    agent.goto(f"{CHAT}/salon/{general}")
    wait_until_present(app, general, village.agent.id)
    api_post(maire, live_server, general, "@julie.morel vous lisez ?")
    expect(agent.locator("#chat-messages")).to_contain_text("vous lisez ?")
    assert mailed(app, village.agent) == []  # she read it as it came

    # Her tab goes to the background: she is away, and told of the mention.
    put_in_view(agent, False)
    wait_until_present(app, general, village.agent.id, present=False)
    api_post(maire, live_server, general, "@julie.morel la salle est prête ?")
    api_post(maire, live_server, projet.id, "Le devis est arrivé.")
    assert mailed(app, village.agent) == [MENTIONED]
    expect(agent.locator("#chat-messages")).not_to_contain_text("la salle est prête")

    # Back in view: what came meanwhile appears, the other channel's count too, and she
    # reads live again.
    with agent.expect_response(re.compile(r"/api/v1/c/10145/chat/channels$")) as counts:
        put_in_view(agent, True)
    unread = {c["id"]: c["unread"] for c in counts.value.json()}
    assert unread[projet.id] == 1, (unread, stored_reading(app, village.agent.id))
    expect(agent.locator("#chat-messages")).to_contain_text("la salle est prête ?")
    badge = agent.locator(f'#chat-canaux li[data-channel="{projet.id}"] .chat-unread')
    expect(badge).to_be_visible()
    expect(badge).to_contain_text("1")
    wait_until_present(app, general, village.agent.id)
    api_post(maire, live_server, general, "@julie.morel parfait, merci")
    expect(agent.locator("#chat-messages")).to_contain_text("parfait, merci")
    assert mailed(app, village.agent) == [MENTIONED]
