"""Reactions to a message: one of a few emojis, taken back by a second click, shown under
the message with who reacted and as pressed to the one who did, through the pages and the
JSON API; only readers of the channel react, and never to a hidden message."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from core.db import db
from plugins.chat.models import Reaction
from tests.plugins.chat.helpers import API, CHAT, general_id, messages, page, post

BUTTON = re.compile(
    r'<button type="submit" name="emoji" value="(\w+)" class="chat-reaction" '
    r'aria-pressed="(true|false)" data-by="[\d ]*" title="[^"]*">'
    r'<span aria-hidden="true">[^<]+</span> (\d+)<span class="visually-hidden"> ([^<]+)</span>'
)


def counted(html: str) -> list[tuple[str, str, str, str]]:
    """The reactions shown under the messages: (key, pressed, count, spoken label)."""
    return BUTTON.findall(html)


def reactions_stored(app) -> int:
    with app.app_context():
        return db.scalar(select(func.count()).select_from(Reaction))


def react(client, message_id: int, emoji: str, channel_id: int):
    return client.submit(
        f"{CHAT}/message/{message_id}/reaction",
        {"emoji": emoji},
        page=f"{CHAT}/salon/{channel_id}",
    )


def test_a_member_reacts_others_see_who_and_a_second_click_takes_it_back(app, village, client):
    general = general_id(app)
    client.login(village.adjoint.email)
    post(client, general, "Le devis du couvreur est signé.")
    [message] = messages(app)
    agent = app.test_client()
    agent.login(village.agent.email)

    answer = react(agent, message.id, "ok", general)
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"{CHAT}/salon/{general}#m{message.id}")
    mine = page(agent, f"{CHAT}/salon/{general}")
    assert counted(mine) == [("ok", "true", "1", "D'accord : Julie Morel")]
    assert "<!--csrf-->" not in mine  # the reader's own token is in the form
    # The author sees it too, not pressed: it is not theirs.
    assert counted(page(client, f"{CHAT}/salon/{general}")) == [
        ("ok", "false", "1", "D'accord : Julie Morel")
    ]
    react(client, message.id, "ok", general)
    react(client, message.id, "merci", general)
    assert counted(page(client, f"{CHAT}/salon/{general}")) == [
        ("ok", "true", "2", "D'accord : Julie Morel, Paul Girard"),
        ("merci", "true", "1", "Merci : Paul Girard"),
    ]

    assert react(agent, message.id, "ok", general).status_code == 302
    assert counted(page(agent, f"{CHAT}/salon/{general}")) == [
        ("ok", "false", "1", "D'accord : Paul Girard"),
        ("merci", "false", "1", "Merci : Paul Girard"),
    ]
    assert reactions_stored(app) == 2


def test_only_readers_of_the_channel_react_and_never_to_a_hidden_message(app, village, client):
    general = general_id(app)
    client.login(village.maire.email)
    post(client, general, "Réservé à l'équipe")
    post(client, general, "Un propos à masquer")
    first, second = messages(app)
    # A resident does not see the team's channel: its messages do not exist for them.
    resident = app.test_client()
    resident.login(village.habitant.email)
    refused = resident.submit(
        f"{CHAT}/message/{first.id}/reaction", {"emoji": "ok"}, page=f"{CHAT}/"
    )
    assert refused.status_code == 404

    form = f"{CHAT}/message/{second.id}"
    assert client.submit(f"{form}/masquer", {"reason": "Hors sujet"}, page=form).status_code == 302
    agent = app.test_client()
    agent.login(village.agent.email)
    refused = react(agent, second.id, "ok", general)
    assert refused.status_code == 400
    assert "On ne réagit pas à un message supprimé ou masqué." in refused.get_data(as_text=True)
    refused = react(agent, first.id, "pouce-en-bas", general)
    assert refused.status_code == 400
    assert "Choisissez une réaction dans la liste." in refused.get_data(as_text=True)
    assert reactions_stored(app) == 0


def test_the_api_adds_and_takes_back_a_reaction_and_refuses_bad_input(app, village, client):
    general = general_id(app)
    writer = app.test_client()
    writer.login(village.maire.email)
    post(writer, general, "Qui vient jeudi ?")
    [message] = messages(app)
    client.login(village.conseiller.email)
    headers = {"X-CSRFToken": client.csrf_token(f"{CHAT}/")}
    url = f"{API}/messages/{message.id}/reactions"

    added = client.post(url, json={"emoji": "fait"}, headers=headers)
    assert added.status_code == 200
    assert added.get_json() == {
        "emoji": "fait",
        "reacted": True,
        "reactions": [
            {
                "emoji": "fait",
                "count": 1,
                "ids": [village.conseiller.id],
                "people": ["Nadia Benali"],
            }
        ],
    }
    [shown] = client.get(f"{API}/channels/{general}/messages").get_json()
    assert shown["reactions"] == added.get_json()["reactions"]
    taken_back = client.post(url, json={"emoji": "fait"}, headers=headers)
    assert taken_back.get_json() == {"emoji": "fait", "reacted": False, "reactions": []}

    for payload in ({"emoji": "👎"}, {"emoji": ["ok"]}, {}, ["ok"]):
        refused = client.post(url, json=payload, headers=headers)
        assert refused.status_code == 400, payload
        assert refused.content_type == "application/problem+json"
    assert (
        client.post(
            f"{API}/messages/999999/reactions", json={"emoji": "ok"}, headers=headers
        ).status_code
        == 404
    )
    assert reactions_stored(app) == 0
