"""Direct conversations, mentions and their notifications, and moderation by the commune."""

from __future__ import annotations

from sqlalchemy import select

from core.db import db
from core.models import Notification
from tests.plugins.chat.helpers import CHAT, audit, channels, general_id, messages, page, post


def notifications(app, user) -> list[tuple[str, str]]:
    with app.app_context():
        return [
            (n.type, n.title)
            for n in db.scalars(
                select(Notification)
                .where(Notification.user_id == user.id)
                .order_by(Notification.id)
            )
        ]


def test_a_direct_conversation_is_reopened_not_duplicated_and_notifies_the_absent(
    app, village, client
):
    client.login(village.maire.email)
    first = client.submit(f"{CHAT}/nouvelle-conversation", {"members": [str(village.agent.id)]})
    assert first.status_code == 302
    again = client.submit(f"{CHAT}/nouvelle-conversation", {"members": [str(village.agent.id)]})
    assert again.headers["Location"] == first.headers["Location"]
    [direct] = [c for c in channels(app) if c.kind == "direct"]
    assert direct.name == "Claire Martin, Julie Morel"
    post(client, direct.id, "Pouvez-vous ouvrir la salle demain ?")
    assert notifications(app, village.agent) == [
        ("chat.direct", "Nouveau message de Claire Martin")
    ]
    assert notifications(app, village.maire) == []
    # Nobody else sees it, not even the other officials.
    outsider = app.test_client()
    outsider.login(village.adjoint.email)
    assert outsider.get(f"{CHAT}/salon/{direct.id}").status_code == 404
    assert client.submit(f"{CHAT}/nouvelle-conversation", {"members": []}).status_code == 400


def test_a_direct_conversation_may_hold_more_than_two_people(app, village, client):
    client.login(village.maire.email)
    three = [str(village.agent.id), str(village.conseiller.id)]
    first = client.submit(f"{CHAT}/nouvelle-conversation", {"members": three})
    assert first.status_code == 302
    again = client.submit(f"{CHAT}/nouvelle-conversation", {"members": list(reversed(three))})
    assert again.headers["Location"] == first.headers["Location"]
    two = client.submit(f"{CHAT}/nouvelle-conversation", {"members": [str(village.agent.id)]})
    assert two.headers["Location"] != first.headers["Location"]
    direct = next(c for c in channels(app) if c.name == "Claire Martin, Julie Morel, Nadia Benali")
    post(client, direct.id, "Point rapide à trois demain ?")
    for person in (village.agent, village.conseiller):
        assert notifications(app, person) == [("chat.direct", "Nouveau message de Claire Martin")]
        reader = app.test_client()
        reader.login(person.email)
        assert "Point rapide à trois" in page(reader, f"{CHAT}/salon/{direct.id}")
    outsider = app.test_client()
    outsider.login(village.adjoint.email)
    assert outsider.get(f"{CHAT}/salon/{direct.id}").status_code == 404


def test_a_mention_notifies_the_person_named(app, village, client):
    general = general_id(app)
    client.login(village.maire.email)
    post(client, general, "@nadia.benali peux-tu relire le compte rendu ? Merci @personne")
    assert notifications(app, village.conseiller) == [
        ("chat.mention", "Claire Martin vous mentionne dans « Équipe municipale »")
    ]
    assert notifications(app, village.agent) == []
    # A citizen cannot be reached by a mention in a channel closed to them.
    post(client, general, "@louis.petit")
    assert notifications(app, village.habitant) == []


def test_with_redis_unreachable_a_direct_message_is_still_posted_and_notified(app, village, client):
    # Nobody's presence can be read: the others count as away.
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    client.login(village.maire.email)
    opened = client.submit(f"{CHAT}/nouvelle-conversation", {"members": [str(village.agent.id)]})
    direct = opened.headers["Location"]
    assert client.submit(direct, {"body": "Le portail est ouvert"}).status_code == 302
    assert "Le portail est ouvert" in page(client, direct)
    assert notifications(app, village.agent) == [
        ("chat.direct", "Nouveau message de Claire Martin")
    ]


def test_a_member_reports_a_message_and_the_moderator_hides_it(app, village, client):
    general = general_id(app)
    writer = app.test_client()
    writer.login(village.agent.email)
    post(writer, general, "Un propos déplacé")
    [message] = messages(app)
    client.login(village.conseiller.email)
    form = f"{CHAT}/message/{message.id}"
    assert client.submit(f"{form}/signaler", {"reason": ""}, page=form).status_code == 400
    assert client.submit(f"{form}/signaler", {"reason": "Insultant"}, page=form).status_code == 302
    assert notifications(app, village.maire) == [
        ("chat.report", "Message signalé dans « Équipe municipale »")
    ]
    # Only moderators hide, and see the reports.
    assert client.submit(f"{form}/masquer", page=form).status_code == 403
    assert client.get(f"{CHAT}/signalements").status_code == 403
    moderator = app.test_client()
    moderator.login(village.maire.email)
    assert "Insultant" in page(moderator, f"{CHAT}/signalements")
    hidden = moderator.submit(
        f"{form}/masquer", {"reason": "Insultant"}, page=f"{CHAT}/signalements"
    )
    assert hidden.status_code == 302
    html = page(client, f"{CHAT}/salon/{general}")
    assert "Message masqué par la modération." in html and "Un propos déplacé" not in html
    assert "Aucun signalement en attente." in page(moderator, f"{CHAT}/signalements")
    assert [a for a, _ in audit(app)][-2:] == ["chat.message_reported", "chat.message_hidden"]


def test_a_moderator_removes_a_member_and_closes_a_channel(app, village, client):
    client.login(village.maire.email)
    created = client.submit(
        f"{CHAT}/nouveau-canal",
        {"name": "Projet école", "kind": "commission", "members": [str(village.agent.id)]},
    )
    assert created.status_code == 302
    projet = next(c for c in channels(app) if c.name == "Projet école")
    agent = app.test_client()
    agent.login(village.agent.email)
    assert post(agent, projet.id, "Le devis est arrivé").status_code == 302
    members_page = f"{CHAT}/salon/{projet.id}/membres"
    assert "Julie Morel" in page(client, members_page)
    removed = client.submit(f"{members_page}/{village.agent.id}/retirer", page=members_page)
    assert removed.status_code == 302
    assert agent.get(f"{CHAT}/salon/{projet.id}").status_code == 404
    assert "Projet école" not in page(agent, f"{CHAT}/")
    closed = client.submit(f"{CHAT}/salon/{projet.id}/fermer", page=members_page)
    assert closed.status_code == 302
    refused = post(client, projet.id, "Encore un mot")
    assert refused.status_code == 400
    assert "Ce canal est fermé" in refused.get_data(as_text=True)
    assert len(messages(app, projet.id)) == 1
    # The general channel stays open.
    general_members = f"{CHAT}/salon/{general_id(app)}/membres"
    assert (
        client.submit(f"{CHAT}/salon/{general_id(app)}/fermer", page=general_members).status_code
        == 400
    )
    assert [a for a, _ in audit(app)][-2:] == ["chat.member_removed", "chat.channel_closed"]
    # Neither the agent nor an adjoint may moderate.
    assert (
        agent.submit(f"{CHAT}/salon/{general_id(app)}/fermer", page=f"{CHAT}/").status_code == 403
    )


def test_a_commune_admin_who_is_not_the_maire_moderates_too(app, village, client, make_member):
    dgs = make_member(village.commune, "agent", admin=True, name="Sophie Durand")
    general = general_id(app)
    writer = app.test_client()
    writer.login(village.conseiller.email)
    post(writer, general, "Un propos déplacé")
    [message] = messages(app)
    reporter = app.test_client()
    reporter.login(village.adjoint.email)
    form = f"{CHAT}/message/{message.id}"
    assert reporter.submit(f"{form}/signaler", {"reason": "Blessant"}, page=form).status_code == 302
    # Every moderator is told: the maire by role, the commune's admin by their flag.
    for moderator in (village.maire, dgs):
        assert notifications(app, moderator) == [
            ("chat.report", "Message signalé dans « Équipe municipale »")
        ]
    client.login(dgs.email)
    assert "Blessant" in page(client, f"{CHAT}/signalements")
    assert client.submit(f"{form}/masquer", page=f"{CHAT}/signalements").status_code == 302
    assert "Message masqué par la modération." in page(reporter, f"{CHAT}/salon/{general}")
    created = client.submit(
        f"{CHAT}/nouveau-canal",
        {"name": "Projet école", "kind": "commission", "members": [str(village.agent.id)]},
    )
    assert created.status_code == 302
    projet = next(c for c in channels(app) if c.name == "Projet école")
    members_page = f"{CHAT}/salon/{projet.id}/membres"
    assert "Retirer" in page(client, members_page)
    removed = client.submit(f"{members_page}/{village.agent.id}/retirer", page=members_page)
    assert removed.status_code == 302
    assert client.submit(f"{CHAT}/salon/{projet.id}/fermer", page=members_page).status_code == 302
    assert [a for a, _ in audit(app)][-4:] == [
        "chat.message_hidden",
        "chat.channel_created",
        "chat.member_removed",
        "chat.channel_closed",
    ]
    # An agent without the admin flag does not moderate.
    agent = app.test_client()
    agent.login(village.agent.email)
    refused = agent.get(f"{CHAT}/signalements")
    assert refused.status_code == 403
    assert "Seuls les modérateurs" in refused.get_data(as_text=True)


def test_the_portals_search_finds_messages_the_person_may_read(app, village, client):
    general = general_id(app)
    client.login(village.maire.email)
    post(client, general, "Le compte rendu de la commission voirie est prêt.")
    found = page(client, "/c/10145/recherche?q=voirie")
    assert (
        "Claire Martin dans « Équipe municipale »" in found or "Claire Martin dans &laquo;" in found
    )
    habitant = app.test_client()
    habitant.login(village.habitant.email)
    assert "voirie est prêt" not in page(habitant, "/c/10145/recherche?q=voirie")
    assert "voirie est prêt" in page(client, f"{CHAT}/recherche?q=voirie")


def test_linking_a_channel_before_the_bridge_is_set_up_says_what_is_missing(app, village, client):
    client.login(village.maire.email)
    general = general_id(app)
    members = f"{CHAT}/salon/{general}/membres"
    refused = client.submit(
        f"{CHAT}/salon/{general}/pont", {"room": "#conseil:exemple.fr"}, page=members
    )
    assert refused.status_code == 400
    assert "Aucun pont n&#39;est réglé" in refused.get_data(as_text=True)
    modules = "/c/10145/admin/modules"
    assert client.submit(f"{modules}/matrix/activer", page=modules).status_code == 302
    refused = client.submit(
        f"{CHAT}/salon/{general}/pont", {"room": "#conseil:exemple.fr"}, page=members
    )
    assert refused.status_code == 400
    assert "Le pont Matrix n&#39;est pas réglé" in refused.get_data(as_text=True)
    # Only moderators link channels.
    agent = app.test_client()
    agent.login(village.agent.email)
    assert (
        agent.submit(f"{CHAT}/salon/{general}/pont", {"room": "#a:b"}, page=f"{CHAT}/").status_code
        == 403
    )
