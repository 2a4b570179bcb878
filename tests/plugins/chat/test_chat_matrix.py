"""The Matrix bridge against a real Synapse (started from ``.venv/synapse``): a channel
linked to a room exchanges text and photos both ways, and the edits, deletions and hidings
made here reach the room as a Matrix client shows them; the homeserver stopped and started
again mid-conversation loses nothing and doubles nothing; encrypted rooms, missing rooms
and wrong credentials are refused with a sentence.

The scheduler's two jobs are called as it calls them: ``core.outbox.deliver_due()`` for
the messages going out, ``bridge.sync(commune)`` for those coming in. The app runs on
SQLite only: the bridge is about the homeserver, the database layer is covered elsewhere.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import select, text, update

from connectors.http import BREAKERS, ConnectorError
from core.db import db, utcnow
from core.models import Commune, OutboxMessage
from core.testing import unavailable
from plugins.chat import bridge
from plugins.chat.models import BridgeLink
from tests.plugins.chat.helpers import CHAT, audit, general_id, messages, page, post
from tests.plugins.chat.synapse import PYTHON, Account, Synapse
from tests.test_files import png_bytes

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("database_backend", ["sqlite"], indirect=True),
]


@pytest.fixture(scope="module")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    if not PYTHON.exists():
        unavailable("Synapse is not installed in .venv/synapse (make dev-install)")
    server = Synapse(tmp_path_factory.mktemp("synapse"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Person:
    """A human on the homeserver, using the client-server API directly."""

    def __init__(self, synapse: Synapse, account: Account) -> None:
        self.url = f"{synapse.url}/_matrix/client/v3"
        self.account = account
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {account.access_token}"
        self.txn = 0

    def call(self, method: str, path: str, **kwargs) -> dict:
        answer = self.session.request(method, f"{self.url}{path}", timeout=20, **kwargs)
        answer.raise_for_status()
        return answer.json()

    def create_room(self, invite: str, encrypted: bool = False) -> str:
        state = (
            [
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            ]
            if encrypted
            else []
        )
        body = {"preset": "private_chat", "invite": [invite], "initial_state": state}
        return self.call("POST", "/createRoom", json=body)["room_id"]

    def say(self, room_id: str, content: dict) -> str:
        self.txn += 1
        path = f"/rooms/{quote(room_id)}/send/m.room.message/t{self.txn}"
        return self.call("PUT", path, json=content)["event_id"]

    def edit(self, room_id: str, event_id: str, text: str) -> str:
        """Replace the text of ``event_id`` as Element does (``m.replace``, with the
        starred fallback that clients without edits show)."""
        return self.say(
            room_id,
            {
                "msgtype": "m.text",
                "body": f"* {text}",
                "m.new_content": {"msgtype": "m.text", "body": text},
                "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
            },
        )

    def redact(self, room_id: str, event_id: str) -> str:
        self.txn += 1
        path = f"/rooms/{quote(room_id)}/redact/{quote(event_id)}/r{self.txn}"
        return self.call("PUT", path, json={})["event_id"]

    def invite_and_join(self, room_id: str, other: Person) -> None:
        self.call("POST", f"/rooms/{quote(room_id)}/invite", json={"user_id": other.user_id})
        other.call("POST", f"/join/{quote(room_id)}", json={})

    @property
    def user_id(self) -> str:
        return self.account.user_id

    def send_image(self, room_id: str, data: bytes, name: str) -> str:
        media = self.session.post(
            f"{self.url.replace('/client/v3', '/media/v3')}/upload",
            params={"filename": name},
            data=data,
            headers={"Content-Type": "image/png"},
            timeout=20,
        )
        media.raise_for_status()
        content = {
            "msgtype": "m.image",
            "body": name,
            "url": media.json()["content_uri"],
            "info": {"mimetype": "image/png"},
        }
        return self.say(room_id, content)

    def timeline(self, room_id: str, sender: str) -> list[dict]:
        """The room's messages by ``sender``, oldest first."""
        answer = self.call(
            "GET", f"/rooms/{quote(room_id)}/messages", params={"dir": "b", "limit": 100}
        )
        events = [
            e for e in answer["chunk"] if e["type"] == "m.room.message" and e["sender"] == sender
        ]
        return list(reversed(events))

    def shown(self, room_id: str, sender: str) -> list[str | None]:
        """``sender``'s messages as a Matrix client shows them, oldest first: each with its
        latest edit's text (the homeserver bundles it), None for one redacted; the edits
        are not messages of their own."""
        found: list[str | None] = []
        for event in self.timeline(room_id, sender):
            content = event["content"]
            if (content.get("m.relates_to") or {}).get("rel_type") == "m.replace":
                continue
            edit = event.get("unsigned", {}).get("m.relations", {}).get("m.replace")
            if not content:
                found.append(None)
            elif edit is not None:
                found.append(edit["content"]["m.new_content"]["body"])
            else:
                found.append(content["body"])
        return found

    def download(self, mxc: str) -> bytes:
        server, media_id = mxc.removeprefix("mxc://").split("/")
        answer = self.session.get(
            f"{self.url.replace('/client/v3', '/client/v1')}/media/download/{server}/{media_id}",
            timeout=20,
        )
        answer.raise_for_status()
        return answer.content


MODULES = "/c/10145/admin/modules"


def set_up_bridge(client, village, synapse, sign_in_by: str) -> tuple[Account, Person, str]:
    """The matrix module enabled for Faux-Villecerf with a new bot account, which signs in
    by its ``password`` or its ``access_token``; and a person of the homeserver who owns a
    room the bot is invited to."""
    from uuid import uuid4

    suffix = uuid4().hex[:8]
    bot = synapse.register(f"robot-{suffix}")
    alice = Person(synapse, synapse.register(f"alice-{suffix}"))
    client.login(village.maire.email)
    assert client.submit(f"{MODULES}/matrix/activer", page=MODULES).status_code == 302
    secrets = {"password": "", "access_token": ""}
    secrets[sign_in_by] = getattr(bot, sign_in_by)
    saved = client.submit(
        f"{MODULES}/matrix/reglages", {"homeserver": synapse.url, "user": bot.user_id, **secrets}
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)[-2000:]
    room = alice.create_room(invite=bot.user_id)
    return bot, alice, room


@pytest.fixture
def matrix(app, village, client, synapse):
    """The bridge set up with a bot that signs in by its password."""
    return set_up_bridge(client, village, synapse, "password")


def connect(client, channel_id: int, room: str):
    members = f"{CHAT}/salon/{channel_id}/membres"
    return client.submit(f"{CHAT}/salon/{channel_id}/pont", {"room": room}, page=members)


def deliver(app) -> int:
    from core import outbox

    with app.app_context():
        return outbox.deliver_due()


def sync(app) -> int:
    with app.app_context():
        return bridge.sync(db.scalar(select(Commune).where(Commune.insee == "10145")))


def post_photo(client, channel_id: int, body: str = ""):
    return client.post(
        f"{CHAT}/salon/{channel_id}",
        data={
            "csrf_token": client.csrf_token(f"{CHAT}/salon/{channel_id}"),
            "body": body,
            "photo": (io.BytesIO(png_bytes((40, 30))), "plan.png", "image/png"),
        },
        content_type="multipart/form-data",
    )


def edit(client, message_id: int, body: str):
    return client.submit(
        f"{CHAT}/message/{message_id}/modifier", {"body": body}, page=f"{CHAT}/message/{message_id}"
    )


def delete(client, message_id: int):
    return client.submit(
        f"{CHAT}/message/{message_id}/supprimer", page=f"{CHAT}/message/{message_id}"
    )


def deliver_again(app) -> None:
    """Run every delivery once more, as an at-least-once outbox may."""
    with app.app_context():
        db.execute(
            update(OutboxMessage).values(status=OutboxMessage.PENDING, next_attempt_at=utcnow())
        )
        db.commit()
    deliver(app)


def test_a_linked_channel_exchanges_text_and_photos_with_its_room(app, village, client, matrix):
    bot, alice, room = matrix
    general = general_id(app)
    assert connect(client, general, room).status_code == 302
    linked = page(client, f"{CHAT}/salon/{general}/membres")
    assert room in linked and "ainsi que leurs modifications et suppressions" in linked

    post(client, general, "Bonjour depuis la mairie")
    assert post_photo(client, general).status_code == 302
    assert deliver(app) == 2
    sent = alice.timeline(room, bot.user_id)
    assert [e["content"]["msgtype"] for e in sent] == ["m.text", "m.image"]
    assert sent[0]["content"]["body"] == "Claire Martin : Bonjour depuis la mairie"
    assert sent[1]["content"]["info"]["mimetype"] == "image/png"
    assert alice.download(sent[1]["content"]["url"]).startswith(b"\x89PNG")

    alice.say(room, {"msgtype": "m.text", "body": "Bien reçu, **merci**"})
    alice.send_image(room, png_bytes((20, 10)), "photo.png")
    assert sync(app) == 2
    assert sync(app) == 0  # read from the saved position: nothing comes twice
    *_, text, image = messages(app, general)
    assert (text.author_name, text.body) == (alice.account.user_id, "Bien reçu, **merci**")
    assert "<strong>merci</strong>" in page(client, f"{CHAT}/salon/{general}")
    served = client.get(f"{CHAT}/message/{image.id}/photo")
    assert served.status_code == 200 and served.mimetype == "image/png"
    # The bridge's own messages do not come back as new ones.
    assert len(messages(app, general)) == 4


def test_a_homeserver_stopped_and_restarted_loses_and_doubles_nothing(
    app, village, client, matrix, synapse
):
    bot, alice, room = matrix
    general = general_id(app)
    assert connect(client, general, room).status_code == 302
    post(client, general, "Avant la coupure")
    assert deliver(app) == 1
    alice.say(room, {"msgtype": "m.text", "body": "Tchap : avant la coupure"})
    assert sync(app) == 1

    synapse.stop()
    try:
        # The portal keeps working; the messages wait in the outbox.
        assert post(client, general, "Pendant la coupure, 1").status_code == 302
        assert post(client, general, "Pendant la coupure, 2").status_code == 302
        before = messages(app, general)[0]
        assert edit(client, before.id, "Avant la coupure (corrigé)").status_code == 302
        assert deliver(app) == 0
        with pytest.raises(ConnectorError):
            sync(app)
        assert "Pendant la coupure, 2" in page(client, f"{CHAT}/salon/{general}")
    finally:
        synapse.start()
    BREAKERS.clear()  # the breaker's cool-down, which the outbox's backoff outlasts anyway
    with app.app_context():
        db.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
        db.commit()
    assert deliver(app) >= 1
    alice.say(room, {"msgtype": "m.text", "body": "Tchap : après la coupure"})
    assert sync(app) == 1
    shown = [
        "Claire Martin : Avant la coupure (corrigé)",
        "Claire Martin : Pendant la coupure, 1",
        "Claire Martin : Pendant la coupure, 2",
    ]
    assert alice.shown(room, bot.user_id) == shown
    # A delivery that runs again (at-least-once) sends nothing twice: the same transaction
    # id is the same event.
    with app.app_context():
        db.execute(
            update(OutboxMessage).values(status=OutboxMessage.PENDING, next_attempt_at=utcnow())
        )
        db.execute(
            update(bridge.Message)
            .values(bridge_event_id=None)
            .where(bridge.Message.author_id.is_not(None))
        )
        db.commit()
    deliver(app)
    assert len(alice.timeline(room, bot.user_id)) == 4  # the three messages and the edit
    assert alice.shown(room, bot.user_id) == shown
    assert [m.body for m in messages(app, general)] == [
        "Avant la coupure (corrigé)",
        "Tchap : avant la coupure",
        "Pendant la coupure, 1",
        "Pendant la coupure, 2",
        "Tchap : après la coupure",
    ]


def test_edits_deletions_and_hidings_made_here_reach_the_room_once(app, village, client, matrix):
    bot, alice, room = matrix
    general = general_id(app)
    assert connect(client, general, room).status_code == 302
    post(client, general, "Réunion jeudi à 18 h")
    post(client, general, "Un message de trop")
    assert post_photo(client, general, "Le plan du chantier").status_code == 302
    agent = app.test_client()
    agent.login(village.agent.email)
    post(agent, general, "Un propos déplacé")
    assert deliver(app) == 4
    meeting, extra, plan, remark = messages(app, general)
    assert alice.shown(room, bot.user_id) == [
        "Claire Martin : Réunion jeudi à 18 h",
        "Claire Martin : Un message de trop",
        "Claire Martin : plan.png",
        "Claire Martin : Le plan du chantier",
        "Julie Morel : Un propos déplacé",
    ]

    assert edit(client, meeting.id, "Réunion vendredi à 18 h").status_code == 302
    assert edit(client, meeting.id, "Réunion vendredi à 19 h").status_code == 302
    assert delete(client, extra.id).status_code == 302
    assert delete(client, plan.id).status_code == 302
    hidden = client.submit(
        f"{CHAT}/message/{remark.id}/masquer", {"reason": ""}, page=f"{CHAT}/message/{remark.id}"
    )
    assert hidden.status_code == 302
    assert deliver(app) == 5
    shown = [
        "Claire Martin : Réunion vendredi à 19 h",
        None,  # deleted
        None,  # the photo deleted, with its text
        None,
        None,  # hidden by a moderator
    ]
    assert alice.shown(room, bot.user_id) == shown
    events = len(alice.timeline(room, bot.user_id))
    assert events == 7  # the five messages and the two edits

    # Delivered again, nothing is doubled: each change has its own transaction id.
    deliver_again(app)
    assert alice.shown(room, bot.user_id) == shown
    assert len(alice.timeline(room, bot.user_id)) == events
    # The bridge's own edits do not come back as messages.
    assert sync(app) == 0
    assert [m.body for m in messages(app, general)] == ["Réunion vendredi à 19 h", "", "", ""]


def test_a_message_changed_before_it_went_goes_as_it_is_now(app, village, client, matrix):
    bot, alice, room = matrix
    general = general_id(app)
    assert connect(client, general, room).status_code == 302
    post(client, general, "Premier jet")
    post(client, general, "Jamais envoyé")
    assert post_photo(client, general).status_code == 302
    first, never, photo = messages(app, general)
    assert edit(client, first.id, "Version relue").status_code == 302
    assert delete(client, never.id).status_code == 302
    deliver(app)
    assert alice.shown(room, bot.user_id) == [
        "Claire Martin : Version relue",
        "Claire Martin : plan.png",
    ]
    # A photo sent without text, then given some: the text follows it, then changes.
    assert edit(client, photo.id, "Le plan, vu du nord").status_code == 302
    assert deliver(app) == 1
    assert edit(client, photo.id, "Le plan, vu du sud").status_code == 302
    assert deliver(app) == 1
    assert alice.shown(room, bot.user_id) == [
        "Claire Martin : Version relue",
        "Claire Martin : plan.png",
        "Claire Martin : Le plan, vu du sud",
    ]


def test_edits_and_redactions_made_in_the_room_change_the_mirrored_messages(
    app, village, client, matrix, synapse
):
    bot, alice, room = matrix
    bob = Person(synapse, synapse.register(f"bob-{alice.user_id[7:15]}"))
    alice.invite_and_join(room, bob)
    general = general_id(app)
    assert connect(client, general, room).status_code == 302
    meeting = alice.say(room, {"msgtype": "m.text", "body": "Réunion jeudi à 18 h"})
    extra = alice.say(room, {"msgtype": "m.text", "body": "Un message de trop"})
    photo = alice.send_image(room, png_bytes((20, 10)), "photo.png")
    rude = bob.say(room, {"msgtype": "m.text", "body": "Un propos déplacé"})
    post(client, general, "Depuis la mairie")
    assert deliver(app) == 1
    assert sync(app) == 4
    ours, meeting_here, extra_here, photo_here, rude_here = messages(app, general)
    assert client.get(f"{CHAT}/message/{photo_here.id}/photo").status_code == 200

    alice.edit(room, meeting, "Réunion vendredi à 18 h")
    bob.edit(room, meeting, "Réunion annulée")  # not his message: Matrix ignores it
    alice.redact(room, extra)
    alice.redact(room, photo)
    alice.redact(room, rude)  # the room's moderation (alice made the room)
    [bot_copy] = [e["event_id"] for e in alice.timeline(room, bot.user_id)]
    alice.redact(room, bot_copy)  # only the room's copy of what was written here
    assert sync(app) == 4
    assert sync(app) == 0

    shown = page(client, f"{CHAT}/salon/{general}")
    assert "Réunion vendredi à 18 h</p></div>" in shown
    assert shown.count("(modifié)") == 1
    assert "Réunion annulée" not in shown and "* Réunion" not in shown
    assert "Un message de trop" not in shown and "Un propos déplacé" not in shown
    assert shown.count("Message supprimé par son auteur.") == 2  # the text and the photo
    assert shown.count("Message masqué par la modération.") == 1
    assert "Depuis la mairie" in shown
    assert client.get(f"{CHAT}/message/{photo_here.id}/photo").status_code == 404
    # No message was added for the edits and redactions.
    assert [m.id for m in messages(app, general)] == [
        ours.id,
        meeting_here.id,
        extra_here.id,
        photo_here.id,
        rude_here.id,
    ]
    changes = [(action, details.get("after")) for action, details in audit(app, "chat.message_")]
    assert changes == [
        ("chat.message_edited", "Réunion vendredi à 18 h"),
        ("chat.message_deleted", None),
        ("chat.message_deleted", None),
        ("chat.message_hidden", None),
    ]


def test_a_message_edited_before_the_bridge_read_it_comes_with_its_last_text(
    app, village, client, matrix
):
    _bot, alice, room = matrix
    general = general_id(app)
    assert connect(client, general, room).status_code == 302
    first = alice.say(room, {"msgtype": "m.text", "body": "Premier jet"})
    alice.edit(room, first, "Premier jet, relu")
    alice.edit(room, first, "Version **finale**")
    assert sync(app) == 3  # added, then changed twice
    [message] = messages(app, general)
    assert (message.body, message.edited_at is not None) == ("Version **finale**", True)
    # Open pages get the new message, then its edits, live: a stream from the start.
    stream = client.get(f"{CHAT}/salon/{general}/flux?depuis=0", buffered=False)
    chunks = iter(stream.response)
    events = [next(chunks).decode() for _ in range(4)][1:]  # after the "retry:" line
    stream.close()
    assert [e.split("\n")[1] for e in events] == [
        "event: posted",
        "event: edited",
        "event: edited",
    ]
    assert "<strong>finale</strong>" in events[-1] and "(modifié)" in events[-1]


def test_a_bot_whose_sessions_were_closed_signs_in_again_with_its_password(
    app, village, client, matrix, synapse
):
    bot, alice, room = matrix
    general = general_id(app)
    assert connect(client, general, room).status_code == 302  # the bot signs in: token kept
    post(client, general, "Avant la déconnexion du robot")
    assert deliver(app) == 1
    # Its owner closes every session of the bot (the kept token among them).
    requests.post(
        f"{synapse.url}/_matrix/client/v3/logout/all",
        headers={"Authorization": f"Bearer {bot.access_token}"},
        json={},
        timeout=20,
    ).raise_for_status()
    post(client, general, "Après la déconnexion du robot")
    assert deliver(app) == 1
    alice.say(room, {"msgtype": "m.text", "body": "Toujours là ?"})
    assert sync(app) == 1
    assert [e["content"]["body"] for e in alice.timeline(room, bot.user_id)] == [
        "Claire Martin : Avant la déconnexion du robot",
        "Claire Martin : Après la déconnexion du robot",
    ]


def test_encrypted_missing_rooms_and_wrong_credentials_are_refused(
    app, village, client, matrix, synapse
):
    bot, alice, _room = matrix
    general = general_id(app)
    encrypted = alice.create_room(invite=bot.user_id, encrypted=True)
    refused = connect(client, general, encrypted)
    assert refused.status_code == 400
    assert "chiffré de bout en bout" in refused.get_data(as_text=True)
    missing = connect(client, general, "#nulle-part:localhost")
    assert missing.status_code == 400
    assert "n&#39;existe pas" in missing.get_data(
        as_text=True
    ) or "n'existe pas" in missing.get_data(as_text=True)
    assert connect(client, general, "pas un salon").status_code == 400
    client.submit(
        f"{MODULES}/matrix/reglages",
        {"homeserver": synapse.url, "user": bot.user_id, "password": "mauvais", "access_token": ""},
    )
    wrong = connect(client, general, _room)
    assert wrong.status_code == 400
    assert "refuse le compte du robot" in wrong.get_data(as_text=True)
    with app.app_context():
        assert list(db.scalars(select(BridgeLink))) == []


def test_a_bot_signed_in_with_its_access_token_whose_secrets_stay_encrypted(
    app, village, client, synapse
):
    bot, alice, room = set_up_bridge(client, village, synapse, "access_token")
    with app.app_context():
        raw = db.execute(
            text("SELECT settings FROM commune_module WHERE plugin = 'matrix'")
        ).scalar_one()
    stored = raw if isinstance(raw, str) else json.dumps(raw)
    assert bot.access_token not in stored and "enc:" in stored
    assert bot.access_token not in page(client, f"{MODULES}/matrix/reglages")
    matrix_card = page(client, MODULES).split('data-module="matrix"')[1].split("</li>")[0]
    assert "Fonctionne" in matrix_card and "En panne" not in matrix_card  # its health check

    general = general_id(app)
    assert connect(client, general, room).status_code == 302
    post(client, general, "Envoyé avec le jeton du robot")
    assert deliver(app) == 1
    assert [e["content"]["body"] for e in alice.timeline(room, bot.user_id)] == [
        "Claire Martin : Envoyé avec le jeton du robot"
    ]
    alice.say(room, {"msgtype": "m.text", "body": "Bien reçu par le salon"})
    assert sync(app) == 1
    assert messages(app, general)[-1].body == "Bien reçu par le salon"


class SendsOnly:
    """A bridge that sends and receives, but cannot carry edits and deletions."""

    def __init__(self, settings: dict, on_call=None) -> None:
        self.settings = settings

    def connect_room(self, room: str) -> str:
        return room

    def send_message(self, room_id: str, sender: str, text: str, txn_id: str) -> str:
        return f"$sent-{txn_id}"

    def send_image(self, room_id, sender, data, media_type, name, size, txn_id) -> str:
        return f"$sent-{txn_id}"

    def receive(self, since, wait_seconds=0):
        return [], since or "start"


def test_a_bridge_provider_without_edits_and_redactions_is_refused(
    app, village, client, monkeypatch
):
    """Carrying edits and deletions to the room is part of ``chat_bridge``'s contract: the
    core refuses a provider that lacks it, and the page says the bridge is not usable."""
    client.login(village.maire.email)
    assert client.submit(f"{MODULES}/matrix/activer", page=MODULES).status_code == 302
    monkeypatch.setattr("plugins.matrix.MatrixBridge", SendsOnly)
    refused = connect(client, general_id(app), "!salon:localhost")
    assert refused.status_code == 400
    assert "Aucun pont n&#39;est réglé pour la commune" in refused.get_data(as_text=True)
    with app.app_context():
        assert list(db.scalars(select(BridgeLink))) == []
