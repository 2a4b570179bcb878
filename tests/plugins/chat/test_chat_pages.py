"""The chat through its pages, as the members of a commune use it: channels and who sees
them, messages and their format, replies, edits and deletions, unread counts."""

from __future__ import annotations

from markupsafe import escape

from plugins.chat.models import Channel
from tests.plugins.chat.helpers import (
    CHAT,
    audit,
    channels,
    general_id,
    messages,
    new_channel,
    page,
    post,
)


def test_enabling_the_chat_gives_the_team_one_general_channel(
    app, client, commune, make_member, enable_module
):
    maire = make_member(commune, "maire", admin=True)
    enable_module(commune, "chat")
    client.login(maire.email)
    modules_page = "/c/10145/admin/modules"
    assert (
        client.submit("/c/10145/admin/modules/chat/desactiver", page=modules_page).status_code
        == 302
    )
    assert client.get(f"{CHAT}/").status_code == 404
    assert (
        client.submit("/c/10145/admin/modules/chat/activer", page=modules_page).status_code == 302
    )
    assert [(c.kind, c.name) for c in channels(app)] == [("general", "Équipe municipale")]
    assert "Équipe municipale" in page(client, f"{CHAT}/")


def test_a_member_posts_and_everyone_of_the_team_reads_it(app, village, client):
    general = general_id(app)
    client.login(village.adjoint.email)
    sent = post(
        client, general, "Réunion **jeudi** à 18 h, voir [le plan](https://exemple.fr/plan)."
    )
    [message] = messages(app)
    assert sent.status_code == 302
    assert sent.headers["Location"].endswith(f"{CHAT}/salon/{general}#m{message.id}")
    reader = app.test_client()
    reader.login(village.agent.email)
    html = page(reader, f"{CHAT}/salon/{general}")
    assert "<strong>jeudi</strong>" in html
    assert '<a href="https://exemple.fr/plan" rel="noopener nofollow">le plan</a>' in html
    assert "Paul Girard" in html


def test_html_and_scripts_typed_in_a_message_are_shown_as_text(app, village, client):
    general = general_id(app)
    client.login(village.maire.email)
    post(
        client,
        general,
        '<script>alert("x")</script> <img src=x onerror=alert(1)> [a](javascript:alert(1))',
    )
    [message] = messages(app)
    assert "<script" not in message.html and "<img" not in message.html
    assert "javascript:" not in message.html.replace("[a](javascript:alert(1))", "")
    html = page(client, f"{CHAT}/salon/{general}")
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;" in html


def test_an_empty_or_overlong_message_is_refused_and_nothing_is_stored(app, village, client):
    general = general_id(app)
    client.login(village.maire.email)
    empty = post(client, general, "   ")
    assert empty.status_code == 400
    assert "Écrivez un message." in empty.get_data(as_text=True)
    long = post(client, general, "a" * 4001)
    assert long.status_code == 400
    assert escape("Un message ne doit pas dépasser 4000 caractères.") in long.get_data(as_text=True)
    assert messages(app) == []
    with app.app_context():
        from core.db import db

        assert db.get(Channel, general).last_seq == 0


def test_numbers_beyond_the_database_and_nul_characters_are_never_a_500(app, village, client):
    from tests.plugins.chat.helpers import API, api_post

    general = general_id(app)
    client.login(village.maire.email)
    huge = "99999999999999999999"
    refused = post(client, general, "Réponse", reply_to=huge)
    assert refused.status_code == 400
    assert escape("Le message auquel vous répondez n'est pas ici.") in refused.get_data(
        as_text=True
    )
    answer = api_post(client, general, {"body": "Réponse", "reply_to": 10**20})
    assert answer.status_code == 400 and answer.get_json()["field"] == "reply_to"
    assert messages(app) == []
    # NUL characters (PostgreSQL refuses them in a string) are left out of what is kept.
    assert post(client, general, "Bonjour\x00 à tous").status_code == 302
    assert [m.body for m in messages(app)] == ["Bonjour à tous"]
    assert new_channel(client, name="Projet\x00 école", topic="\x00").status_code == 302
    assert "Projet école" in [c.name for c in channels(app)]
    assert "Aucun message trouvé" in page(client, f"{CHAT}/recherche?q=%00zzz")
    # Pages and streams asked for numbers that cannot be: the latest page, 400 for the API.
    assert "Bonjour à tous" in page(client, f"{CHAT}/salon/{general}?avant={huge}")
    assert client.get(f"{API}/channels/{general}/messages?before=%C2%B2").status_code == 400
    for header in ("99999999999", "²"):
        stream = client.get(f"{CHAT}/salon/{general}/flux", headers={"Last-Event-ID": header})
        assert stream.status_code == 200 and stream.mimetype == "text/event-stream"
        stream.close()


def test_a_citizen_never_sees_a_channel_that_is_not_open_to_citizens(app, village, client):
    general = general_id(app)
    client.login(village.habitant.email)
    assert "Équipe municipale" not in page(client, f"{CHAT}/")
    assert client.get(f"{CHAT}/salon/{general}").status_code == 404
    assert client.get(f"{CHAT}/salon/{general}/flux").status_code == 404
    assert post(client, general, "Bonjour").status_code == 404
    assert messages(app) == []


def test_a_channel_opened_to_citizens_is_theirs_to_read_and_write(app, village, client):
    client.login(village.maire.email)
    refused = new_channel(client, name="Quartier des Vignes", members=[str(village.habitant.id)])
    assert refused.status_code == 400
    assert "ouvrez le canal aux habitants" in refused.get_data(as_text=True)
    created = new_channel(
        client, name="Quartier des Vignes", open_to_citizens="y", members=[str(village.habitant.id)]
    )
    assert created.status_code == 302
    vignes = next(c for c in channels(app) if c.name == "Quartier des Vignes")
    habitant = app.test_client()
    habitant.login(village.habitant.email)
    assert "Quartier des Vignes" in page(habitant, f"{CHAT}/")
    assert post(habitant, vignes.id, "Le lampadaire de la rue est éteint.").status_code == 302
    # A councillor who is not named in it does not see it either.
    conseiller = app.test_client()
    conseiller.login(village.conseiller.email)
    assert conseiller.get(f"{CHAT}/salon/{vignes.id}").status_code == 404


def test_a_member_of_another_commune_sees_nothing_of_this_one(
    app, village, client, other_commune, make_member, enable_module
):
    enable_module(other_commune, "chat")
    general = general_id(app)
    writer = app.test_client()
    writer.login(village.maire.email)
    post(writer, general, "Secret de Faux-Villecerf")
    [message] = messages(app)
    stranger = make_member(other_commune, "maire", admin=True)
    client.login(stranger.email)
    assert client.get(f"{CHAT}/").status_code == 403
    assert client.get(f"{CHAT}/salon/{general}").status_code == 403
    assert client.get(f"/c/10124/chat/salon/{general}").status_code == 404
    assert client.get(f"/c/10124/chat/message/{message.id}").status_code == 404
    assert "Aucun message trouvé" in page(client, "/c/10124/chat/recherche?q=Secret")
    assert "Faux-Villecerf" not in page(client, "/c/10124/recherche?q=Secret")
    assert client.get(f"/api/v1/c/10124/chat/channels/{general}/messages").status_code == 404


def test_replies_edits_and_deletions_of_ones_own_messages_are_audited(app, village, client):
    general = general_id(app)
    client.login(village.maire.email)
    post(client, general, "Qui vient samedi ?")
    [question] = messages(app)
    other = app.test_client()
    other.login(village.agent.email)
    assert post(other, general, "Moi !", reply_to=str(question.id)).status_code == 302
    html = page(other, f"{CHAT}/salon/{general}")
    assert "En réponse à Claire Martin" in html
    answer = messages(app)[-1]
    # Nobody changes someone else's message.
    assert (
        other.submit(
            f"{CHAT}/message/{question.id}/modifier",
            {"body": "x"},
            page=f"{CHAT}/message/{question.id}",
        ).status_code
        == 403
    )
    assert (
        other.submit(
            f"{CHAT}/message/{question.id}/supprimer", page=f"{CHAT}/message/{question.id}"
        ).status_code
        == 403
    )
    edited = client.submit(
        f"{CHAT}/message/{question.id}/modifier", {"body": "Qui vient dimanche ?"}
    )
    assert edited.status_code == 302
    assert "Qui vient dimanche ?" in page(client, f"{CHAT}/salon/{general}")
    assert "(modifié)" in page(client, f"{CHAT}/salon/{general}")
    deleted = other.submit(
        f"{CHAT}/message/{answer.id}/supprimer", page=f"{CHAT}/message/{answer.id}"
    )
    assert deleted.status_code == 302
    html = page(client, f"{CHAT}/salon/{general}")
    assert "Message supprimé par son auteur." in html and "Moi !" not in html
    assert audit(app) == [
        ("chat.channel_created", {"kind": "general", "name": "Équipe municipale"}),
        (
            "chat.message_edited",
            {"channel": general, "before": "Qui vient samedi ?", "after": "Qui vient dimanche ?"},
        ),
        ("chat.message_deleted", {"channel": general, "body": "Moi !"}),
    ]


def test_unread_counts_follow_the_read_marker(app, village, client):
    general = general_id(app)
    client.login(village.maire.email)
    for text in ("Un", "Deux", "Trois"):
        post(client, general, text)
    reader = app.test_client()
    reader.login(village.agent.email)
    listing = page(reader, f"{CHAT}/")
    assert '<span class="chat-unread-count">3</span>' in listing
    assert "3 messages non lus" in page(reader, "/c/10145/")
    page(reader, f"{CHAT}/salon/{general}")  # reading the channel moves the marker
    assert '<span class="chat-unread-count">0</span>' in page(reader, f"{CHAT}/")
    assert "Vous avez tout lu." in page(reader, "/c/10145/")
    # One's own messages are never unread.
    assert '<span class="chat-unread-count">0</span>' in page(client, f"{CHAT}/")


def test_the_page_marks_where_the_person_stopped_reading(app, village, client):
    general = general_id(app)
    client.login(village.maire.email)
    post(client, general, "Premier point")
    reader = app.test_client()
    reader.login(village.agent.email)
    mark = 'id="chat-nouveaux"'
    first_visit = page(reader, f"{CHAT}/salon/{general}")
    assert first_visit.index(mark) < first_visit.index("Premier point")
    post(client, general, "Deuxième point")
    post(client, general, "Troisième point")
    html = page(reader, f"{CHAT}/salon/{general}")
    assert html.index("Premier point") < html.index(mark) < html.index("Deuxième point")
    assert "Nouveaux messages depuis votre dernière lecture" in html
    # Read now: no mark on the next visit, nor ever above one's own messages.
    assert mark not in page(reader, f"{CHAT}/salon/{general}")
    assert mark not in page(client, f"{CHAT}/salon/{general}")


def test_history_comes_in_pages_of_fifty(app, village, client):
    general = general_id(app)
    client.login(village.maire.email)
    with app.test_request_context():
        pass
    for n in range(1, 56):
        post(client, general, f"message {n:02d}")
    latest = page(client, f"{CHAT}/salon/{general}")
    assert "message 55" in latest and "message 06" in latest and "message 05" not in latest
    first_shown = messages(app)[5]
    older = page(client, f"{CHAT}/salon/{general}?avant={first_shown.id}")
    assert "message 05" in older and "message 01" in older and "message 06" not in older


def test_the_demo_content_is_added_once(app, village):
    from core.db import db
    from core.models import Commune
    from plugins.chat import services

    with app.app_context():
        commune = db.get(Commune, village.commune.id)
        first = services.add_demo_content(commune)
        db.commit()
        again = services.add_demo_content(commune)
        db.commit()
    assert (first, again) == (4, 0)
    names = [c.name for c in channels(app)]
    assert names == ["Équipe municipale", "Questions des habitants"]
    habitant = app.test_client()
    habitant.login(village.habitant.email)
    listing = page(habitant, f"{CHAT}/")
    assert "Questions des habitants" in listing and "Équipe municipale" not in listing
