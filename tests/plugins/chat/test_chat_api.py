"""The chat's JSON API, as an app uses it with a personal access token, and as the live
page uses it with the session: list channels, read history, post, mark read; bad input is a
400 problem naming the field, and nothing is stored."""

from __future__ import annotations

from tests.plugins.chat.helpers import API, CHAT, api_post, general_id, messages, post
from tests.test_tokens import bearer, make_token


def test_an_app_lists_reads_posts_and_marks_read_with_its_token(app, village, client):
    general = general_id(app)
    writer = app.test_client()
    writer.login(village.maire.email)
    post(writer, general, "Bonjour **à tous**")
    client.login(village.agent.email)
    token = make_token(client, scopes=["chat:read", "chat:write"])
    client = app.test_client()  # the app has its token, not the session

    [channel] = client.get(f"{API}/channels", headers=bearer(token)).get_json()
    assert (channel["id"], channel["name"], channel["unread"]) == (general, "Équipe municipale", 1)
    [message] = client.get(f"{API}/channels/{general}/messages", headers=bearer(token)).get_json()
    assert message["author_name"] == "Claire Martin"
    assert message["html"] == "<p>Bonjour <strong>à tous</strong></p>"

    sent = client.post(
        f"{API}/channels/{general}/messages",
        json={"body": "Bien reçu", "reply_to": message["id"]},
        headers=bearer(token),
    )
    assert sent.status_code == 201
    assert sent.get_json()["reply_to"]["author_name"] == "Claire Martin"
    read = client.post(f"{API}/channels/{general}/read", json={}, headers=bearer(token))
    assert read.get_json() == {"last_read_seq": 2}
    [channel] = client.get(f"{API}/channels", headers=bearer(token)).get_json()
    assert channel["unread"] == 0


def test_a_read_only_token_cannot_post(app, village, client):
    client.login(village.agent.email)
    token = make_token(client, scopes=["chat:read"])
    client = app.test_client()
    refused = client.post(
        f"{API}/channels/{general_id(app)}/messages", json={"body": "x"}, headers=bearer(token)
    )
    assert refused.status_code == 403
    assert messages(app) == []


def test_bad_input_is_a_problem_that_names_the_field_and_stores_nothing(app, village, client):
    general = general_id(app)
    client.login(village.maire.email)
    for payload, field in [
        ({"body": ""}, "body"),
        ({"body": "x" * 4001}, "body"),
        ({"body": 12}, "body"),
        ({"body": "ok", "reply_to": "abc"}, "reply_to"),
        ({"body": "ok", "reply_to": 999999}, "reply_to"),
    ]:
        answer = api_post(client, general, payload)
        assert answer.status_code == 400, payload
        assert answer.mimetype == "application/problem+json"
        assert answer.get_json()["field"] == field
    not_json = client.post(
        f"{API}/channels/{general}/messages",
        data="body=x",
        headers={"X-CSRFToken": client.csrf_token(f"{CHAT}/")},
    )
    assert not_json.status_code == 400
    assert "objet JSON" in not_json.get_json()["detail"]
    assert api_post(client, 999999, {"body": "x"}).status_code == 404
    assert client.get(f"{API}/channels/{general}/messages?before=abc").status_code == 400
    bad_seq = client.post(
        f"{API}/channels/{general}/read",
        json={"seq": "beaucoup"},
        headers={"X-CSRFToken": client.csrf_token(f"{CHAT}/")},
    )
    assert bad_seq.status_code == 400 and bad_seq.get_json()["field"] == "seq"
    assert messages(app) == []


def test_a_session_post_needs_its_csrf_token(app, village, client):
    client.login(village.maire.email)
    refused = client.post(f"{API}/channels/{general_id(app)}/messages", json={"body": "x"})
    assert refused.status_code == 400
    assert messages(app) == []
